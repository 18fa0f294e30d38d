import { startApp } from './app';

/** `count` instances of the app on `env`, as one deployment: a Deployment of the contract suites. */
export async function startInstances(count: number, env: Record<string, string>) {
  const servers = await Promise.all(Array.from({ length: count }, () => startApp(env)));
  return {
    servers,
    urls: servers.map((s) => s.wsUrl),
    close: () => Promise.all(servers.map((s) => s.close())).then(() => undefined),
  };
}
