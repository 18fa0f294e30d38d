import Redis, { Cluster } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { MemoryHistory } from '../src/history/memory-history';
import { RedisHistory } from '../src/history/redis-history';
import { CONFIG, describeHistoryStore } from './support/history-contract';
import { describeWithRedisCluster, RedisCluster } from './support/redis-cluster';
import { describeWithRedis, RedisServer } from './support/redis-server';

describeHistoryStore('MemoryHistory', (config) => new MemoryHistory({ ...CONFIG, ...config }, () => false));

describeWithRedis('RedisHistory on one Redis', () => {
  let redis: RedisServer;
  const clients: Redis[] = [];
  beforeAll(async () => (redis = await RedisServer.start()));
  afterAll(async () => {
    clients.forEach((c) => c.disconnect());
    await redis.stop();
  });

  describeHistoryStore('RedisHistory', (config) => {
    const client = new Redis(redis.url);
    clients.push(client);
    const prefix = `t-${randomBytes(4).toString('hex')}`;
    return new RedisHistory(client, prefix, { ...CONFIG, ...config }, 'PUBLISH');
  });
});

describeWithRedisCluster('RedisHistory on a Redis Cluster', () => {
  let cluster: RedisCluster;
  const clients: Cluster[] = [];
  beforeAll(async () => (cluster = await RedisCluster.start()), 30_000);
  afterAll(async () => {
    clients.forEach((c) => c.disconnect());
    await cluster.stop();
  });

  describeHistoryStore('RedisHistory (cluster)', (config) => {
    const client = new Cluster(cluster.servers.map((s) => ({ host: '127.0.0.1', port: s.port })));
    clients.push(client);
    const prefix = `t-${randomBytes(4).toString('hex')}`;
    return new RedisHistory(client, prefix, { ...CONFIG, ...config }, 'SPUBLISH');
  });
});
