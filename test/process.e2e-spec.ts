import request from 'supertest';
import { CLOSE_GOING_AWAY } from '../src/gateway/close-codes';
import { spawnServer } from './support/server-process';
import { joinAll, TestClient } from './support/ws-client';

describe('the service as a process (e2e)', () => {
  it('refuses to start on a bad setting, naming the variable, with exit code 1', async () => {
    const server = spawnServer({ PORT: 'eighty', MAX_MESSAGE_LENGTH: '0' });
    await expect(server.listening).rejects.toThrow(/Refusing to start/);
    expect((await server.exited).code).toBe(1);
    expect(server.output()).toMatch(/PORT must be/);
    expect(server.output()).toMatch(/MAX_MESSAGE_LENGTH must/);
  }, 20_000);

  it.each(['SIGTERM', 'SIGINT'] as const)(
    'on %s: readiness 503, new upgrades refused, clients closed with 1001, exit 0 within the bound',
    async (signal) => {
      const server = spawnServer({ SHUTDOWN_TIMEOUT_MS: '1500' });
      await server.listening;
      const [polite, member] = await Promise.all([
        TestClient.connect(server.wsUrl),
        TestClient.connect(server.wsUrl),
      ]);
      await member.request({ type: 'join', room: 'lobby' }, 'joined');
      // A peer that never reads cannot finish a close handshake; the server must not wait on it forever.
      const deaf = await TestClient.connect(server.wsUrl);
      (deaf.socket as unknown as { _socket: { pause(): void } })._socket.pause();

      const started = Date.now();
      server.child.kill(signal);
      server.child.kill(signal); // a repeated signal must not cut the shutdown short
      expect(await polite.closed).toMatchObject({ code: CLOSE_GOING_AWAY });
      expect(await member.closed).toMatchObject({ code: CLOSE_GOING_AWAY });
      const notReady = await request(server.httpUrl).get('/health/ready').expect(503);
      expect(notReady.body).toMatchObject({
        status: 'shutting_down',
        error: { lifecycle: { status: 'down', reason: 'shutting_down' } },
      });
      await request(server.httpUrl).get('/health').expect(200);
      await expect(TestClient.connect(server.wsUrl)).rejects.toThrow(/503/);

      expect(await server.exited).toEqual({ code: 0, signal: null });
      expect(Date.now() - started).toBeLessThan(1500 + 1000);
      expect(server.output()).not.toMatch(/overran/); // finished by itself, not by the watchdog
    },
    20_000,
  );

  it('writes no log line per message at the default level', async () => {
    // 102 frames at once: more than the default frame burst (frame-limit.e2e-spec.ts tests that).
    const server = spawnServer({ LOG_LEVEL: '', RATE_LIMIT_FRAMES_PER_S: '0' });
    await server.listening;
    const [a, b] = await Promise.all([TestClient.connect(server.wsUrl), TestClient.connect(server.wsUrl)]);
    await joinAll([a, b], 'quiet');
    const before = server.output();
    for (let i = 0; i < 100; i++) a.send({ type: 'message', message: `m${i}` });
    for (let i = 0; i < 100; i++) await b.next('message');
    a.send({ type: 'broadcast', message: 'all' });
    a.send('not json');
    await a.next('broadcast');
    await a.next('error');
    expect(server.output()).toBe(before);
    server.child.kill('SIGTERM');
    await server.exited;
  }, 20_000);
});
