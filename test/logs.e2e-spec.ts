import request from 'supertest';
import { eventually } from './support/eventually';
import { type ServerProcess, spawnServer } from './support/server-process';
import { SECRET, sign } from './support/tokens';
import { joinAll, TestClient, upgradeAnswer } from './support/ws-client';

type Line = Record<string, unknown> & { level: number; msg: string };
const DEBUG = 20;
const INFO = 30;

/** stdout as log records: every line must be one JSON object. */
const records = (server: ServerProcess): Line[] =>
  server
    .stdout()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Line);

describe('logs (e2e)', () => {
  let server: ReturnType<typeof spawnServer>;
  afterEach(async () => {
    server.child.kill('SIGTERM');
    await server.exited;
  });

  it('at debug: JSON lines, one per connection opened and closed, none per message', async () => {
    server = spawnServer({ LOG_LEVEL: 'debug' });
    await server.listening;
    expect(records(server).find((r) => r.msg.startsWith('Listening on'))).toMatchObject({
      level: INFO,
      context: 'Main',
    });
    const [a, b] = await Promise.all([TestClient.connect(server.wsUrl), TestClient.connect(server.wsUrl)]);
    await joinAll([a, b], 'logged');
    a.send({ type: 'message', message: 'first' });
    const id = (await b.next('message')).from as string;
    const about = () => records(server).filter((r) => r.conn === id);

    // Both opened lines, whichever connection opened first: a line still in the pipe when
    // `quiet` is taken would be counted as logged for a message.
    await eventually(() =>
      expect(records(server).filter((r) => r.msg === 'Connection opened')).toHaveLength(2),
    );
    expect(about()).toHaveLength(1);
    const quiet = records(server).length;
    for (let i = 0; i < 50; i++) a.send({ type: 'message', message: `m${i}` });
    for (let i = 0; i < 50; i++) await b.next('message');
    a.send({ type: 'broadcast', message: 'all' });
    await a.next('broadcast');
    await a.request({ type: 'echo', message: 'e' }, 'echo');
    await a.request('not json', 'error');

    a.socket.close(1000, 'bye');
    await eventually(() => expect(about()).toHaveLength(2));
    // Lines reach the pipe in the order they were written, so a line logged for any of the
    // messages above would come before the close line.
    expect(records(server).slice(quiet)).toEqual([about()[1]]);
    const [opened, closed] = about();
    expect(opened).toMatchObject({
      level: DEBUG,
      msg: 'Connection opened',
      context: 'ChatWsAdapter',
      remoteAddress: '127.0.0.1',
    });
    expect(closed).toMatchObject({
      level: DEBUG,
      msg: 'Connection closed',
      code: 1000,
      reason: 'bye',
      rooms: 1,
    });
    b.close();
  }, 30_000);

  it('at debug: a connection closed for a protocol error names the connection and the error', async () => {
    server = spawnServer({ LOG_LEVEL: 'debug', MAX_PAYLOAD_BYTES: '20000' });
    await server.listening;
    const client = await TestClient.connect(server.wsUrl);
    await client.request({ type: 'join', room: 'big' }, 'joined');
    client.send('x'.repeat(20001));
    await eventually(() =>
      expect(records(server).filter((r) => r.msg === 'Connection closed')).toHaveLength(1),
    );
    const closed = records(server).find((r) => r.msg === 'Connection closed')!;
    expect(closed).toMatchObject({
      level: DEBUG,
      rooms: 1,
      dropped: 'too_big',
      error: expect.stringMatching(/payload/i),
    });
    expect(
      records(server)
        .filter((r) => r.conn === closed.conn)
        .map((r) => r.msg),
    ).toEqual(['Connection opened', 'Connection closed']);
  }, 30_000);

  it('at debug: a client dropped for not reading is logged with the rooms it was in', async () => {
    // The sender floods faster than the frame limit allows (frame-limit.e2e-spec.ts tests that).
    server = spawnServer({ LOG_LEVEL: 'debug', SLOW_CONSUMER_BYTES: '65536', RATE_LIMIT_FRAMES_PER_S: '0' });
    await server.listening;
    const [sender, slow] = await Promise.all([
      TestClient.connect(server.wsUrl),
      TestClient.connect(server.wsUrl),
    ]);
    await joinAll([sender, slow], 'flood');
    slow.send({ type: 'message', message: 'who am I' });
    const id = (await sender.next('message')).from as string;
    (slow.socket as unknown as { _socket: { pause(): void } })._socket.pause();
    // The send that finds it over the bound takes it out of the room, before its 'close'.
    const message = 'x'.repeat(4000);
    const closed = () => records(server).find((r) => r.conn === id && r.msg === 'Connection closed');
    for (let sent = 0; !closed(); sent += 100) {
      expect(sent).toBeLessThan(20_000); // ~80 MB: it should have been dropped long before
      for (let i = 0; i < 100; i++) sender.send({ type: 'message', message });
      await sender.request({ type: 'echo', message: 'paced' }, 'echo');
    }
    expect(closed()).toMatchObject({ level: DEBUG, rooms: 1, dropped: 'slow_consumer' });
    sender.close();
  }, 60_000);

  it('logs an HTTP request at debug, but not health probes or metric scrapes', async () => {
    server = spawnServer({ LOG_LEVEL: 'debug' });
    await server.listening;
    const before = records(server).length;
    for (const path of ['/health', '/health/ready', '/metrics'])
      await request(server.httpUrl).get(path).expect(200);
    await request(server.httpUrl).get('/rooms/nobody').expect(404);
    await eventually(() => expect(records(server).length).toBe(before + 1));
    expect(records(server).at(-1)).toMatchObject({
      level: DEBUG,
      msg: 'request completed',
      req: expect.objectContaining({ url: '/rooms/nobody' }),
      res: expect.objectContaining({ statusCode: 404 }),
    });
  }, 30_000);

  it('at the most verbose level: no token, nor any part of one, is ever logged', async () => {
    server = spawnServer({ LOG_LEVEL: 'verbose', JWT_SECRET: SECRET });
    await server.listening;
    const tokens = await Promise.all([
      sign(),
      sign({ sub: 'bob' }),
      sign({ ttl: -600 }),
      sign({}, new Uint8Array(32)),
    ]);
    const [good, other, expired, forged] = tokens;
    const byHeader = await TestClient.connect(server.wsUrl, { headers: { Authorization: `Bearer ${good}` } });
    await byHeader.next('authenticated');
    const byProtocol = await TestClient.connect(server.wsUrl, {
      protocols: ['rooms.v1', `rooms.token.${other}`],
    });
    await byProtocol.next('authenticated');
    await byProtocol.request({ type: 'auth', token: good }, 'error'); // another user: 4003
    for (const token of [expired, forged]) {
      expect(
        (await upgradeAnswer(server.wsUrl, { headers: { Authorization: `Bearer ${token}` } })).status,
      ).toBe(401);
      const client = await TestClient.connect(server.wsUrl);
      await client.request({ type: 'auth', token }, 'error');
      await client.closed;
    }
    await request(server.httpUrl).get('/rooms').set('Authorization', `Bearer ${good}`).expect(200);
    byHeader.close();
    await eventually(() =>
      expect(records(server).filter((r) => r.msg === 'Connection closed').length).toBe(4),
    );
    server.child.kill('SIGTERM');
    await server.exited;
    // The debug lines were written, the request's own with its credentials blotted out.
    const requestLine = records(server).find((r) => r.msg === 'request completed') as Line & {
      req: { headers: object };
    };
    expect(requestLine.req.headers).toMatchObject({ authorization: '[redacted]' });
    const written = server.output();
    for (const token of tokens) {
      for (const part of token.split('.')) expect(written).not.toContain(part);
    }
  }, 30_000);

  it('at the most verbose level: an API key is named by its id, and its secret is never logged', async () => {
    const secret = 'api-secret-never-logged-0123456789';
    const webhookSecret = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;
    server = spawnServer({
      LOG_LEVEL: 'verbose',
      API_KEYS: `backend:${secret}:publish,read`,
      WEBHOOK_URL: 'http://127.0.0.1:9/hooks?token=endpoint-token-never-logged',
      WEBHOOK_SECRET: webhookSecret,
    });
    await server.listening;
    const auth = { Authorization: `Bearer ${secret}` };
    await request(server.httpUrl)
      .post('/api/v1/rooms/logged/messages')
      .set(auth)
      .send({ message: 'hi' })
      .expect(202);
    await request(server.httpUrl).get(`/api/v1/rooms?api_key=${secret}`).set(auth).expect(401);
    await request(server.httpUrl).get('/api/v1/rooms').set('Authorization', `Bearer ${secret}x`).expect(401);
    const client = await TestClient.connect(server.wsUrl);
    await client.request({ type: 'join', room: 'logged' }, 'joined'); // an event for the endpoint, which is down
    await eventually(() => expect(server.output()).toContain('Webhook'), 10_000);
    client.close();
    server.child.kill('SIGTERM');
    await server.exited;
    const lines = records(server).filter((r) => r.msg === 'request completed') as Array<
      Line & { apiKey?: string; req: { url: string } }
    >;
    expect(lines[0]).toMatchObject({
      apiKey: 'backend',
      req: expect.objectContaining({ url: '/api/v1/rooms/logged/messages' }),
    });
    expect(lines[1].req.url).toBe('/api/v1/rooms?api_key=[redacted]');
    const written = server.output();
    for (const hidden of [secret, webhookSecret.slice('whsec_'.length), 'endpoint-token-never-logged']) {
      expect(written).not.toContain(hidden);
    }
  }, 30_000);

  it('at the default level: no debug lines, connections included', async () => {
    server = spawnServer({ LOG_LEVEL: 'log' });
    await server.listening;
    const client = await TestClient.connect(server.wsUrl);
    await client.request({ type: 'join', room: 'quiet' }, 'joined');
    client.close();
    await eventually(async () =>
      expect((await request(server.httpUrl).get('/rooms')).body.connections).toBe(0),
    );
    // Everything it wrote, up to its exit: a debug line cannot still be on its way.
    server.child.kill('SIGTERM');
    await server.exited;
    const levels = records(server).map((r) => r.level);
    expect(levels.length).toBeGreaterThan(0);
    expect(Math.min(...levels)).toBe(INFO);
  }, 30_000);

  it('LOG_FORMAT=pretty writes lines for people instead of JSON', async () => {
    server = spawnServer({ LOG_FORMAT: 'pretty' });
    await server.listening;
    const listening = server
      .stdout()
      .split('\n')
      .find((line) => line.includes('Listening on'));
    expect(listening).toMatch(/INFO.*Listening on http:\/\/127\.0\.0\.1:\d+, WebSocket at \/ws/);
    expect(() => JSON.parse(listening!)).toThrow();
  }, 30_000);
});
