import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { RoomsService } from '../src/rooms/rooms.service';
import { type RunningApp, startApp } from './support/app';
import { eventually } from './support/eventually';
import { freePort } from './support/free-port';
import { describeWith, findProgram } from './support/programs';
import { RedisServer } from './support/redis-server';
import { TestClient } from './support/ws-client';

const ROOT = join(__dirname, '..');
const CONFIG = join(ROOT, 'deploy', 'haproxy.cfg');

describe('docker-compose.yml', () => {
  const compose = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');

  it('mounts deploy/haproxy.cfg and points the balancer at each instance it defines', () => {
    expect(compose).toContain('./deploy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro');
    for (const n of [1, 2, 3]) {
      expect(compose).toMatch(new RegExp(`^  rooms-${n}: \\*rooms$`, 'm'));
      expect(compose).toContain(`ROOMS_${n}: rooms-${n}:8080`);
    }
    expect(compose).toContain('REDIS_URL: redis://redis:6379');
  });
});

describeWith(
  'haproxy',
  'haproxy',
  'deploy/haproxy.cfg: HAProxy in front of instances on one Redis (e2e)',
  () => {
    let redis: RedisServer;
    let servers: RunningApp[];
    let proxy: ChildProcess;
    let lbPort: number;
    const clients: TestClient[] = [];

    const env = (ports: number[]) => ({
      ...process.env,
      LB_BIND: `127.0.0.1:${lbPort}`,
      ...Object.fromEntries(ports.map((port, i) => [`ROOMS_${i + 1}`, `127.0.0.1:${port}`])),
    });

    beforeAll(async () => {
      redis = await RedisServer.start();
      const prefix = `test-${randomBytes(4).toString('hex')}`;
      servers = await Promise.all(
        [0, 1, 2].map(() => startApp({ REDIS_URL: redis.url, REDIS_PREFIX: prefix })),
      );
      lbPort = await freePort();
      const ports = servers.map((s) => Number(new URL(s.httpUrl).port));
      proxy = spawn(findProgram('haproxy')!, ['-db', '-f', CONFIG], { env: env(ports), stdio: 'ignore' });
      // Up once its health checks (GET /health/ready) have passed on every instance.
      await eventually(() => request(`http://127.0.0.1:${lbPort}`).get('/health/ready').expect(200), 10_000);
    }, 30_000);
    afterAll(async () => {
      clients.forEach((c) => c.close());
      proxy?.kill();
      await Promise.all(servers.map((s) => s.close()));
      await redis.stop();
    });

    it('is a valid HAProxy configuration', () => {
      const check = execFileSync(findProgram('haproxy')!, ['-c', '-f', CONFIG], {
        env: env([1, 2, 3]),
        encoding: 'utf8',
      });
      expect(check).toContain('Configuration file is valid');
    });

    it('passes WebSocket upgrades to every instance, and rooms span them', async () => {
      for (let i = 0; i < 6; i++) clients.push(await TestClient.connect(`ws://127.0.0.1:${lbPort}/ws`));
      // leastconn spreads the connections: each instance holds some.
      for (const server of servers) {
        expect(server.app.get(RoomsService).localCensus().connections).toBeGreaterThan(0);
      }
      for (const client of clients) await client.request({ type: 'join', room: 'lb' }, 'joined');
      clients[0].send({ type: 'message', message: 'through the balancer' });
      for (const client of clients.slice(1)) {
        expect(await client.next('message')).toMatchObject({ room: 'lb', message: 'through the balancer' });
      }
      const { body } = await request(`http://127.0.0.1:${lbPort}`).get('/rooms/lb').expect(200);
      expect(body).toEqual({ name: 'lb', members: 6 });
    });

    it('keeps /metrics off the public side; the instances still serve it', async () => {
      await request(`http://127.0.0.1:${lbPort}`).get('/metrics').expect(404);
      await request(`http://127.0.0.1:${lbPort}`).get('/metrics?x=1').expect(404);
      await request(servers[0].httpUrl).get('/metrics').expect(200);
    });
  },
);
