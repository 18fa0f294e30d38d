import Redis from 'ioredis';
import { randomBytes } from 'node:crypto';
import { createConnection } from 'node:net';
import { type RunningApp, startApp } from './support/app';
import { eventually } from './support/eventually';
import { Scrape } from './support/metrics';
import { describeWithRedisCluster, RedisCluster } from './support/redis-cluster';
import { describeWithRedis, RedisServer } from './support/redis-server';
import { TestClient, upgradeAnswer } from './support/ws-client';

// Every client here connects from 127.0.0.1; X-Forwarded-For says whom a proxy connects for.
const from = (forwardedFor: string) => ({ headers: { 'X-Forwarded-For': forwardedFor } });
const refusedFor = async (server: RunningApp, reason: string) =>
  (await Scrape.of(server.httpUrl)).get('chat_upgrades_refused_total', { reason });

describe('limits per client address and per instance (e2e)', () => {
  const servers: RunningApp[] = [];
  const clients: TestClient[] = [];
  const start = async (env: Record<string, string>) => {
    const server = await startApp(env);
    servers.push(server);
    return server;
  };
  const connect = async (server: RunningApp, options = {}) => {
    const client = await TestClient.connect(server.wsUrl, options);
    clients.push(client);
    return client;
  };
  const status = async (server: RunningApp, options = {}) =>
    (await upgradeAnswer(server.wsUrl, options)).status;
  afterEach(async () => {
    clients.splice(0).forEach((c) => c.close());
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  describe('MAX_CONNECTIONS_PER_IP', () => {
    it('answers 429 with Retry-After past the cap, X-Forwarded-For from an untrusted peer ignored', async () => {
      const server = await start({ MAX_CONNECTIONS_PER_IP: '2' });
      const first = await connect(server, from('203.0.113.1'));
      await connect(server, from('203.0.113.2'));
      const refused = await upgradeAnswer(server.wsUrl, from('203.0.113.3'));
      expect(refused.status).toBe(429);
      expect(refused.headers['retry-after']).toBe('10');
      expect(await refusedFor(server, 'rate')).toBe(1);
      // A closed connection gives its slot back.
      first.close();
      await eventually(async () => expect(await status(server)).toBe(101));
    });

    it('counts each client behind a trusted proxy by the address the proxy appended', async () => {
      const server = await start({ MAX_CONNECTIONS_PER_IP: '1', TRUSTED_PROXIES: '10.0.0.0/8, 127.0.0.1' });
      await connect(server, from('203.0.113.1'));
      await connect(server, from('203.0.113.2'));
      await connect(server); // the proxy's own connection counts as the proxy's
      expect(await status(server, from('203.0.113.1'))).toBe(429);
      // What the client wrote in front of the proxy's entry is not believed.
      expect(await status(server, from('198.51.100.9, 203.0.113.1'))).toBe(429);
      expect(await status(server, from('203.0.113.3'))).toBe(101);
    });

    it('takes a trusted proxy written as the IPv4-mapped IPv6 address a dual-stack socket reports', async () => {
      const server = await start({ MAX_CONNECTIONS_PER_IP: '1', TRUSTED_PROXIES: '::ffff:127.0.0.0/104' });
      await connect(server, from('203.0.113.1'));
      expect(await status(server, from('203.0.113.2'))).toBe(101);
    });

    it('ignores X-Forwarded-For from a peer that TRUSTED_PROXIES does not name', async () => {
      const server = await start({ MAX_CONNECTIONS_PER_IP: '1', TRUSTED_PROXIES: '10.0.0.0/8' });
      await connect(server, from('203.0.113.1'));
      expect(await status(server, from('203.0.113.2'))).toBe(429);
    });
  });

  describe('CONNECT_RATE_PER_IP', () => {
    // 5 at once, then one a second: 5 in each window of 5 s.
    const rate = { CONNECT_RATE_PER_IP: '1', CONNECT_BURST_PER_IP: '5' };

    it('answers 429 with Retry-After once an address has used its burst, X-Forwarded-For ignored', async () => {
      const server = await start(rate);
      for (let i = 0; i < 5; i++) expect(await status(server, from(`203.0.113.${i}`))).toBe(101);
      const refused = await upgradeAnswer(server.wsUrl, from('203.0.113.9'));
      expect(refused.status).toBe(429);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(5);
      expect(await refusedFor(server, 'rate')).toBe(1);
    });

    it('gives each client behind a trusted proxy a budget of its own', async () => {
      const server = await start({ ...rate, TRUSTED_PROXIES: '127.0.0.0/8' });
      for (let i = 0; i < 5; i++) expect(await status(server, from('203.0.113.1'))).toBe(101);
      expect(await status(server, from('203.0.113.1'))).toBe(429);
      expect(await status(server, from('203.0.113.2'))).toBe(101);
    });
  });

  describe('MAX_CONNECTIONS', () => {
    it('answers 503 with Retry-After when the instance is full, and admits again once a connection closes', async () => {
      const server = await start({ MAX_CONNECTIONS: '2' });
      const [first] = [
        await connect(server, from('203.0.113.1')),
        await connect(server, from('203.0.113.2')),
      ];
      const refused = await upgradeAnswer(server.wsUrl, from('203.0.113.3'));
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toBe('10');
      expect(await refusedFor(server, 'capacity')).toBe(1);
      first.close();
      await eventually(async () => expect(await status(server)).toBe(101));
    });

    it('gives back the slot of an upgrade a later check refused, though its client never closes', async () => {
      const server = await start({ MAX_CONNECTIONS: '1', JWT_SECRET: 's'.repeat(32) });
      // A raw client that reads the 401 and keeps its side open (allowHalfOpen: it does not end
      // when the server does).
      const lingering = createConnection({
        port: Number(new URL(server.wsUrl).port),
        host: '127.0.0.1',
        allowHalfOpen: true,
      });
      lingering.write(
        'GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
          `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n` +
          'Authorization: Bearer not-a-token\r\n\r\n',
      );
      const answer = await new Promise<string>((resolve) => lingering.once('data', (data) => resolve(String(data))));
      try {
        expect(answer).toMatch(/^HTTP\/1\.1 401 /);
        await eventually(async () => expect(await status(server)).toBe(101));
      } finally {
        lingering.destroy();
      }
    });

    it('answers 503 before the per-address cap is asked', async () => {
      const server = await start({ MAX_CONNECTIONS: '1', MAX_CONNECTIONS_PER_IP: '1' });
      await connect(server);
      expect(await status(server)).toBe(503);
    });
  });
});

describeWithRedis('connect rate shared through Redis (e2e)', () => {
  const prefix = `test-${randomBytes(4).toString('hex')}`;
  const env = (redis: RedisServer) => ({
    REDIS_URL: redis.url,
    REDIS_PREFIX: prefix,
    CONNECT_RATE_PER_IP: '1',
    CONNECT_BURST_PER_IP: '4',
  });
  let redis: RedisServer;
  let admin: Redis;
  let a: RunningApp;
  let b: RunningApp;
  const status = async (server: RunningApp) => (await upgradeAnswer(server.wsUrl)).status;

  beforeAll(async () => {
    redis = await RedisServer.start();
    admin = new Redis(redis.url);
    [a, b] = await Promise.all([startApp(env(redis)), startApp(env(redis))]);
  }, 30_000);
  afterAll(async () => {
    await Promise.all([a.close(), b.close()]);
    admin.disconnect();
    await redis.stop();
  });

  it("counts an address's upgrades to every instance together, under REDIS_PREFIX", async () => {
    expect([await status(a), await status(a), await status(b), await status(b)]).toEqual([
      101, 101, 101, 101,
    ]);
    expect([await status(a), await status(b)]).toEqual([429, 429]);
    expect(await admin.keys(`${prefix}:*`)).toContain(`${prefix}:connect-rate:127.0.0.1`);
  });

  it('counts on each instance by itself while Redis is away', async () => {
    await redis.kill();
    for (const server of [a, b]) {
      for (let i = 0; i < 4; i++) expect(await status(server)).toBe(101);
      expect(await status(server)).toBe(429);
    }
  });
});

describeWithRedisCluster('connect rate on a Redis Cluster (e2e)', () => {
  const prefix = `test-${randomBytes(4).toString('hex')}`;
  let redis: RedisCluster;
  let server: RunningApp;

  beforeAll(async () => {
    redis = await RedisCluster.start();
    server = await startApp({
      REDIS_CLUSTER_NODES: redis.nodes,
      REDIS_PREFIX: prefix,
      CONNECT_RATE_PER_IP: '1',
      CONNECT_BURST_PER_IP: '3',
    });
  }, 30_000);
  afterAll(async () => {
    await server.close();
    await redis.stop();
  });

  it('keeps the counts in the cluster', async () => {
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await upgradeAnswer(server.wsUrl)).status);
    expect(statuses).toEqual([101, 101, 101, 429]);
    const masters = redis.connectEach();
    const keys = (await Promise.all(masters.map((m) => m.keys(`${prefix}:connect-rate:*`)))).flat();
    masters.forEach((m) => m.disconnect());
    expect(keys).toEqual([`${prefix}:connect-rate:127.0.0.1`]);
  });
});
