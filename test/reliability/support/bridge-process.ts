import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sleep } from './mode.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const cli = fileURLToPath(new URL('../../../dist/cli.js', import.meta.url));
const READY_TIMEOUT_MS = 20_000;

/**
 * The bridge as operators run it: `node dist/cli.js serve --config <file>`, one process at a time on
 * a fixed port and store, so it can be SIGKILLed and brought back exactly where it was.
 */
export class BridgeProcess {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  readonly url: string;
  starts = 0;
  kills = 0;
  /** The tail of stderr, for a failure message when a start does not come up. */
  private stderrTail = '';

  constructor(
    private readonly configPath: string,
    config: Record<string, unknown>,
    readonly port: number,
    /** Every complete stdout/stderr line, for the secret scan. */
    private readonly onLine: (line: string, stream: 'stdout' | 'stderr') => void,
  ) {
    if (!existsSync(cli)) throw new Error(`${cli} is missing: run npm run build first`);
    // JSON is YAML, and it spares the test a YAML writer.
    writeFileSync(configPath, JSON.stringify(config, null, 2));
    this.url = `http://127.0.0.1:${port}`;
  }

  async start(): Promise<void> {
    if (this.child) throw new Error('bridge already running');
    const child = spawn(process.execPath, [cli, 'serve', '--config', this.configPath], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.starts += 1;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    for (const stream of ['stdout', 'stderr'] as const) {
      let buffered = '';
      child[stream]!.setEncoding('utf8');
      child[stream]!.on('data', (chunk: string) => {
        buffered += chunk;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (stream === 'stderr') this.stderrTail = `${this.stderrTail}${line}\n`.slice(-4000);
          this.onLine(line, stream);
        }
      });
    }
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) break;
      try {
        const res = await fetch(`${this.url}/livez`);
        if (res.ok) return;
      } catch {
        // Not listening yet.
      }
      await sleep(50);
    }
    const why = child.exitCode !== null ? `exited with ${child.exitCode}` : `not live within ${READY_TIMEOUT_MS} ms`;
    await this.kill();
    throw new Error(`bridge start ${this.starts} ${why}\n--- stderr ---\n${this.stderrTail}`);
  }

  /** SIGKILL: no shutdown hook runs, leases stay held, whatever was in flight is cut. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      this.kills += 1;
    }
    await this.exited;
    this.child = null;
  }

  /** SIGTERM, the graceful path, with SIGKILL after the documented 25 s budget. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGKILL'), 25_000);
      await this.exited;
      clearTimeout(force);
    }
    this.child = null;
  }
}
