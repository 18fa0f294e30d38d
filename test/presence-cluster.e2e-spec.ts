import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { type RunningApp, startApp } from './support/app';
import { eventually } from './support/eventually';
import { describePresence, PRESENCE_ENV, PresenceView } from './support/presence-contract';
import { startInstances } from './support/instances';
import { describeWithRedisCluster, RedisCluster } from './support/redis-cluster';
import { describeWithRedis, RedisServer } from './support/redis-server';
import { type ServerProcess, spawnServer } from './support/server-process';
import { sign } from './support/tokens';
import { TestClient } from './support/ws-client';

const prefix = () => `test-${randomBytes(4).toString('hex')}`;
const HEARTBEAT_MS = 1000;

const threeInstances = (env: Record<string, string>) => startInstances(3, { ...PRESENCE_ENV, ...env });

describeWithRedis('presence on three instances over one Redis (e2e)', () => {
  let redis: RedisServer;
  beforeAll(async () => (redis = await RedisServer.start()));
  afterAll(() => redis.stop());

  describePresence('three instances on Redis', () =>
    threeInstances({ REDIS_URL: redis.url, REDIS_PREFIX: prefix() }),
  );
});

describeWithRedisCluster('presence on three instances over a Redis Cluster (e2e)', () => {
  let cluster: RedisCluster;
  beforeAll(async () => (cluster = await RedisCluster.start()), 30_000);
  afterAll(() => cluster.stop());

  describePresence('three instances on a Redis Cluster', () =>
    threeInstances({ REDIS_CLUSTER_NODES: cluster.nodes, REDIS_PREFIX: prefix() }),
  );
});

/** A client of `url` in `room`: a verified user with a token, or an anonymous one with a name. */
async function enter(url: string, room: string, who: { user?: string; name: string }, presence = false) {
  const headers = who.user
    ? { Authorization: `Bearer ${await sign({ sub: who.user, name: who.name })}` }
    : undefined;
  const client = await TestClient.connect(url, headers && { headers });
  if (who.user) await client.next('authenticated');
  await client.request({ type: 'join', room, name: who.user ? undefined : who.name, presence }, 'joined');
  return client;
}

describeWithRedis('presence when an instance dies without cleaning up (kill -9) (e2e)', () => {
  let redis: RedisServer;
  let servers: ServerProcess[];
  const clients: TestClient[] = [];

  beforeAll(async () => {
    redis = await RedisServer.start();
    const env = {
      ...PRESENCE_ENV,
      REDIS_URL: redis.url,
      REDIS_PREFIX: prefix(),
      HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_MS),
    };
    servers = [0, 1, 2].map(() => spawnServer(env));
    await Promise.all(servers.map((s) => (s as ServerProcess & { listening: Promise<void> }).listening));
  }, 60_000);
  afterAll(async () => {
    clients.forEach((c) => c.close());
    for (const s of servers) s.child.kill('SIGKILL');
    await redis.stop();
  });

  it('its members leave once each, on every survivor; a user with a connection elsewhere stays', async () => {
    const room = 'k9';
    const [a, b, dying] = servers.map((s) => s.wsUrl);
    const watchers = [
      new PresenceView(await enter(a, room, { name: 'watcher-a' }, true), room),
      new PresenceView(await enter(b, room, { name: 'watcher-b' }, true), room),
    ];
    clients.push(...watchers.map((w) => w.client));
    clients.push(await enter(dying, room, { name: 'only-there' }));
    clients.push(await enter(dying, room, { user: 'u-both', name: 'Both' }));
    clients.push(await enter(b, room, { user: 'u-both', name: 'Both' }));
    const everyone = ['watcher-a', 'watcher-b', 'only-there', 'Both'];
    for (const view of watchers) await view.until((v) => v.is(everyone));
    const diffsBefore = watchers.map((w) => w.diffs.length);

    servers[2].child.kill('SIGKILL');
    await servers[2].exited;
    const left = ['watcher-a', 'watcher-b', 'Both'];
    // Reaping takes at most 3 heartbeats, then the grace; the margin is for a busy machine.
    for (const view of watchers) await view.until((v) => v.is(left), 3 * HEARTBEAT_MS + 8000);
    // Nothing more comes: one leave each, and no zombie.
    for (const [i, view] of watchers.entries()) {
      await view.during(1500);
      expect(view.mentions('only-there', diffsBefore[i])).toEqual([['leaves', expect.anything()]]);
      expect(view.mentions('Both', diffsBefore[i])).toEqual([]);
      const snapshot = await view.ask();
      expect(snapshot.count).toBe(3);
      expect(view.is(left)).toBe(true);
      expect(
        (snapshot.members as { name: string; connections: number }[]).find((m) => m.name === 'Both'),
      ).toMatchObject({ connections: 1 });
    }
  }, 30_000);
});

describeWithRedis('presence when Redis goes away and comes back (e2e)', () => {
  let redis: RedisServer;
  let servers: RunningApp[];
  const clients: TestClient[] = [];
  const ready = (server: RunningApp) => request(server.httpUrl).get('/health/ready');

  beforeAll(async () => {
    redis = await RedisServer.start();
    const env = { ...PRESENCE_ENV, REDIS_URL: redis.url, REDIS_PREFIX: prefix() };
    servers = await Promise.all([0, 1].map(() => startApp(env)));
  });
  afterAll(async () => {
    clients.forEach((c) => c.close());
    await Promise.all(servers.map((s) => s.close()));
    await redis.stop();
  });

  it('shows local members while Redis is away, and the whole room, rebuilt, when it is back empty', async () => {
    const room = 'outage';
    const here = new PresenceView(await enter(servers[0].wsUrl, room, { name: 'here' }, true), room);
    clients.push(here.client);
    clients.push(await enter(servers[0].wsUrl, room, { name: 'neighbour' }));
    clients.push(await enter(servers[1].wsUrl, room, { name: 'far' }));
    await here.until((v) => v.is(['here', 'neighbour', 'far']));

    await redis.kill();
    await here.until((v) => v.is(['here', 'neighbour']), 10_000);
    // A local change while Redis is away: a fresh local snapshot.
    const late = await enter(servers[0].wsUrl, room, { name: 'late' });
    clients.push(late);
    await here.until((v) => v.is(['here', 'neighbour', 'late']));

    await redis.restart();
    await eventually(async () => {
      for (const s of servers) await ready(s).expect(200);
    }, 15_000);
    // Both instances registered their members again in an empty Redis: the list is whole.
    await here.until((v) => v.is(['here', 'neighbour', 'late', 'far']), 10_000);
    expect(here.stale).toEqual([]);
    const { body } = await request(servers[1].httpUrl).get(`/rooms/${room}/members`).expect(200);
    expect(body.count).toBe(4);
  }, 40_000);

  it('after Redis hangs and resumes with its data, nobody who stayed is said to leave or join', async () => {
    const room = 'hang';
    const here = new PresenceView(await enter(servers[0].wsUrl, room, { name: 'here' }, true), room);
    clients.push(here.client);
    clients.push(await enter(servers[1].wsUrl, room, { name: 'far' }));
    await here.until((v) => v.is(['here', 'far']));
    const snapshots = here.snapshots.length;
    const from = here.diffs.length;

    redis.pause();
    try {
      // The instance notices two missed probes, then shows its own members only.
      await here.until((v) => v.is(['here']), 15_000);
    } finally {
      redis.resume();
    }
    await eventually(async () => {
      for (const s of servers) await ready(s).expect(200);
    }, 15_000);
    await here.until((v) => v.is(['here', 'far']), 10_000);
    await here.during(1000); // past the grace: a leave begun by the re-registration would show now
    expect(here.snapshots.length).toBeGreaterThanOrEqual(snapshots + 2); // the local one, the whole one
    expect(here.mentions('far', from)).toEqual([]);
    expect(here.mentions('here', from)).toEqual([]);
    expect(here.is(['here', 'far'])).toBe(true);
  }, 40_000);
});
