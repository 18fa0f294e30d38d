import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { eventually } from './support/eventually';
import { startInstances } from './support/instances';
import { describeWithRedisCluster, RedisCluster } from './support/redis-cluster';
import { describeWithRedis, RedisServer } from './support/redis-server';
import { type ServerProcess, spawnServer } from './support/server-process';
import { describeWebhooks } from './support/webhook-contract';
import { webhookEnv } from './support/webhook-env';
import { Receiver } from './support/webhook-receiver';
import { TestClient } from './support/ws-client';

const prefix = () => `test-${randomBytes(4).toString('hex')}`;

async function threeInstances(env: Record<string, string>) {
  const { servers, close } = await startInstances(3, env);
  return { http: servers.map((s) => s.httpUrl), ws: servers.map((s) => s.wsUrl), close };
}

describeWithRedis('webhooks on three instances over one Redis (e2e)', () => {
  let redis: RedisServer;
  beforeAll(async () => (redis = await RedisServer.start()));
  afterAll(() => redis.stop());

  describeWebhooks('three instances on Redis', (env) =>
    threeInstances({ REDIS_URL: redis.url, REDIS_PREFIX: prefix(), ...env }),
  );
});

describeWithRedisCluster('webhooks on three instances over a Redis Cluster (e2e)', () => {
  let cluster: RedisCluster;
  beforeAll(async () => (cluster = await RedisCluster.start()), 30_000);
  afterAll(() => cluster.stop());

  describeWebhooks('three instances on a Redis Cluster', (env) =>
    threeInstances({ REDIS_CLUSTER_NODES: cluster.nodes, REDIS_PREFIX: prefix(), ...env }),
  );
});

const settled = <T>(assertion: () => T | Promise<T>, ms = 20_000) => eventually(assertion, ms);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const roomEvents = (hooks: Receiver, room: string) =>
  hooks.delivered.filter((e) => e.room === room).map((e) => e.name);

/** An anonymous member of `room` on the instance at `url`. */
async function enter(url: string, room: string, name: string): Promise<TestClient> {
  const client = await TestClient.connect(url);
  await client.request({ type: 'join', room, name }, 'joined');
  return client;
}

describeWithRedis('webhooks when instances race (e2e)', () => {
  let redis: RedisServer;
  let hooks: Receiver;
  let d: Awaited<ReturnType<typeof threeInstances>>;
  beforeAll(async () => {
    redis = await RedisServer.start();
    hooks = await Receiver.start();
    d = await threeInstances(
      webhookEnv([hooks.url()], {
        REDIS_URL: redis.url,
        REDIS_PREFIX: prefix(),
        PRESENCE_LEAVE_GRACE_MS: '0',
      }),
    );
  });
  afterAll(async () => {
    await d?.close();
    await hooks.close();
    await redis.stop();
  });

  it('three instances joining and leaving one room 200 times make exactly one occupied and one vacated per round', async () => {
    const clients = await Promise.all(d.ws.map((url) => TestClient.connect(url)));
    for (let round = 0; round < 200; round++) {
      await Promise.all(
        clients.map((c, i) => c.request({ type: 'join', room: 'race', name: `r${i}` }, 'joined')),
      );
      await Promise.all(clients.map((c) => c.request({ type: 'leave', room: 'race' }, 'left')));
    }
    clients.forEach((c) => c.close());
    await settled(() =>
      expect(roomEvents(hooks, 'race').filter((n) => n === 'room_vacated')).toHaveLength(200),
    );
    const rooms = roomEvents(hooks, 'race').filter((n) => n.startsWith('room_'));
    expect(rooms).toEqual(
      Array.from({ length: 400 }, (_, i) => (i % 2 === 0 ? 'room_occupied' : 'room_vacated')),
    );
    const members = roomEvents(hooks, 'race').filter((n) => n.startsWith('member_'));
    expect(members.filter((n) => n === 'member_joined')).toHaveLength(600);
    expect(members.filter((n) => n === 'member_left')).toHaveLength(600);
    const ids = hooks.delivered.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
  }, 120_000);
});

describeWithRedis('webhooks when the delivering instance dies mid-retry (kill -9) (e2e)', () => {
  let redis: RedisServer;
  let hooks: Receiver;
  let servers: ServerProcess[] = [];
  beforeAll(async () => {
    redis = await RedisServer.start();
    hooks = await Receiver.start();
    hooks.reply = () => 500;
    const env = webhookEnv([hooks.url()], { REDIS_URL: redis.url, REDIS_PREFIX: prefix() });
    servers = [0, 1].map(() => spawnServer(env));
    await Promise.all(servers.map((s) => (s as ServerProcess & { listening: Promise<void> }).listening));
  }, 60_000);
  afterAll(async () => {
    for (const s of servers) s.child.kill('SIGKILL');
    await hooks.close();
    await redis.stop();
  });

  it('another instance takes over the queue and delivers the batch under the same webhook-id', async () => {
    const delivering = () => servers.filter((s) => s.stdout().includes('now delivers the webhooks to'));
    await settled(() => expect(delivering()).toHaveLength(1));
    const [holder] = delivering();
    const survivor = servers.find((s) => s !== holder)!;
    const client = await enter(survivor.wsUrl, 'k9', 'stays');
    // Its events are being retried by the holder.
    await settled(() => expect(hooks.requests.length).toBeGreaterThanOrEqual(2));
    const batch = hooks.requests[0];
    expect(batch.body).toContain('"room":"k9"');
    // More events queue behind the batch: the one who takes over must still send the batch as it was.
    await client.request({ type: 'join', room: 'k9-later' }, 'joined');
    holder.child.kill('SIGKILL');
    await holder.exited;
    hooks.reply = () => 200;
    // The lease lapses (5 s) and the survivor goes on from the oldest event not delivered.
    await settled(() => expect(hooks.delivered.map((e) => e.room)).toContain('k9'), 30_000);
    const ok = hooks.requests.find((r) => r.status === 200)!;
    expect(ok.headers['webhook-id']).toBe(batch.headers['webhook-id']);
    expect(ok.ids).toEqual(batch.ids);
    expect(survivor.stdout()).toContain('now delivers the webhooks to');
    expect(roomEvents(hooks, 'k9')).toEqual(['room_occupied', 'member_joined']);
    await settled(() => expect(roomEvents(hooks, 'k9-later')).toEqual(['room_occupied', 'member_joined']));
    client.close();
  }, 60_000);
});

describeWithRedis('webhooks when Redis goes away and comes back (e2e)', () => {
  let redis: RedisServer;
  let hooks: Receiver;
  let d: Awaited<ReturnType<typeof threeInstances>>;
  const clients: TestClient[] = [];
  const ready = () =>
    eventually(async () => {
      for (const url of d.http) await request(url).get('/health/ready').expect(200);
    }, 15_000);

  beforeAll(async () => {
    redis = await RedisServer.start();
    hooks = await Receiver.start();
    d = await threeInstances(webhookEnv([hooks.url()], { REDIS_URL: redis.url, REDIS_PREFIX: prefix() }));
  });
  /**
   * A join whose event is made after everything before it, on one endpoint delivered in order:
   * once it has come, so has anything made before it.
   */
  const marker = async (url: string, room: string) => {
    clients.push(await enter(url, room, 'marker'));
    await settled(() => expect(roomEvents(hooks, room)).toContain('member_joined'), 30_000);
  };
  afterAll(async () => {
    clients.forEach((c) => c.close());
    await d?.close();
    await hooks.close();
    await redis.stop();
  });

  it('after Redis hangs and resumes, nobody who stayed leaves and no room is vacated', async () => {
    clients.push(await enter(d.ws[0], 'hang', 'here'), await enter(d.ws[1], 'hang', 'far'));
    await settled(() =>
      expect(roomEvents(hooks, 'hang')).toEqual(['room_occupied', 'member_joined', 'member_joined']),
    );
    redis.pause();
    try {
      await eventually(async () => request(d.http[0]).get('/health/ready').expect(503), 15_000);
    } finally {
      redis.resume();
    }
    await ready();
    await sleep(1000); // past the grace (300 ms): a leave begun by the outage would be made by now
    await marker(d.ws[2], 'marker-hang');
    expect(roomEvents(hooks, 'hang')).toEqual(['room_occupied', 'member_joined', 'member_joined']);
  }, 40_000);

  it('one who left while its instance was cut off leaves when it is back, marked reconciled', async () => {
    const gone = await enter(d.ws[0], 'cutoff', 'gone');
    clients.push(await enter(d.ws[1], 'cutoff', 'stays'));
    await settled(() => expect(roomEvents(hooks, 'cutoff')).toHaveLength(3));
    redis.pause();
    try {
      await eventually(async () => request(d.http[0]).get('/health/ready').expect(503), 15_000);
      gone.close(); // heard by nobody: its instance cannot reach Redis
      // Gone there before Redis is back (its count is local meanwhile): only the re-registration can tell Redis.
      await eventually(() => request(d.http[0]).get('/rooms/cutoff').expect(404), 10_000);
    } finally {
      redis.resume();
    }
    await ready();
    await settled(() => expect(roomEvents(hooks, 'cutoff')).toContain('member_left'));
    const left = hooks.delivered.find((e) => e.room === 'cutoff' && e.name === 'member_left')!;
    expect(left).toMatchObject({ member_name: 'gone', reason: 'closed', reconciled: true });
    await sleep(1000);
    await marker(d.ws[1], 'marker-cutoff');
    expect(roomEvents(hooks, 'cutoff')).toEqual([
      'room_occupied',
      'member_joined',
      'member_joined',
      'member_left',
    ]);
  }, 40_000);

  it('after Redis comes back empty, the rooms and members it lost are sent again, marked reconciled', async () => {
    clients.push(await enter(d.ws[1], 'lost', 'one'), await enter(d.ws[2], 'lost', 'two'));
    await settled(() => expect(roomEvents(hooks, 'lost')).toHaveLength(3));
    await redis.kill();
    await sleep(500);
    await redis.restart();
    await ready();
    await settled(() => expect(roomEvents(hooks, 'lost')).toHaveLength(6));
    const again = hooks.delivered.filter((e) => e.room === 'lost').slice(3);
    expect(again.map((e) => [e.name, e.reconciled])).toEqual([
      ['room_occupied', true],
      ['member_joined', true],
      ['member_joined', true],
    ]);
    await sleep(1000); // past the grace
    await marker(d.ws[0], 'marker-lost');
    expect(roomEvents(hooks, 'lost')).not.toContain('room_vacated');
  }, 40_000);
});
