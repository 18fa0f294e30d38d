import type { INestApplication } from '@nestjs/common';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/app.factory';
import { type Env, loadConfig } from '../../src/config/load-config';

export interface RunningApp {
  app: INestApplication;
  /** ws://127.0.0.1:<port>/ws */
  wsUrl: string;
  /** http://127.0.0.1:<port> */
  httpUrl: string;
  close(): Promise<void>;
}

/** The real app, wired as src/server.ts wires it, listening on a free loopback port; `setup` runs before it listens. */
export async function startApp(
  env: Env = {},
  setup: (app: INestApplication) => void = () => undefined,
): Promise<RunningApp> {
  const config = loadConfig({ LOG_LEVEL: 'error', ...env, PORT: '0', HOST: '127.0.0.1' });
  const app = await createApp(config);
  setup(app);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return {
    app,
    wsUrl: `ws://127.0.0.1:${port}${config.wsPath}`,
    httpUrl: `http://127.0.0.1:${port}`,
    close: () => app.close(),
  };
}
