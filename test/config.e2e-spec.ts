import { type RunningApp, startApp } from './support/app';
import { TestClient } from './support/ws-client';

/** Settings reach the running app (each app in one process keeps its own). */
describe('settings (e2e)', () => {
  let apps: RunningApp[] = [];
  const start = async (env: Record<string, string>) => {
    const app = await startApp(env);
    apps.push(app);
    return app;
  };
  afterEach(async () => {
    await Promise.all(apps.map((a) => a.close()));
    apps = [];
  });

  it('MAX_MESSAGE_LENGTH bounds every message-carrying event, per app', async () => {
    const [small, usual] = await Promise.all([start({ MAX_MESSAGE_LENGTH: '10' }), start({})]);
    const [a, b] = await Promise.all([TestClient.connect(small.wsUrl), TestClient.connect(usual.wsUrl)]);
    expect(await a.request({ type: 'echo', message: '0123456789' })).toEqual({
      type: 'echo',
      message: '0123456789',
    });
    for (const event of ['echo', 'broadcast', 'message']) {
      const error = await a.request({ type: event, message: '0123456789x' }, 'error');
      expect(error).toMatchObject({
        code: 'invalid_payload',
        event,
        details: [{ field: 'message', rule: 'charLength' }],
      });
    }
    expect(await b.request({ type: 'echo', message: '0123456789x' })).toMatchObject({ type: 'echo' });
    a.close();
    b.close();
  });

  it('WS_PATH moves the endpoint, and the old path is refused', async () => {
    const app = await start({ WS_PATH: '/chat' });
    expect(app.wsUrl).toMatch(/\/chat$/);
    const client = await TestClient.connect(app.wsUrl);
    expect(await client.request({ type: 'echo', message: 'here' })).toEqual({
      type: 'echo',
      message: 'here',
    });
    await expect(TestClient.connect(app.wsUrl.replace(/\/chat$/, '/ws'))).rejects.toThrow(/404/);
    client.close();
  });

  it('PER_MESSAGE_DEFLATE=true negotiates compression and still delivers', async () => {
    const app = await start({ PER_MESSAGE_DEFLATE: 'true' });
    const [a, b] = await Promise.all([TestClient.connect(app.wsUrl), TestClient.connect(app.wsUrl)]);
    expect(a.socket.extensions).toContain('permessage-deflate');
    await a.request({ type: 'join', room: 'zip' }, 'joined');
    await b.request({ type: 'join', room: 'zip' }, 'joined');
    a.send({ type: 'message', message: 'squeeze '.repeat(200) });
    expect(await b.next('message')).toMatchObject({ message: 'squeeze '.repeat(200) });
    a.close();
    b.close();
  });

  it('without PER_MESSAGE_DEFLATE, no compression is negotiated', async () => {
    const app = await start({});
    const client = await TestClient.connect(app.wsUrl);
    expect(client.socket.extensions).toBe('');
    client.close();
  });
});
