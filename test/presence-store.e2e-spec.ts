import Redis, { Cluster } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { Registry } from '../src/cluster/registry';
import { MemoryPresence } from '../src/presence/memory-presence';
import type { PresenceChange } from '../src/presence/presence-store';
import { RedisPresence } from '../src/presence/redis-presence';
import { describePresenceStore, type PresenceUnderTest } from './support/presence-store-contract';
import { describeWithRedisCluster, RedisCluster } from './support/redis-cluster';
import { describeWithRedis, RedisServer } from './support/redis-server';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describePresenceStore(
  'MemoryPresence',
  async (graceMs) => {
    const changes: PresenceChange[] = [];
    const store = new MemoryPresence(graceMs, (change) => changes.push(change));
    return {
      changes,
      set: async (_node, room, member) => store.set(room, member),
      page: async (room, offset, limit) => store.page(room, offset, limit),
      afterGrace: async () => void (await sleep(graceMs + 50)),
      close: async () => undefined,
    };
  },
  1,
);

/** Two nodes (registries) writing members through the registry's scripts, and a listener on the channel. */
async function onRedis(
  commands: Redis | Cluster,
  listener: Redis | Cluster,
  publish: 'PUBLISH' | 'SPUBLISH',
  graceMs: number,
): Promise<PresenceUnderTest> {
  const prefix = `t-${randomBytes(4).toString('hex')}`;
  const presence = new RedisPresence(commands, prefix, graceMs, publish);
  const nodes = ['a', 'b'].map((id) => new Registry(commands, prefix, id, presence.scriptArgs));
  for (const node of nodes) await node.register({ rooms: [], connections: 0 });
  const changes: PresenceChange[] = [];
  const hear = (channel: string, message: string) => {
    if (channel === presence.channel) changes.push(presence.parse(message)!);
  };
  listener.on(publish === 'SPUBLISH' ? 'smessage' : 'message', hear);
  await (publish === 'SPUBLISH'
    ? listener.ssubscribe(presence.channel)
    : listener.subscribe(presence.channel));
  return {
    changes,
    set: async (node, room, member) => void (await nodes[node].setLocal(room, member.here, member)),
    page: (room, offset, limit) => presence.page(room, offset, limit),
    afterGrace: async () => {
      await sleep(graceMs + 50);
      await presence.sweep();
    },
    reregister: (node, members) => nodes[node].register({ rooms: [], connections: 0 }, members),
    reap: async () => {
      await sleep(60);
      await nodes[0].heartbeat(50); // node 0 was silent as long: it only marks itself alive
      await nodes[0].heartbeat(50); // node 1 silent for longer than 50 ms: reaped
    },
    close: async () => {
      listener.off(publish === 'SPUBLISH' ? 'smessage' : 'message', hear);
      await (publish === 'SPUBLISH'
        ? listener.sunsubscribe(presence.channel)
        : listener.unsubscribe(presence.channel));
    },
  };
}

describeWithRedis('RedisPresence on one Redis', () => {
  let redis: RedisServer;
  let commands: Redis;
  let listener: Redis;
  beforeAll(async () => {
    redis = await RedisServer.start();
    [commands, listener] = [new Redis(redis.url), new Redis(redis.url)];
  });
  afterAll(async () => {
    commands.disconnect();
    listener.disconnect();
    await redis.stop();
  });

  describePresenceStore('RedisPresence', (graceMs) => onRedis(commands, listener, 'PUBLISH', graceMs), 2);
});

describeWithRedisCluster('RedisPresence on a Redis Cluster', () => {
  let cluster: RedisCluster;
  let commands: Cluster;
  let listener: Cluster;
  beforeAll(async () => {
    cluster = await RedisCluster.start();
    const nodes = cluster.servers.map((s) => ({ host: '127.0.0.1', port: s.port }));
    [commands, listener] = [new Cluster(nodes), new Cluster(nodes, { shardedSubscribers: true })];
  }, 30_000);
  afterAll(async () => {
    commands.disconnect();
    listener.disconnect();
    await cluster.stop();
  });

  describePresenceStore(
    'RedisPresence (cluster)',
    (graceMs) => onRedis(commands, listener, 'SPUBLISH', graceMs),
    2,
  );
});
