import { randomBytes } from 'node:crypto';
import { type RunningApp, startApp } from './support/app';
import { eventually } from './support/eventually';
import { Scrape } from './support/metrics';
import { describeWithRedis, RedisServer } from './support/redis-server';
import { SECRET, sign } from './support/tokens';
import { connectMany, joinAll, TestClient, upgradeAnswer } from './support/ws-client';

const ZERO_ERRORS = {
  invalid_json: 0,
  invalid_payload: 0,
  unknown_event: 0,
  not_in_room: 0,
  too_many_rooms: 0,
  unsupported_frame: 0,
  internal: 0,
  unauthenticated: 0,
  invalid_token: 0,
  token_expired: 0,
  forbidden: 0,
  rate_limited: 0,
  unavailable: 0,
};
const ZERO_DISCONNECTS = {
  slow_consumer: 0,
  heartbeat: 0,
  too_big: 0,
  invalid_utf8: 0,
  invalid_token: 0,
  token_expired: 0,
  forbidden: 0,
  auth_timeout: 0,
  rate_limited: 0,
  disconnected: 0,
};
const ZERO_AUTH = {
  authenticated: 0,
  refreshed: 0,
  invalid_token: 0,
  token_expired: 0,
  forbidden: 0,
  unavailable: 0,
  timeout: 0,
};

/** The fan-out histogram's buckets are cumulative and its +Inf bucket is its count. */
function expectConsistentHistogram(scrape: Scrape): void {
  const buckets = Object.values(scrape.byLabel('chat_fanout_seconds_bucket'));
  expect(buckets.length).toBeGreaterThan(5);
  expect([...buckets].sort((x, y) => x - y)).toEqual(buckets);
  expect(buckets.at(-1)).toBe(scrape.get('chat_fanout_seconds_count'));
}

describe('GET /metrics (e2e)', () => {
  let server: RunningApp;
  const scrape = () => Scrape.of(server.httpUrl);

  afterEach(() => server.close());

  it('counts tokens by outcome, refused upgrades, and the closes they lead to', async () => {
    server = await startApp({ AUTH_MODE: 'jwt', JWT_SECRET: SECRET, AUTH_TIMEOUT_MS: '200' });
    expect((await scrape()).byLabel('chat_auth_total')).toEqual(ZERO_AUTH);
    const alice = await TestClient.connect(server.wsUrl, {
      headers: { Authorization: `Bearer ${await sign()}` },
    });
    await alice.next('authenticated');
    await alice.request({ type: 'auth', token: await sign() }, 'authenticated'); // refreshed
    await alice.request({ type: 'join', room: 'private:x' }, 'error'); // forbidden, a frame only
    await alice.request({ type: 'auth', token: await sign({ sub: 'bob' }) }, 'error'); // forbidden, closed
    await alice.closed;
    expect((await upgradeAnswer(server.wsUrl, { headers: { Authorization: 'Bearer nope' } })).status).toBe(
      401,
    );
    const expired = await TestClient.connect(server.wsUrl);
    await expired.request({ type: 'auth', token: await sign({ ttl: -600 }) }, 'error');
    await expired.closed;
    const silent = await TestClient.connect(server.wsUrl);
    await silent.request({ type: 'join', room: 'r' }, 'error'); // unauthenticated
    await silent.closed; // 4008, after one more unauthenticated
    await eventually(async () => {
      const m = await scrape();
      expect(m.byLabel('chat_auth_total')).toEqual({
        ...ZERO_AUTH,
        authenticated: 1,
        refreshed: 1,
        forbidden: 1,
        invalid_token: 1,
        token_expired: 1,
        timeout: 1,
      });
      expect(m.get('chat_upgrades_refused_total', { reason: 'token' })).toBe(1);
      expect(m.byLabel('chat_disconnects_total')).toEqual({
        ...ZERO_DISCONNECTS,
        forbidden: 1,
        token_expired: 1,
        auth_timeout: 1,
      });
      expect(m.byLabel('chat_errors_total')).toMatchObject({
        forbidden: 2,
        token_expired: 1,
        unauthenticated: 2,
      });
      expect(m.get('chat_frames_total', { event: 'auth' })).toBe(3);
    });
  });

  it('counts connections, rooms, joins, leaves, frames, deliveries, errors and fan-outs exactly', async () => {
    server = await startApp({ MAX_ROOMS_PER_CONNECTION: '2' });
    const [a, b, c] = await connectMany(server.wsUrl, 3);
    await joinAll([a, b], 'r1');
    await c.request({ type: 'join', room: 'r2' }, 'joined');
    await a.request({ type: 'join', room: 'r1' }, 'joined'); // already a member: a frame, not a join
    let m = await scrape();
    expect([m.get('chat_connections'), m.get('chat_rooms'), m.get('chat_joins_total')]).toEqual([3, 2, 3]);

    a.send({ type: 'message', message: 'to b' });
    await b.next('message');
    c.send({ type: 'message', message: 'to nobody' }); // alone in r2: a fan-out to no one
    await c.request({ type: 'echo', message: 'after it' }, 'echo');
    b.send({ type: 'broadcast', message: 'all' }); // the sender gets it too
    await Promise.all([a, b, c].map((client) => client.next('broadcast')));
    const bad: [object | string | Buffer, string][] = [
      ['not json', 'invalid_json'],
      ['[]', 'invalid_payload'],
      [Buffer.from([1, 2]), 'unsupported_frame'],
      [{ type: 'nope' }, 'unknown_event'],
      [{ type: `x-${randomBytes(4).toString('hex')}` }, 'unknown_event'],
      [{ type: 'join', room: 'bad room!' }, 'invalid_payload'],
      [{ type: 'leave', room: 'never-joined' }, 'not_in_room'],
      [{ type: 'message', room: 'r2', message: 'not mine' }, 'not_in_room'],
    ];
    for (const [frame, code] of bad) expect(await a.request(frame, 'error')).toMatchObject({ code });
    await a.request({ type: 'join', room: 'r3' }, 'joined');
    expect(await a.request({ type: 'join', room: 'r4' }, 'error')).toMatchObject({ code: 'too_many_rooms' });
    await b.request({ type: 'leave', room: 'r1' }, 'left');
    m = await scrape();
    expect(m.get('chat_rooms')).toBe(3);

    a.close(); // in r1 and r3
    await eventually(async () => expect((await scrape()).get('chat_connections')).toBe(2));
    m = await scrape();
    expect(m.get('chat_rooms')).toBe(1);
    expect(m.get('chat_joins_total')).toBe(4);
    expect(m.get('chat_leaves_total')).toBe(3);
    expect(m.byLabel('chat_frames_total')).toEqual({
      auth: 0,
      join: 7,
      leave: 2,
      message: 3,
      broadcast: 1,
      echo: 1,
      history: 0,
      presence: 0,
      unknown: 2, // one series for every name a client makes up
      invalid: 3,
    });
    expect(m.byLabel('chat_deliveries_total')).toEqual({ message: 1, broadcast: 3, reset: 0, presence: 0 });
    expect(m.byLabel('chat_errors_total')).toEqual({
      ...ZERO_ERRORS,
      invalid_json: 1,
      invalid_payload: 2,
      unknown_event: 2,
      not_in_room: 2,
      too_many_rooms: 1,
      unsupported_frame: 1,
    });
    expect(m.byLabel('chat_disconnects_total')).toEqual(ZERO_DISCONNECTS);
    expect(m.get('chat_fanout_seconds_count')).toBe(3);
    expect(m.get('chat_fanout_seconds_sum')).toBeGreaterThan(0);
    expectConsistentHistogram(m);
    b.close();
    c.close();
  });

  it('counts presence requests, and each snapshot and diff sent', async () => {
    server = await startApp({ PRESENCE_WINDOW_MS: '20' });
    const [follower, other] = await connectMany(server.wsUrl, 2);
    await follower.request({ type: 'join', room: 'p', presence: true }, 'joined');
    await follower.next('presence');
    await other.request({ type: 'join', room: 'p' }, 'joined'); // a diff to the follower
    await follower.next('presence_diff');
    follower.send({ type: 'presence', room: 'p' });
    await follower.next('presence');
    const m = await scrape();
    expect(m.byLabel('chat_frames_total').presence).toBe(1);
    expect(m.byLabel('chat_deliveries_total').presence).toBe(3);
    follower.close();
    other.close();
  });

  it('serves event-loop lag and process metrics beside its own', async () => {
    server = await startApp();
    const m = await scrape();
    for (const name of [
      'nodejs_eventloop_lag_seconds',
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
    ])
      expect(m.get(name)).toBeGreaterThanOrEqual(0);
  });

  it('counts a slow consumer once, and its leave once', async () => {
    // The sender floods faster than the frame limit allows (frame-limit.e2e-spec.ts tests that).
    server = await startApp({ SLOW_CONSUMER_BYTES: '65536', RATE_LIMIT_FRAMES_PER_S: '0' });
    const [sender, reader, slow] = await connectMany(server.wsUrl, 3);
    await joinAll([sender, reader, slow], 'flood');
    (slow.socket as unknown as { _socket: { pause(): void } })._socket.pause();
    const message = 'x'.repeat(4000);
    let sent = 0;
    // Flow-controlled by the reader, as in the liveness test, so only the slow client falls behind.
    while ((await scrape()).get('chat_connections') === 3) {
      expect(sent).toBeLessThan(40_000);
      for (let i = 0; i < 200; i++) sender.send({ type: 'message', message });
      for (let i = 0; i < 200; i++) await reader.next('message');
      sent += 200;
    }
    await eventually(async () =>
      expect((await scrape()).get('chat_disconnects_total', { reason: 'slow_consumer' })).toBe(1),
    );
    const m = await scrape();
    expect(m.byLabel('chat_disconnects_total')).toEqual({ ...ZERO_DISCONNECTS, slow_consumer: 1 });
    expect(m.get('chat_leaves_total')).toBe(1);
    expect(m.get('chat_fanout_seconds_count')).toBe(sent);
    expectConsistentHistogram(m);
    sender.close();
    reader.close();
  }, 60_000);

  it('counts a peer dropped for missing pongs', async () => {
    // One silent client only: at a 100 ms interval a busy machine could make an answering
    // client miss its pong too.
    server = await startApp({ HEARTBEAT_INTERVAL_MS: '100' });
    const silent = await TestClient.connect(server.wsUrl, { autoPong: false });
    await joinAll([silent], 'pings');
    await silent.closed;
    await eventually(async () => expect((await scrape()).get('chat_connections')).toBe(0));
    const m = await scrape();
    expect(m.byLabel('chat_disconnects_total')).toEqual({ ...ZERO_DISCONNECTS, heartbeat: 1 });
    expect(m.get('chat_leaves_total')).toBe(1);
  });

  it('counts connections closed for a frame too big (1009) and for bad UTF-8 (1007)', async () => {
    server = await startApp({ MAX_MESSAGE_LENGTH: '10', MAX_PAYLOAD_BYTES: '1100' });
    const [big, garbled] = await connectMany(server.wsUrl, 2);
    big.send('x'.repeat(2000));
    garbled.socket.send(Buffer.from([0x7b, 0xff, 0x7d]), { binary: false });
    expect((await big.closed).code).toBe(1009);
    expect((await garbled.closed).code).toBe(1007);
    await eventually(async () => expect((await scrape()).get('chat_connections')).toBe(0));
    const m = await scrape();
    expect(m.byLabel('chat_disconnects_total')).toEqual({ ...ZERO_DISCONNECTS, too_big: 1, invalid_utf8: 1 });
    expect(m.get('chat_frames_total', { event: 'invalid' })).toBe(0); // never read as frames
  });

  it('keeps each app’s counts apart in one process', async () => {
    server = await startApp();
    const other = await startApp();
    try {
      const client = await TestClient.connect(other.wsUrl);
      await client.request({ type: 'echo', message: 'here' }, 'echo');
      expect((await Scrape.of(other.httpUrl)).get('chat_frames_total', { event: 'echo' })).toBe(1);
      expect((await scrape()).get('chat_frames_total', { event: 'echo' })).toBe(0);
      client.close();
    } finally {
      await other.close();
    }
  });
});

describeWithRedis('GET /metrics in cluster mode (e2e)', () => {
  let redis: RedisServer;
  let servers: RunningApp[];

  beforeAll(async () => {
    redis = await RedisServer.start();
    const prefix = `metrics-${randomBytes(4).toString('hex')}`;
    servers = await Promise.all([0, 1].map(() => startApp({ REDIS_URL: redis.url, REDIS_PREFIX: prefix })));
  }, 30_000);
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await redis.stop();
  });

  it('counts deliveries of messages from other instances where they are delivered', async () => {
    const [here, there] = await Promise.all(servers.map((s) => TestClient.connect(s.wsUrl)));
    await joinAll([here, there], 'across');
    here.send({ type: 'message', message: 'hi' });
    await there.next('message');
    here.send({ type: 'broadcast', message: 'all' });
    await Promise.all([here.next('broadcast'), there.next('broadcast')]);
    const [sending, receiving] = await Promise.all(servers.map((s) => Scrape.of(s.httpUrl)));
    expect(sending.byLabel('chat_deliveries_total')).toEqual({
      message: 0,
      broadcast: 1,
      reset: 0,
      presence: 0,
    });
    expect(receiving.byLabel('chat_deliveries_total')).toEqual({
      message: 1,
      broadcast: 1,
      reset: 0,
      presence: 0,
    });
    // The sender's instance fans each out to its own members, the other to its own.
    expect(sending.get('chat_fanout_seconds_count')).toBe(2);
    expect(receiving.get('chat_fanout_seconds_count')).toBe(2);
    expect(receiving.get('chat_frames_total', { event: 'message' })).toBe(0);
    here.close();
    there.close();
  });
});
