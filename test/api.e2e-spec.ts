import { API_ENV, describeApi } from './support/api-contract';
import { startInstances } from './support/instances';

describeApi('one instance', async (env = {}) => {
  const { servers, close } = await startInstances(1, { ...API_ENV, ...env });
  return { http: servers.map((s) => s.httpUrl), ws: servers.map((s) => s.wsUrl), close };
});
