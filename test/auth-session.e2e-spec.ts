import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import request from 'supertest';
import {
  CLOSE_AUTH_TIMEOUT,
  CLOSE_FORBIDDEN,
  CLOSE_INVALID_TOKEN,
  CLOSE_TOKEN_EXPIRED,
} from '../src/gateway/close-codes';
import { type RunningApp, startApp } from './support/app';
import { SECRET, sign } from './support/tokens';
import { joinAll, TestClient } from './support/ws-client';

/** Connects and authenticates with a token of these claims. */
async function signedIn(url: string, claims: Parameters<typeof sign>[0] = {}): Promise<TestClient> {
  const client = await TestClient.connect(url);
  await client.request({ type: 'auth', token: await sign(claims) }, 'authenticated');
  return client;
}

describe('AUTH_MODE=jwt', () => {
  let server: RunningApp;
  const clients: TestClient[] = [];
  const track = (client: TestClient) => (clients.push(client), client);
  beforeAll(async () => {
    server = await startApp({ AUTH_MODE: 'jwt', JWT_SECRET: SECRET, AUTH_TIMEOUT_MS: '300' });
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(() => server.close());

  it('answers every other event with unauthenticated until the connection authenticates, and keeps it open', async () => {
    const client = track(await TestClient.connect(server.wsUrl));
    for (const frame of [
      { type: 'join', room: 'r1' },
      { type: 'message', message: 'hi' },
      { type: 'broadcast', message: 'hi' },
      { type: 'echo', message: 'hi' },
      { type: 'leave', room: 'r1' },
      { type: 'nope' },
    ]) {
      expect(await client.request(frame, 'error')).toMatchObject({
        code: 'unauthenticated',
        event: frame.type,
      });
    }
    await client.request({ type: 'auth', token: await sign() }, 'authenticated');
    expect(await client.request({ type: 'join', room: 'r1' }, 'joined')).toMatchObject({ members: 1 });
  });

  it('closes a connection that sends no token within AUTH_TIMEOUT_MS with 4008, after an unauthenticated frame', async () => {
    const client = await TestClient.connect(server.wsUrl);
    expect(await client.next('error')).toMatchObject({ code: 'unauthenticated' });
    expect((await client.closed).code).toBe(CLOSE_AUTH_TIMEOUT);
  });

  it('does not close an authenticated connection at the timeout', async () => {
    const client = track(await signedIn(server.wsUrl));
    await expect(client.nothingWithin(500)).resolves.toBe(true);
    expect(await client.request({ type: 'echo', message: 'still here' }, 'echo')).toBeTruthy();
  });

  it('closes with token_expired then 4002 when exp (plus the tolerance) passes', async () => {
    const expiring = await startApp({ AUTH_MODE: 'jwt', JWT_SECRET: SECRET, JWT_CLOCK_TOLERANCE_S: '0' });
    try {
      // `exp` is in whole seconds: a ttl of 1 can be over before the token is verified, 2 cannot.
      const client = await signedIn(expiring.wsUrl, { ttl: 2 });
      expect(await client.next('error', 4000)).toMatchObject({ code: 'token_expired' });
      expect((await client.closed).code).toBe(CLOSE_TOKEN_EXPIRED);
    } finally {
      await expiring.close();
    }
  });

  it('a refresh for the same user extends the session', async () => {
    const expiring = await startApp({ AUTH_MODE: 'jwt', JWT_SECRET: SECRET, JWT_CLOCK_TOLERANCE_S: '0' });
    try {
      const client = await signedIn(expiring.wsUrl, { ttl: 2 });
      const reply = await client.request({ type: 'auth', token: await sign({ ttl: 3600 }) }, 'authenticated');
      expect(reply.ttl).toBeGreaterThan(3500);
      await expect(client.nothingWithin(3100)).resolves.toBe(true); // past the first token's exp
      client.close();
    } finally {
      await expiring.close();
    }
  });

  it('a refresh for another user gets forbidden, then 4003', async () => {
    const client = await signedIn(server.wsUrl, { sub: 'alice' });
    expect(
      await client.request({ type: 'auth', token: await sign({ sub: 'mallory' }) }, 'error'),
    ).toMatchObject({
      code: 'forbidden',
      event: 'auth',
    });
    expect((await client.closed).code).toBe(CLOSE_FORBIDDEN);
  });

  it('a refresh that no longer grants a private room leaves it, with reason permission_revoked, and the room delivers nothing more', async () => {
    const [alice, bob] = [
      track(await signedIn(server.wsUrl, { sub: 'alice', rooms: ['private:team-7:*'] })),
      track(await signedIn(server.wsUrl, { sub: 'bob', rooms: ['private:team-7:*'] })),
    ];
    await joinAll([alice, bob], 'private:team-7:a');
    await alice.request({ type: 'join', room: 'lobby' }, 'joined');
    alice.send({ type: 'auth', token: await sign({ sub: 'alice', rooms: ['private:team-8:*'] }) });
    expect(await alice.next('left')).toEqual({
      type: 'left',
      room: 'private:team-7:a',
      members: 1,
      reason: 'permission_revoked',
    });
    expect(await alice.next('authenticated')).toMatchObject({ user: 'alice' });
    bob.send({ type: 'message', room: 'private:team-7:a', message: 'secret' });
    await expect(alice.nothingWithin(200)).resolves.toBe(true);
    // The public room it was in stays joined.
    const carol = track(await signedIn(server.wsUrl, { sub: 'carol' }));
    await carol.request({ type: 'join', room: 'lobby' }, 'joined');
    alice.send({ type: 'message', room: 'lobby', message: 'still here' });
    expect(await carol.next('message')).toMatchObject({ room: 'lobby', user: 'alice' });
  });

  it('a refused refresh closes the connection: invalid_token (4001)', async () => {
    const client = await signedIn(server.wsUrl);
    expect(await client.request({ type: 'auth', token: 'garbage' }, 'error')).toMatchObject({
      code: 'invalid_token',
    });
    expect((await client.closed).code).toBe(CLOSE_INVALID_TOKEN);
  });
});

describe('identity in frames', () => {
  let server: RunningApp;
  const clients: TestClient[] = [];
  beforeAll(async () => {
    server = await startApp({ JWT_SECRET: SECRET });
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(() => server.close());

  it("carries the verified user and the token's name, ignoring join's name; anonymous senders have no user", async () => {
    const alice = await signedIn(server.wsUrl, { sub: 'user-1', name: 'Alice' });
    const anon = await TestClient.connect(server.wsUrl);
    clients.push(alice, anon);
    await alice.request({ type: 'join', room: 'r1', name: 'Impostor' }, 'joined');
    await anon.request({ type: 'join', room: 'r1', name: 'Anon' }, 'joined');
    alice.send({ type: 'message', message: 'hi' });
    expect(await anon.next('message')).toMatchObject({
      room: 'r1',
      message: 'hi',
      from: 'Alice',
      user: 'user-1',
    });
    anon.send({ type: 'message', message: 'hello' });
    const fromAnon = await alice.next('message');
    expect(fromAnon).toMatchObject({ from: 'Anon' });
    expect(fromAnon).not.toHaveProperty('user');
    alice.send({ type: 'broadcast', message: 'all' });
    expect(await anon.next('broadcast')).toMatchObject({ from: 'Alice', user: 'user-1' });
    expect(await alice.next('broadcast')).toMatchObject({ from: 'Alice', user: 'user-1' });
  });

  it('uses sub as the display name when the token has no name', async () => {
    const [bob, anon] = [
      await signedIn(server.wsUrl, { sub: 'bob' }),
      await TestClient.connect(server.wsUrl),
    ];
    clients.push(bob, anon);
    await joinAll([bob, anon], 'r2');
    bob.send({ type: 'message', message: 'hi' });
    expect(await anon.next('message')).toMatchObject({ from: 'bob', user: 'bob' });
  });
});

describe('npm run token', () => {
  const run = (args: string[], env: Record<string, string>) =>
    spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', 'scripts/token.ts', ...args], {
      cwd: join(__dirname, '..'),
      env: { PATH: process.env.PATH, ...env },
      encoding: 'utf8',
    });

  it('prints a token the service started with the same JWT_SECRET accepts, with the claims asked for', async () => {
    const env = { JWT_SECRET: SECRET, JWT_AUDIENCE: 'chat' };
    const { stdout, status } = run(
      ['--sub', 'alice', '--name', 'Alice', '--rooms', 'private:team-7:*', '--ttl', '60'],
      env,
    );
    expect(status).toBe(0);
    const server = await startApp({ AUTH_MODE: 'jwt', ...env });
    try {
      const client = await TestClient.connect(server.wsUrl);
      const reply = await client.request({ type: 'auth', token: stdout.trim() }, 'authenticated');
      expect(reply).toMatchObject({ user: 'alice', name: 'Alice' });
      expect(reply.ttl).toBeLessThanOrEqual(60);
      expect(await client.request({ type: 'join', room: 'private:team-7:a' }, 'joined')).toBeTruthy();
      client.close();
    } finally {
      await server.close();
    }
  }, 30_000);

  it('refuses to run without JWT_SECRET or --sub, saying how to use it', () => {
    expect(run(['--sub', 'alice'], {})).toMatchObject({
      status: 1,
      stderr: expect.stringMatching(/Set JWT_SECRET/),
    });
    expect(run([], { JWT_SECRET: SECRET })).toMatchObject({
      status: 1,
      stderr: expect.stringMatching(/usage: npm run token/),
    });
  }, 30_000);
});

describe('AUTH_MODE=open', () => {
  let server: RunningApp;
  beforeAll(async () => {
    server = await startApp({ JWT_SECRET: SECRET });
  });
  afterAll(() => server.close());

  it('refuses an invalid token rather than treating the client as anonymous', async () => {
    const client = await TestClient.connect(server.wsUrl);
    await client.request({ type: 'join', room: 'lobby' }, 'joined');
    expect(
      await client.request({ type: 'auth', token: await sign({}, new Uint8Array(32)) }, 'error'),
    ).toMatchObject({
      code: 'invalid_token',
    });
    expect((await client.closed).code).toBe(CLOSE_INVALID_TOKEN);
    // It left its rooms on the way out.
    await request(server.httpUrl).get('/rooms/lobby').expect(404);
  });

  it('refuses every token when no key is configured', async () => {
    const keyless = await startApp({});
    try {
      const client = await TestClient.connect(keyless.wsUrl);
      expect(await client.request({ type: 'auth', token: await sign() }, 'error')).toMatchObject({
        code: 'invalid_token',
        message: expect.stringMatching(/no key/),
      });
      expect((await client.closed).code).toBe(CLOSE_INVALID_TOKEN);
    } finally {
      await keyless.close();
    }
  });
});
