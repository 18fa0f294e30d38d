import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { API_ENV, describeApi, KEY } from './support/api-contract';
import { eventually } from './support/eventually';
import { type RunningApp, startApp } from './support/app';
import { DelayProxy } from './support/delay-proxy';
import { startInstances } from './support/instances';
import { describeWithRedisCluster, RedisCluster } from './support/redis-cluster';
import { describeWithRedis, RedisServer } from './support/redis-server';
import { sign } from './support/tokens';
import { TestClient } from './support/ws-client';

const prefix = () => `test-${randomBytes(4).toString('hex')}`;

async function threeInstances(env: Record<string, string>) {
  const { servers, close } = await startInstances(3, { ...API_ENV, ...env });
  return { http: servers.map((s) => s.httpUrl), ws: servers.map((s) => s.wsUrl), close };
}

describeWithRedis('backend API on three instances over one Redis (e2e)', () => {
  let redis: RedisServer;
  beforeAll(async () => (redis = await RedisServer.start()));
  afterAll(() => redis.stop());

  describeApi('three instances on Redis', (env = {}) =>
    threeInstances({ REDIS_URL: redis.url, REDIS_PREFIX: prefix(), ...env }),
  );
});

describeWithRedisCluster('backend API on three instances over a Redis Cluster (e2e)', () => {
  let cluster: RedisCluster;
  beforeAll(async () => (cluster = await RedisCluster.start()), 30_000);
  afterAll(() => cluster.stop());

  describeApi('three instances on a Redis Cluster', (env = {}) =>
    threeInstances({ REDIS_CLUSTER_NODES: cluster.nodes, REDIS_PREFIX: prefix(), ...env }),
  );
});

describeWithRedis('backend API while Redis is away (e2e)', () => {
  let redis: RedisServer;
  let d: Awaited<ReturnType<typeof threeInstances>>;
  beforeAll(async () => {
    redis = await RedisServer.start();
    d = await threeInstances({ REDIS_URL: redis.url, REDIS_PREFIX: prefix() });
  });
  afterAll(async () => {
    await d?.close();
    await redis.stop();
  });

  const auth = { Authorization: `Bearer ${KEY.all}` };

  it('refuses what it cannot do everywhere with 503 and Retry-After, does nothing, and works again once Redis is back', async () => {
    const member = await TestClient.connect(d.ws[1]);
    await member.request({ type: 'join', room: 'outage', name: 'm' }, 'joined');
    await redis.kill();
    await eventually(async () => {
      for (const url of d.http) await request(url).get('/health/ready').expect(503);
    }, 10_000);
    const asked: [string, request.Test][] = [
      [
        'publish',
        request(d.http[1]).post('/api/v1/rooms/outage/messages').set(auth).send({ message: 'lost?' }),
      ],
      ['broadcast', request(d.http[1]).post('/api/v1/broadcast').set(auth).send({ message: 'lost?' })],
      ['disconnect', request(d.http[0]).post('/api/v1/users/u1/disconnect').set(auth).send({})],
      ['remove', request(d.http[2]).delete('/api/v1/rooms/outage/members/u1').set(auth).send({})],
      ['members', request(d.http[0]).get('/api/v1/rooms/outage/members').set(auth)],
      ['rooms', request(d.http[1]).get('/api/v1/rooms').set(auth)],
      ['history', request(d.http[0]).get('/api/v1/rooms/outage/messages').set(auth)],
      [
        'idempotent publish',
        request(d.http[2])
          .post('/api/v1/rooms/outage/messages')
          .set({ ...auth, 'Idempotency-Key': 'during-outage' })
          .send({ message: 'lost?' }),
      ],
    ];
    const answers = await Promise.all(asked.map(([, req]) => req));
    expect(answers.map((a, i) => [asked[i][0], a.status, a.body.code, a.headers['retry-after']])).toEqual(
      asked.map(([what]) => [what, 503, 'unavailable', '1']),
    );
    expect(await member.nothingWithin(300)).toBe(true);

    await redis.restart();
    await eventually(
      () =>
        request(d.http[0])
          .post('/api/v1/rooms/outage/messages')
          .set({ ...auth, 'Idempotency-Key': 'during-outage' })
          .send({ message: 'after' })
          .expect(202),
      15_000,
    );
    // Redis came back empty: the member is told its room's log started over, then gets the message.
    let frame = await member.next();
    while (frame.type === 'reset') frame = await member.next();
    expect(frame).toMatchObject({ type: 'message', message: 'after', origin: 'server', offset: 1 });
    member.close();
  }, 40_000);
});

describeWithRedis('backend API when one instance is cut off from Redis (e2e)', () => {
  let redis: RedisServer;
  let proxy: DelayProxy;
  let cutOff: RunningApp;
  let connected: RunningApp;
  const auth = { Authorization: `Bearer ${KEY.all}` };

  beforeAll(async () => {
    redis = await RedisServer.start();
    proxy = await DelayProxy.start(redis.port);
    const env = { ...API_ENV, REDIS_PREFIX: prefix() };
    cutOff = await startApp({ ...env, REDIS_URL: `redis://127.0.0.1:${proxy.port}` });
    connected = await startApp({ ...env, REDIS_URL: redis.url });
  });
  afterAll(async () => {
    await Promise.all([cutOff?.close(), connected?.close()]);
    await proxy.close();
    await redis.stop();
  });

  it('carries out a command sent meanwhile once it is back', async () => {
    const token = await sign({ sub: 'u-far', name: 'Far' });
    const client = await TestClient.connect(cutOff.wsUrl, { headers: { Authorization: `Bearer ${token}` } });
    await client.next('authenticated');
    await client.request({ type: 'join', room: 'far' }, 'joined');
    proxy.cut();
    await eventually(() => request(cutOff.httpUrl).get('/health/ready').expect(503), 15_000);
    // The other instance reaches Redis: the command is accepted, and the cut-off one cannot hear it.
    await request(connected.httpUrl)
      .post('/api/v1/users/u-far/disconnect')
      .set(auth)
      .send({ reason: 'later' })
      .expect(202);
    expect(await client.nothingWithin(300)).toBe(true);
    proxy.restore();
    expect(await client.closed).toEqual({ code: 4003, reason: 'later' });
  }, 40_000);
});
