#!/usr/bin/env node
import { resolve } from 'node:path';
import { Command } from 'commander';
import { loadConfig } from './config.js';
import { isBridgeError } from './domain/errors.js';
import { runMappingFixtures } from './mapping/index.js';
import { openStore } from './store/index.js';

function configPath(option: string | undefined): string {
  return option ?? process.env.HR_SCIM_BRIDGE_CONFIG ?? 'hr-scim-bridge.yaml';
}

/** Start-up problems print one line each and exit 1; nothing else is expected to get here. */
function fail(error: unknown): never {
  if (isBridgeError(error)) console.error(`hr-scim-bridge: ${error.code}: ${error.message}`);
  else console.error(`hr-scim-bridge: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}

const program = new Command()
  .name('hr-scim-bridge')
  .description('Signed HRIS webhooks in, converged SCIM 2.0 accounts out, with a hash-chained audit trail.')
  .version('0.1.0');

program
  .command('serve', { isDefault: true })
  .description('serve webhooks and run the worker in this process')
  .option('-c, --config <path>', 'config file (default: $HR_SCIM_BRIDGE_CONFIG or ./hr-scim-bridge.yaml)')
  .option('--no-worker', 'serve webhooks only; run `hr-scim-bridge worker` elsewhere')
  .action(async (opts: { config?: string; worker: boolean }) => {
    const { serve } = await import('./main.js');
    await serve(configPath(opts.config), { http: true, worker: opts.worker }).catch(fail);
  });

program
  .command('worker')
  .description('run only the worker (no HTTP); several can share one store')
  .option('-c, --config <path>', 'config file')
  .action(async (opts: { config?: string }) => {
    const { serve } = await import('./main.js');
    await serve(configPath(opts.config), { http: false, worker: true }).catch(fail);
  });

program
  .command('check-config')
  .description('validate the config file and exit')
  .option('-c, --config <path>', 'config file')
  .action((opts: { config?: string }) => {
    try {
      loadConfig(configPath(opts.config));
      console.log('config is valid');
    } catch (error) {
      fail(error);
    }
  });

const mappings = program.command('mappings').description('mapping files');
mappings
  .command('test')
  .description('run the golden fixtures of every mapping (mappings/fixtures/<mapping>/*.json)')
  .option('-d, --dir <path>', 'mappings directory', 'mappings')
  .action(async (opts: { dir: string }) => {
    const results = await runMappingFixtures(resolve(opts.dir)).catch(fail);
    let failed = 0;
    for (const r of results) {
      console.log(`${r.passed ? 'ok  ' : 'FAIL'} ${r.file}${r.passed ? '' : `\n${r.diff ?? ''}`}`);
      if (!r.passed) failed += 1;
    }
    console.log(`${results.length - failed} passed, ${failed} failed`);
    process.exitCode = failed || results.length === 0 ? 1 : 0;
  });

const audit = program.command('audit').description('the audit ledger');
audit
  .command('verify')
  .description('recompute the hash chain of the audit ledger; exit 1 at the first row that does not match')
  .option('-c, --config <path>', 'config file')
  .action(async (opts: { config?: string }) => {
    try {
      const { config } = loadConfig(configPath(opts.config));
      const store = await openStore(config.store.url);
      const result = await store.verifyAudit();
      await store.close();
      if (result.ok) console.log(`audit chain intact: ${result.rows} rows`);
      else {
        console.error(`audit chain broken at row ${result.brokenAt}: ${result.reason} (${result.rows} rows verified before it)`);
        process.exitCode = 1;
      }
    } catch (error) {
      fail(error);
    }
  });

await program.parseAsync(process.argv);
