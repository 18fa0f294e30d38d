import { INestApplication, Logger } from '@nestjs/common';
import { createApp } from './app.factory';
import { type AppConfig, loadConfig } from './config/load-config';

const logger = new Logger('Main');

/**
 * Starts the service on the configured port and stops it cleanly on SIGTERM or SIGINT.
 * `untuned` says why it runs without some of its V8 flags, if it does (src/runtime/v8-flags.ts).
 */
export async function serve(untuned?: string): Promise<void> {
  let config: AppConfig;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
  const app = await createApp(config);
  await app.listen(config.port, config.host);
  logger.log(
    `Listening on ${await app.getUrl()}, WebSocket at ${config.wsPath} (Node ${process.version}, ${nodeFlags()})`,
  );
  if (untuned) logger.warn(untuned);
  // Not app.enableShutdownHooks(): Nest re-raises the signal after closing, so the
  // process would die by the signal instead of exiting 0. A repeated signal (a second
  // Ctrl-C, an impatient orchestrator) must not kill it mid-shutdown either.
  let stopping = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (stopping) return logger.log(`${signal}: already shutting down`);
      stopping = true;
      void shutdown(app, signal, config.shutdownTimeoutMs);
    });
  }
}

/** Readiness turns 503, clients get 1001, servers close; exit 0 within the bound either way. */
async function shutdown(app: INestApplication, signal: string, timeoutMs: number): Promise<void> {
  logger.log(`${signal}: shutting down`);
  setTimeout(() => {
    logger.warn('Shutdown overran its bound; exiting anyway');
    process.exit(0);
  }, timeoutMs + 2000).unref();
  try {
    await app.close();
  } catch (err) {
    logger.error('Shutdown failed', (err as Error).stack);
    process.exit(1);
  }
  process.exit(0);
}

/** What the process runs with: its command line's Node flags and NODE_OPTIONS. */
function nodeFlags(): string {
  const flags = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' ').trim();
  return flags ? `flags ${flags}` : 'no flags';
}
