import { createApp, type App } from './app.js';
import { loadConfig } from './config.js';

const SHUTDOWN_BUDGET_MS = 25_000;

/** The process: config, wiring, listen, worker, signals, graceful shutdown. */
export async function serve(configPath: string, options: { http: boolean; worker: boolean }): Promise<App> {
  const { config } = loadConfig(configPath);
  const app = await createApp(config, { startWorker: options.worker && config.worker.enabled, http: options.http });
  if (app.server) {
    const address = await app.server.listen({ host: config.server.host, port: config.server.port });
    app.log.info({ event: { action: 'service.started' }, url: { full: address }, labels: { targets: [...app.targets.keys()].join(',') } }, `listening on ${address}`);
  } else {
    app.log.info({ event: { action: 'worker.started' } }, 'worker started');
  }

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ event: { action: 'service.stopping' }, labels: { signal } }, 'shutting down');
    const force = setTimeout(() => {
      app.log.error({ event: { action: 'service.stopped', outcome: 'failure' } }, 'shutdown exceeded its budget; exiting');
      process.exit(1);
    }, SHUTDOWN_BUDGET_MS);
    force.unref();
    app
      .close()
      .then(() => {
        app.log.info({ event: { action: 'service.stopped', outcome: 'success' } }, 'stopped');
        app.log.flush();
        process.exit(0);
      })
      .catch((error: unknown) => {
        app.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  return app;
}
