import { startInstances } from './support/instances';
import { describeWebhooks } from './support/webhook-contract';

describeWebhooks('one instance', async (env) => {
  const { servers, close } = await startInstances(1, env);
  return { http: servers.map((s) => s.httpUrl), ws: servers.map((s) => s.wsUrl), close };
});
