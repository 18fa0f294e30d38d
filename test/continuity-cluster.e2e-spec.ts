import Redis from 'ioredis';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { type RunningApp, startApp } from './support/app';
import { CONTINUITY_ENV, describeContinuity } from './support/continuity-contract';
import { eventually } from './support/eventually';
import { startInstances } from './support/instances';
import { describeWithRedisCluster, RedisCluster } from './support/redis-cluster';
import { describeWithRedis, RedisServer } from './support/redis-server';
import { type Frame, TestClient } from './support/ws-client';

const prefix = () => `test-${randomBytes(4).toString('hex')}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const threeInstances = (env: Record<string, string>) => startInstances(3, { ...CONTINUITY_ENV, ...env });

describeWithRedis('continuity on three instances over one Redis (e2e)', () => {
  let redis: RedisServer;
  beforeAll(async () => (redis = await RedisServer.start()));
  afterAll(() => redis.stop());

  describeContinuity('three instances on Redis', () =>
    threeInstances({ REDIS_URL: redis.url, REDIS_PREFIX: prefix() }),
  );

  it('gives offsets with HISTORY_SIZE=0, but recovers nothing and has no history', async () => {
    const deployment = await threeInstances({
      REDIS_URL: redis.url,
      REDIS_PREFIX: prefix(),
      HISTORY_SIZE: '0',
    });
    const [a, b, c] = await Promise.all(deployment.urls.map((url) => TestClient.connect(url)));
    try {
      const at = await a.request({ type: 'join', room: 'off' }, 'joined');
      await b.request({ type: 'join', room: 'off' }, 'joined');
      a.send({ type: 'message', room: 'off', message: 'one' });
      expect(await b.next('message')).toMatchObject({ offset: 1 });
      const since = { epoch: at.epoch, offset: 0 };
      expect(await c.request({ type: 'join', room: 'off', since }, 'joined')).toMatchObject({
        recovered: false,
        offset: 1,
      });
      expect(await b.request({ type: 'history', room: 'off' })).toMatchObject({ messages: [], offset: 1 });
    } finally {
      [a, b, c].forEach((client) => client.close());
      await deployment.close();
    }
  });
});

describeWithRedisCluster('continuity on three instances over a Redis Cluster (e2e)', () => {
  let cluster: RedisCluster;
  beforeAll(async () => (cluster = await RedisCluster.start()), 30_000);
  afterAll(() => cluster.stop());

  describeContinuity('three instances on a Redis Cluster', () =>
    threeInstances({ REDIS_CLUSTER_NODES: cluster.nodes, REDIS_PREFIX: prefix() }),
  );
});

describeWithRedis('continuity when Redis fails (e2e)', () => {
  let redis: RedisServer;
  let admin: Redis;
  let servers: RunningApp[];
  const clients: TestClient[] = [];
  let rooms = 0;
  const connect = async (instance: number) => {
    const client = await TestClient.connect(servers[instance].wsUrl);
    clients.push(client);
    return client;
  };
  const ready = (server: RunningApp) => request(server.httpUrl).get('/health/ready');
  /** A room with a member on each instance. */
  const spread = async () => {
    const room = `fail-${++rooms}`;
    const members = [await connect(0), await connect(1), await connect(2)];
    const joined: Frame[] = [];
    for (const m of members) joined.push(await m.request({ type: 'join', room }, 'joined'));
    return { room, members, joined };
  };

  beforeAll(async () => {
    redis = await RedisServer.start();
    admin = new Redis(redis.url);
    const env = { ...CONTINUITY_ENV, HISTORY_TTL_MS: '60000', REDIS_URL: redis.url, REDIS_PREFIX: prefix() };
    servers = await Promise.all([0, 1, 2].map(() => startApp(env)));
  }, 30_000);
  afterAll(async () => {
    clients.forEach((c) => c.close());
    await Promise.all(servers.map((s) => s.close()));
    admin.disconnect();
    await redis.stop();
  });

  it('keeps offsets contiguous, or says reset, when the pub/sub connections are killed mid-stream', async () => {
    const { room, members, joined } = await spread();
    const [sender] = members;
    let sent = 0;
    // With a cid, so the sender learns its own messages' offsets from their acks; while its
    // instance counts Redis as away, each is refused (unavailable) instead.
    const timer = setInterval(() => {
      sender.send({ type: 'message', room, message: `k${sent}`, cid: `k${sent}` });
      sent++;
    }, 5);
    try {
      await sleep(150);
      await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
      await sleep(150);
    } finally {
      clearInterval(timer);
    }
    await eventually(async () => {
      for (const s of servers) await ready(s).expect(200);
    }, 10_000);
    const closer = await connect(1);
    await closer.request({ type: 'join', room }, 'joined');
    closer.send({ type: 'message', room, message: 'last' });
    // Every offset reaches every member once, in order (the sender's own as acks), or a reset says where to go on from.
    for (const member of members) {
      let expected = joined[0].offset as number;
      for (let frame = await member.next(); ; frame = await member.next()) {
        if (frame.type === 'reset') {
          expect(frame.offset).toBeGreaterThanOrEqual(expected);
          expected = frame.offset;
          continue;
        }
        if (frame.type === 'error') {
          expect(frame).toMatchObject({ code: 'unavailable', cid: expect.any(String) });
          continue;
        }
        expect(frame).toMatchObject({
          type: member === sender ? expect.stringMatching(/^(ack|message)$/) : 'message',
        });
        expect(frame.offset).toBe(expected + 1);
        expected = frame.offset;
        if (frame.message === 'last') break;
      }
      await expect(member.nothingWithin(100)).resolves.toBe(true);
    }
  }, 30_000);

  it('tells members reset, and refuses old positions, when Redis comes back empty', async () => {
    const { room, members, joined } = await spread();
    members[0].send({ type: 'message', room, message: 'before' });
    for (const m of members.slice(1)) await m.next('message');
    await redis.kill();
    await redis.restart();
    for (const m of members) {
      const reset = await m.next('reset', 10_000);
      expect(reset).toMatchObject({ room, offset: 0 });
      expect(reset.epoch).not.toBe(joined[0].epoch);
    }
    await eventually(async () => {
      for (const s of servers) await ready(s).expect(200);
    }, 10_000);
    const late = await connect(1);
    const answer = await late.request(
      { type: 'join', room, since: { epoch: joined[0].epoch, offset: 1 } },
      'joined',
    );
    expect(answer).toMatchObject({ recovered: false, offset: 0 });
    members[2].send({ type: 'message', room, message: 'after' });
    expect(await members[0].next('message')).toMatchObject({ message: 'after', offset: 1 });
  }, 30_000);

  it('never gives a sender its own message, when Redis runs late an append it answered unavailable', async () => {
    const { room, members } = await spread();
    const [sender, neighbour] = [await connect(0), await connect(0)];
    for (const c of [sender, neighbour]) await c.request({ type: 'join', room }, 'joined');
    redis.pause();
    try {
      // Sent before the instance notices the hang: the script waits in Redis's socket.
      sender.send({ type: 'message', room, message: 'late', cid: 'late-1' });
      expect(await sender.next('error', 5000)).toMatchObject({ code: 'unavailable', cid: 'late-1' });
    } finally {
      redis.resume();
    }
    // Redis ran it when it resumed: everyone else gets it (once), the sender does not.
    for (const other of [neighbour, ...members]) {
      expect(await other.next('message', 10_000)).toMatchObject({ message: 'late' });
    }
    await eventually(() => ready(servers[0]).expect(200), 10_000);
    await expect(sender.nothingWithin(300)).resolves.toBe(true);
    expect(
      await sender.request({ type: 'message', room, message: 'late', cid: 'late-1' }, 'ack'),
    ).toMatchObject({
      duplicate: true,
    });
  }, 30_000);

  it('delivers locally without offsets while Redis hangs, then resets the rooms that had such messages', async () => {
    const { room, members, joined } = await spread();
    const neighbour = await connect(0);
    await neighbour.request({ type: 'join', room }, 'joined');
    redis.pause();
    try {
      await eventually(() => ready(servers[0]).expect(503), 5000);
      members[0].send({ type: 'message', room, message: 'local', cid: undefined });
      const local = await neighbour.next('message', 5000);
      expect(local).toMatchObject({ message: 'local' });
      expect(local).not.toHaveProperty('offset');
      expect(
        await members[0].request({ type: 'message', room, message: 'acked?', cid: 'c-out' }),
      ).toMatchObject({
        type: 'error',
        code: 'unavailable',
        cid: 'c-out',
      });
      expect(await members[0].request({ type: 'history', room })).toMatchObject({ code: 'unavailable' });
      const since = { epoch: joined[0].epoch, offset: 0 };
      const joiner = await connect(0);
      expect(await joiner.request({ type: 'join', room, since }, 'joined')).toMatchObject({
        recovered: false,
      });
    } finally {
      redis.resume();
    }
    await eventually(() => ready(servers[0]).expect(200), 10_000);
    const reset = await neighbour.next('reset', 10_000);
    expect(reset).toMatchObject({ room });
    members[1].send({ type: 'message', room, message: 'again' });
    expect(await neighbour.next('message')).toMatchObject({ message: 'again', offset: reset.offset + 1 });
  }, 30_000);
});
