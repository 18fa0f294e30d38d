import request from 'supertest';
import { API_ENV, describeApi } from './support/api-contract';
import { startApp } from './support/app';
import { startInstances } from './support/instances';
import { TestClient } from './support/ws-client';

describeApi('one instance', async (env = {}) => {
  const { servers, close } = await startInstances(1, { ...API_ENV, ...env });
  return { http: servers.map((s) => s.httpUrl), ws: servers.map((s) => s.wsUrl), close };
});

describe('backend API without API_KEYS (e2e)', () => {
  it('does not exist: every /api/v1 route is 404, and nothing is done', async () => {
    const app = await startApp();
    try {
      const member = await TestClient.connect(app.wsUrl);
      await member.request({ type: 'join', room: 'no-api' }, 'joined');
      await request(app.httpUrl).post('/api/v1/rooms/no-api/messages').send({ message: 'x' }).expect(404);
      await request(app.httpUrl).post('/api/v1/broadcast').send({ message: 'x' }).expect(404);
      await request(app.httpUrl).get('/api/v1/rooms').expect(404);
      expect(await member.nothingWithin(200)).toBe(true);
      member.close();
    } finally {
      await app.close();
    }
  });
});
