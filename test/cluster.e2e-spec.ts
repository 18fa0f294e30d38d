import Redis from 'ioredis';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { type RunningApp, startApp } from './support/app';
import { eventually } from './support/eventually';
import { DelayProxy } from './support/delay-proxy';
import { describeWithRedis, RedisServer } from './support/redis-server';
import { RoomLoad } from './support/room-load';
import { TestClient } from './support/ws-client';

describeWithRedis('cluster mode: three instances on one Redis (e2e)', () => {
  const prefix = `test-${randomBytes(4).toString('hex')}`;
  let redis: RedisServer;
  let admin: Redis;
  let servers: RunningApp[];
  const clients: TestClient[] = [];
  const connect = async (instance: number) => {
    const client = await TestClient.connect(servers[instance].wsUrl);
    clients.push(client);
    return client;
  };
  // As RedisHistory.channel() names it: the room in a hash tag, beside its log.
  const roomChannel = (room: string) => `${prefix}:{${room}}:ch`;

  beforeAll(async () => {
    redis = await RedisServer.start();
    admin = new Redis(redis.url);
    servers = await Promise.all(
      [0, 1, 2].map(() => startApp({ REDIS_URL: redis.url, REDIS_PREFIX: prefix })),
    );
  }, 30_000);
  afterAll(async () => {
    clients.forEach((c) => c.close());
    await Promise.all(servers.map((s) => s.close()));
    admin.disconnect();
    await redis.stop();
  });

  it('is ready on every instance', async () => {
    for (const server of servers) await request(server.httpUrl).get('/health/ready').expect(200);
  });

  describe(`${RoomLoad.CLIENTS} clients spread over the instances`, () => {
    const load = () => new RoomLoad(servers.map((s) => s.wsUrl));
    let spread: RoomLoad;

    beforeAll(async () => {
      spread = load();
      await spread.connectAndJoin();
    }, 30_000);
    afterAll(() => spread.close());

    it('counts every member and connection on every instance', async () => {
      for (const server of servers) await eventually(() => spread.expectCounts(server.httpUrl));
    });

    it(
      'delivers each message to every other member of its room exactly once, in per-sender order, with the same id, from and ts everywhere',
      () => spread.sendAndCheck(),
      30_000,
    );
  });

  it('answers joined only once messages from any instance reach the new member, counting every instance', async () => {
    for (let k = 0; k < 10; k++) {
      const room = `fresh-${k}`;
      const [a, b, c] = [await connect(0), await connect(1), await connect(2)];
      expect(await a.request({ type: 'join', room }, 'joined')).toMatchObject({ members: 1 });
      expect(await b.request({ type: 'join', room }, 'joined')).toMatchObject({ members: 2 });
      a.send({ type: 'message', message: `to b ${k}` }); // the moment b's joined arrived
      expect(await b.next('message')).toMatchObject({ room, message: `to b ${k}` });
      expect(await c.request({ type: 'join', room }, 'joined')).toMatchObject({ members: 3 });
      c.send({ type: 'message', message: `from c ${k}` });
      expect(await a.next('message')).toMatchObject({ message: `from c ${k}` });
      expect(await b.next('message')).toMatchObject({ message: `from c ${k}` });
      expect(await b.request({ type: 'leave', room }, 'left')).toMatchObject({ members: 2 });
      [a, b, c].forEach((x) => x.close());
    }
  });

  it('sends joined only once the subscription is live, however slow the link to Redis', async () => {
    // A fourth instance reaches Redis through a link that holds its SUBSCRIBE for 300 ms (and
    // nothing else). Had it answered `joined` before Redis confirmed the subscription, a
    // message sent the moment the reply arrives would reach Redis first, and be lost to it.
    const proxy = await DelayProxy.start(redis.port);
    const slow = await startApp({ REDIS_URL: `redis://127.0.0.1:${proxy.port}`, REDIS_PREFIX: prefix });
    try {
      const a = await connect(0);
      const b = await TestClient.connect(slow.wsUrl);
      clients.push(b);
      await a.request({ type: 'join', room: 'slow-link' }, 'joined');
      proxy.only = /subscribe/i;
      proxy.delayMs = 300;
      expect(await b.request({ type: 'join', room: 'slow-link' }, 'joined')).toMatchObject({ members: 2 });
      a.send({ type: 'message', message: 'right after joined' });
      expect(await b.next('message')).toMatchObject({ message: 'right after joined' });
      proxy.delayMs = 0;
      b.close();
    } finally {
      await slow.close();
      await proxy.close();
    }
  });

  it('broadcasts to every connection on every instance, the sender included, once each', async () => {
    const all = [await connect(0), await connect(1), await connect(2), await connect(2)];
    all[1].send({ type: 'broadcast', message: 'to everyone' });
    for (const client of all) {
      expect(await client.next('broadcast')).toMatchObject({ message: 'to everyone' });
      expect(await client.nothingWithin(100)).toBe(true);
    }
    all.forEach((x) => x.close());
  });

  it("subscribes to a room's channel only while the instance has members in it", async () => {
    const subscribers = async (room: string) =>
      ((await admin.call('PUBSUB', 'NUMSUB', roomChannel(room))) as [string, number])[1];
    const [a, b] = [await connect(0), await connect(1)];
    await a.request({ type: 'join', room: 'subs' }, 'joined');
    expect(await subscribers('subs')).toBe(1);
    await b.request({ type: 'join', room: 'subs' }, 'joined');
    expect(await subscribers('subs')).toBe(2);
    await b.request({ type: 'leave', room: 'subs' }, 'left');
    await eventually(async () => expect(await subscribers('subs')).toBe(1));
    a.close();
    await eventually(async () => expect(await subscribers('subs')).toBe(0));
    b.close();
  });

  it('publishes each room message once, however many instances and members it reaches', async () => {
    const members = [await connect(0), await connect(0), await connect(1), await connect(2)];
    for (const m of members) await m.request({ type: 'join', room: 'once' }, 'joined');
    const publishes = async () =>
      Number(/cmdstat_publish:calls=(\d+)/.exec(await admin.info('commandstats'))?.[1] ?? 0);
    const before = await publishes();
    for (let n = 0; n < 10; n++) members[0].send({ type: 'message', message: `m${n}` });
    for (const m of members.slice(1)) for (let n = 0; n < 10; n++) await m.next('message');
    expect((await publishes()) - before).toBe(10);
    members.forEach((x) => x.close());
  });

  it('reports cluster-wide counts in GET /rooms/:name, whichever instance is asked', async () => {
    const [a, b, c] = [await connect(0), await connect(1), await connect(2)];
    for (const x of [a, b, c]) await x.request({ type: 'join', room: '__proto__' }, 'joined');
    for (const server of servers) {
      const { body } = await request(server.httpUrl).get('/rooms/__proto__').expect(200);
      expect(body).toEqual({ name: '__proto__', members: 3 });
    }
    a.send({ type: 'message', message: 'proto' });
    expect(await c.next('message')).toMatchObject({ room: '__proto__', message: 'proto' });
    [a, b, c].forEach((x) => x.close());
    for (const server of servers) {
      await eventually(() => request(server.httpUrl).get('/rooms/__proto__').expect(404));
    }
  });
});
