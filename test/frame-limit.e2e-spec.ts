import request from 'supertest';
import { CLOSE_RATE_LIMITED } from '../src/gateway/close-codes';
import { type RunningApp, startApp } from './support/app';
import { Scrape } from './support/metrics';
import { connectMany, type Frame, joinAll, TestClient } from './support/ws-client';

/** The next frame `client` gets that `wanted` accepts, skipping the others. */
async function nextWhere(
  client: TestClient,
  wanted: (frame: Frame) => boolean,
  timeoutMs?: number,
): Promise<Frame> {
  for (;;) {
    const frame = await client.next(undefined, timeoutMs);
    if (wanted(frame)) return frame;
  }
}

describe('frame rate limit per connection (e2e)', () => {
  const servers: RunningApp[] = [];
  const start = async (env: Record<string, string> = {}) => {
    const server = await startApp(env);
    servers.push(server);
    return server;
  };
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  it('lets a client rejoining 20 rooms at once through with the defaults, and the whole burst of 100', async () => {
    const server = await start();
    const client = await TestClient.connect(server.wsUrl);
    for (let i = 0; i < 20; i++) client.send({ type: 'join', room: `room-${i}` });
    for (let i = 0; i < 80; i++) client.send({ type: 'echo', message: `e${i}` });
    for (let i = 0; i < 20; i++) expect(await client.next('joined')).toMatchObject({ room: `room-${i}` });
    for (let i = 0; i < 80; i++)
      expect(await client.next('echo')).toEqual({ type: 'echo', message: `e${i}` });
    client.close();
  });

  it('counts every frame, bad ones too, and refuses the one over the limit with retryAfterMs, unhandled', async () => {
    const server = await start({ RATE_LIMIT_FRAMES_PER_S: '1', RATE_LIMIT_BURST: '3' });
    const client = await TestClient.connect(server.wsUrl);
    client.send('not json');
    client.send(Buffer.from([1, 2, 3]));
    client.send({ type: 'echo', message: 'third' });
    client.send({ type: 'join', room: 'fourth' });
    expect(await client.next('error')).toMatchObject({ code: 'invalid_json' });
    expect(await client.next('error')).toMatchObject({ code: 'unsupported_frame' });
    expect(await client.next('echo')).toMatchObject({ message: 'third' });
    const refused = await client.next('error');
    expect(refused).toEqual({
      type: 'error',
      code: 'rate_limited',
      message: expect.any(String),
      retryAfterMs: expect.any(Number),
    });
    expect(refused.retryAfterMs).toBeGreaterThan(0);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(1000);
    const scrape = await Scrape.of(server.httpUrl);
    expect(scrape.get('chat_rate_limited_frames_total')).toBe(1);
    expect(scrape.get('chat_errors_total', { code: 'rate_limited' })).toBe(1);
    expect(scrape.get('chat_joins_total')).toBe(0); // the refused join was not handled

    // A client that waits as told (and a little more, for the clocks) is served again.
    await new Promise((resolve) => setTimeout(resolve, refused.retryAfterMs + 50));
    expect(await client.request({ type: 'join', room: 'fifth' })).toMatchObject({
      type: 'joined',
      room: 'fifth',
    });
    client.close();
  });

  it('closes a connection that goes on flooding with 4029, leaving a bystander in its room untouched', async () => {
    const server = await start({ RATE_LIMIT_FRAMES_PER_S: '5', RATE_LIMIT_BURST: '10' });
    const [flooder, bystander, talker] = await connectMany(server.wsUrl, 3);
    await joinAll([flooder, bystander, talker], 'lobby');
    // 100 frames a second against 5 allowed: the bucket never refills, the streak never ends.
    const flood = setInterval(() => flooder.send({ type: 'echo', message: 'flood' }), 10);
    try {
      const limited = await nextWhere(flooder, (f) => f.type === 'error');
      expect(limited).toMatchObject({ code: 'rate_limited', retryAfterMs: expect.any(Number) });

      // Meanwhile the bystander hears the room and is answered.
      talker.send({ type: 'message', message: 'during the flood' });
      expect(await bystander.next('message')).toMatchObject({ room: 'lobby', message: 'during the flood' });
      expect(await bystander.request({ type: 'echo', message: 'me' })).toEqual({
        type: 'echo',
        message: 'me',
      });

      expect(await flooder.closed).toEqual({ code: CLOSE_RATE_LIMITED, reason: 'rate_limited' });
    } finally {
      clearInterval(flood);
    }
    // The close came with its reason, after the error frames of the streak.
    const last = flooder.drain().pop();
    expect(last).toMatchObject({
      type: 'error',
      code: 'rate_limited',
      message: expect.stringMatching(/closing/),
    });

    talker.send({ type: 'message', message: 'after the flood' });
    expect(await bystander.next('message')).toMatchObject({ message: 'after the flood' });
    const scrape = await Scrape.of(server.httpUrl);
    expect(scrape.get('chat_disconnects_total', { reason: 'rate_limited' })).toBe(1);
    expect(scrape.get('chat_rate_limited_frames_total')).toBeGreaterThan(0);
    await request(server.httpUrl).get('/rooms/lobby').expect(200, { name: 'lobby', members: 2 });
    [bystander, talker].forEach((c) => c.close());
  }, 30_000);
});
