import Redis, { Cluster } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { MemoryIdempotency } from '../src/api/idempotency/memory-idempotency';
import { RedisIdempotency } from '../src/api/idempotency/redis-idempotency';
import type { RedisClient } from '../src/cluster/redis-clients';
import { MemoryEndpointQueue } from '../src/webhooks/memory-endpoint-queue';
import { LEASE_MS, RedisEndpointQueue } from '../src/webhooks/redis-endpoint-queue';
import type { WebhookEvent } from '../src/webhooks/webhook-event';
import { describeEndpointQueue, describeIdempotencyStore } from './support/backend-stores-contract';
import { DelayProxy } from './support/delay-proxy';
import { eventually } from './support/eventually';
import { describeWithRedisCluster, RedisCluster } from './support/redis-cluster';
import { describeWithRedis, RedisServer } from './support/redis-server';

const prefix = () => `t-${randomBytes(4).toString('hex')}`;
const URL1 = new URL('http://127.0.0.1:9/hooks');

describeEndpointQueue('MemoryEndpointQueue', async (size) => new MemoryEndpointQueue(size));
describeIdempotencyStore('MemoryIdempotency', async (ttlMs) => new MemoryIdempotency(ttlMs, 1000));

/** The stores on a Redis client `connect` makes, closed after the suite. */
function onRedis(name: string, connect: () => RedisClient) {
  const clients: RedisClient[] = [];
  const client = () => {
    const made = connect();
    clients.push(made);
    return made;
  };
  afterAll(() => clients.forEach((c) => c.disconnect()));

  describeEndpointQueue(
    `RedisEndpointQueue (${name})`,
    async (size) => new RedisEndpointQueue(client(), prefix(), URL1, size, 'node-a'),
  );
  describeIdempotencyStore(
    `RedisIdempotency (${name})`,
    async (ttlMs) => new RedisIdempotency(client(), prefix(), ttlMs),
  );

  describe(`RedisEndpointQueue (${name}): one reader at a time`, () => {
    const event = (id: string): WebhookEvent => ({ id, name: 'room_occupied', room: 'r', ts: Date.now() });

    it('gives its events to the holder of the lease alone; another takes over when it lets go', async () => {
      const shared = prefix();
      const [a, b] = ['node-a', 'node-b'].map(
        (node) => new RedisEndpointQueue(client(), shared, URL1, 100, node),
      );
      await a.push([event('x1')]);
      expect((await a.peek(10)).map((q) => q.event.id)).toEqual(['x1']);
      expect(await b.peek(10)).toEqual([]);
      expect(b.holds()).toBe(false);
      await a.close();
      expect((await b.peek(10)).map((q) => q.event.id)).toEqual(['x1']);
      expect(b.holds()).toBe(true);
      await b.close();
    });

    it('gives whoever takes over the batch being sent as it was, though more came behind it', async () => {
      const shared = prefix();
      const [a, b] = ['node-a', 'node-b'].map(
        (node) => new RedisEndpointQueue(client(), shared, URL1, 100, node),
      );
      await a.push([event('y1'), event('y2')]);
      const batch = await a.peek(20);
      await a.sending(batch);
      await a.push([event('y3')]);
      await a.close(); // as if it died: the lease is free
      expect((await b.peek(20)).map((q) => q.event.id)).toEqual(['y1', 'y2']);
      await b.ack(batch.map((q) => q.key));
      expect((await b.peek(20)).map((q) => q.event.id)).toEqual(['y3']);
      await b.close();
    });
  });
}

describeWithRedis('backend stores on one Redis', () => {
  let redis: RedisServer;
  beforeAll(async () => (redis = await RedisServer.start()));
  afterAll(() => redis.stop());
  onRedis('one Redis', () => new Redis(redis.url));

  it('a holder cut off from Redis lets the queue go before its lease lapses there, ending its request', async () => {
    const proxy = await DelayProxy.start(redis.port);
    const far = new Redis(`redis://127.0.0.1:${proxy.port}`, { maxRetriesPerRequest: 0 });
    const near = new Redis(redis.url);
    try {
      const shared = prefix();
      const cutOff = new RedisEndpointQueue(far, shared, URL1, 100, 'node-far');
      const other = new RedisEndpointQueue(near, shared, URL1, 100, 'node-near');
      await cutOff.push([{ id: 'z1', name: 'room_occupied', room: 'r', ts: Date.now() }]);
      const batch = await cutOff.peek(10);
      expect(await cutOff.sending(batch)).toEqual(expect.any(Number));
      const lost = cutOff.lost()!;
      proxy.cut();
      const cutAt = Date.now();
      await new Promise((resolve) => lost.addEventListener('abort', resolve));
      const gaveUpAfter = Date.now() - cutAt;
      expect(cutOff.holds()).toBe(false);
      // Before Redis frees the lease, nobody else has it: the two never overlap.
      expect(await other.peek(10)).toEqual([]);
      await eventually(
        async () => expect((await other.peek(10)).map((q) => q.event.id)).toEqual(['z1']),
        10_000,
      );
      expect(gaveUpAfter).toBeLessThan(LEASE_MS);
      await other.close();
    } finally {
      far.disconnect();
      near.disconnect();
      await proxy.close();
    }
  }, 20_000);
});

describeWithRedisCluster('backend stores on a Redis Cluster', () => {
  let cluster: RedisCluster;
  beforeAll(async () => (cluster = await RedisCluster.start()), 30_000);
  afterAll(() => cluster.stop());
  onRedis(
    'Redis Cluster',
    () => new Cluster(cluster.servers.map((s) => ({ host: '127.0.0.1', port: s.port }))),
  );
});
