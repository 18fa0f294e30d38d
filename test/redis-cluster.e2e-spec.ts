import type Redis from 'ioredis';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { type RunningApp, startApp } from './support/app';
import { eventually } from './support/eventually';
import { describeWithRedisCluster, RedisCluster } from './support/redis-cluster';
import { RoomLoad } from './support/room-load';
import { TestClient } from './support/ws-client';

describeWithRedisCluster('cluster mode on a Redis Cluster of three masters (e2e)', () => {
  const prefix = `test-${randomBytes(4).toString('hex')}`;
  let redis: RedisCluster;
  let masters: Redis[];
  let servers: RunningApp[];

  const commandCalls = async (command: string) => {
    const stats = await Promise.all(masters.map((m) => m.info('commandstats')));
    return stats.reduce(
      (sum, info) => sum + Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)?.[1] ?? 0),
      0,
    );
  };

  beforeAll(async () => {
    redis = await RedisCluster.start();
    masters = redis.connectEach();
    servers = await Promise.all(
      [0, 1, 2].map(() => startApp({ REDIS_CLUSTER_NODES: redis.nodes, REDIS_PREFIX: prefix })),
    );
  }, 30_000);
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    masters.forEach((m) => m.disconnect());
    await redis.stop();
  });

  it('is ready on every instance', async () => {
    for (const server of servers) await request(server.httpUrl).get('/health/ready').expect(200);
  });

  describe(`${RoomLoad.CLIENTS} clients spread over the instances`, () => {
    let load: RoomLoad;
    beforeAll(async () => {
      load = new RoomLoad(servers.map((s) => s.wsUrl));
      await load.connectAndJoin();
    }, 30_000);
    afterAll(() => load.close());

    it('counts every member and connection on every instance', async () => {
      for (const server of servers) await eventually(() => load.expectCounts(server.httpUrl));
    });

    it('delivers each message exactly once, in per-sender order, over sharded pub/sub only', async () => {
      const [spublish, publish] = [await commandCalls('spublish'), await commandCalls('publish')];
      await load.sendAndCheck();
      const messages = RoomLoad.CLIENTS * RoomLoad.MESSAGES;
      expect((await commandCalls('spublish')) - spublish).toBe(messages);
      expect((await commandCalls('publish')) - publish).toBe(0);
    }, 30_000);
  });

  it("subscribes a room's channel on the one shard that owns it", async () => {
    const channel = `${prefix}:{sharded}:ch`; // as RedisHistory.channel() names it
    const clients = await Promise.all(servers.map((s) => TestClient.connect(s.wsUrl)));
    for (const c of clients) await c.request({ type: 'join', room: 'sharded' }, 'joined');
    const counts = await Promise.all(
      masters.map(async (m) => ((await m.call('PUBSUB', 'SHARDNUMSUB', channel)) as [string, number])[1]),
    );
    // Each instance's subscription is on the owning shard; the others never see the channel.
    expect(counts.sort()).toEqual([0, 0, 3]);
    clients[0].send({ type: 'message', message: 'across shards' });
    for (const c of clients.slice(1)) {
      // On a loaded machine a probe of Redis can time out, and an instance that thought Redis
      // away tells its members to go on from the log (`reset`) when it is back: allowed, not
      // what this test is about.
      let frame = await c.next();
      while (frame.type === 'reset') frame = await c.next();
      expect(frame).toMatchObject({ type: 'message', message: 'across shards' });
    }
    clients.forEach((c) => c.close());
  });

  it('broadcasts to every connection on every instance', async () => {
    const clients = await Promise.all(servers.map((s) => TestClient.connect(s.wsUrl)));
    clients[2].send({ type: 'broadcast', message: 'everyone' });
    for (const c of clients) expect(await c.next('broadcast')).toMatchObject({ message: 'everyone' });
    clients.forEach((c) => c.close());
  });
});
