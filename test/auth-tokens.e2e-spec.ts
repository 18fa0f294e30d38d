import { randomBytes } from 'node:crypto';
import { type IncomingHttpHeaders, request } from 'node:http';
import { CLOSE_INVALID_TOKEN, CLOSE_TOKEN_EXPIRED } from '../src/gateway/close-codes';
import { type RunningApp, startApp } from './support/app';
import { JwksServer, rsaKeys, SECRET, sign, type TokenOptions, unsigned } from './support/tokens';
import { TestClient, upgradeAnswer } from './support/ws-client';

const AUD = 'chat';
const ISS = 'https://issuer.test';
const now = () => Math.floor(Date.now() / 1000);
const valid = (options: TokenOptions = {}) => sign({ aud: AUD, iss: ISS, ...options });
const b64 = (text: string) => Buffer.from(text).toString('base64url');

/** Sends the token as the first frame; returns the error frame and the close that follows it. */
async function asFirstFrame(url: string, token: string) {
  const client = await TestClient.connect(url);
  const error = await client.request({ type: 'auth', token }, 'error');
  return { code: error.code, event: error.event, close: (await client.closed).code };
}

/** An upgrade request by hand, for answers a ws client would refuse to complete. */
function rawUpgrade(url: string, headers: Record<string, string>): Promise<{ status: number; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = request(url.replace(/^ws/, 'http'), {
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
        ...headers,
      },
    });
    req.once('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode!, headers: res.headers });
    });
    req.once('response', (res) => resolve({ status: res.statusCode!, headers: res.headers }));
    req.once('error', reject);
    req.end();
  });
}

const viaHeader = (url: string, token: string) => upgradeAnswer(url, { headers: { Authorization: `Bearer ${token}` } });
const viaProtocol = (url: string, token: string) => upgradeAnswer(url, { protocols: ['rooms.v1', `rooms.token.${token}`] });

describe('tokens (AUTH_MODE=jwt, HS256 with audience and issuer)', () => {
  let server: RunningApp;
  beforeAll(async () => {
    server = await startApp({ AUTH_MODE: 'jwt', JWT_SECRET: SECRET, JWT_AUDIENCE: AUD, JWT_ISSUER: ISS });
  });
  afterAll(() => server.close());

  const invalid: [string, () => Promise<string> | string][] = [
    ['a wrong signature', () => sign({ aud: AUD, iss: ISS }, new TextEncoder().encode('another-secret-of-thirty-two-byt'))],
    ['alg: none', () => unsigned({ sub: 'alice', exp: now() + 3600, aud: AUD, iss: ISS })],
    ['a wrong aud', () => valid({ aud: 'other' })],
    ['a wrong iss', () => valid({ iss: 'https://evil.test' })],
    ['no exp', () => valid({ exp: false })],
    ['no sub', () => valid({ sub: undefined })],
    ['an empty sub', () => valid({ sub: '' })],
    ['a sub that is not a string', () => valid({ sub: 42 })],
    ['a future nbf', () => valid({ nbf: now() + 600 })],
    ['a rooms claim that is not a list of room names', () => valid({ rooms: ['ok', 'not ok'] })],
    ['a name with a control character', () => valid({ name: 'a\u0007b' })],
    ['an expired token whose sub is empty', () => valid({ sub: '', ttl: -600 })],
    ['one segment', () => 'abc'],
    ['two segments', () => 'abc.def'],
    ['bad base64', () => '!!!.@@@.###'],
    ['a header that is not JSON', () => `${b64('not json')}.${b64('{}')}.c2ln`],
    ['10 KB of garbage', () => 'x'.repeat(10 * 1024)],
    ['an empty string', () => ''],
  ];

  it.each(invalid)('refuses %s in the first frame: invalid_token, then 4001', async (_, token) => {
    expect(await asFirstFrame(server.wsUrl, await token())).toEqual({
      code: 'invalid_token',
      event: 'auth',
      close: CLOSE_INVALID_TOKEN,
    });
  });

  it.each(invalid.filter(([name]) => name !== 'an empty string'))(
    'refuses %s at the upgrade with 401, in the header and as a subprotocol',
    async (_, token) => {
      const text = await token();
      const header = await viaHeader(server.wsUrl, text);
      expect(header.status).toBe(401);
      expect(header.headers['www-authenticate']).toMatch(/^Bearer error="invalid_(token|request)"/);
      // A subprotocol must be a token of HTTP characters: ws will not send some of these at all.
      if (/^[A-Za-z0-9._~-]+$/.test(text)) expect((await viaProtocol(server.wsUrl, text)).status).toBe(401);
    },
  );

  it('refuses an expired token: token_expired then 4002 in a frame, 401 at the upgrade', async () => {
    const expired = await valid({ ttl: -600 });
    expect(await asFirstFrame(server.wsUrl, expired)).toEqual({
      code: 'token_expired',
      event: 'auth',
      close: CLOSE_TOKEN_EXPIRED,
    });
    const answer = await viaHeader(server.wsUrl, expired);
    expect(answer.status).toBe(401);
    expect(answer.headers['www-authenticate']).toMatch(/expired/);
  });

  it('accepts a token within the clock tolerance (30 s) of its exp', async () => {
    const client = await TestClient.connect(server.wsUrl);
    const reply = await client.request({ type: 'auth', token: await valid({ ttl: -10 }) }, 'authenticated');
    expect(reply).toMatchObject({ user: 'alice', ttl: 0 });
    client.close();
  });

  it('authenticates a good token in the first frame, in either envelope', async () => {
    const token = await valid({ name: 'Alice', ttl: 600 });
    const flat = await TestClient.connect(server.wsUrl);
    const reply = await flat.request({ type: 'auth', token }, 'authenticated');
    expect(reply).toEqual({ type: 'authenticated', user: 'alice', name: 'Alice', exp: expect.any(Number), ttl: expect.any(Number) });
    expect(reply.ttl).toBeGreaterThan(590);
    expect(reply.ttl).toBeLessThanOrEqual(600);
    const nest = await TestClient.connect(server.wsUrl);
    expect(await nest.request({ event: 'auth', data: { token } }, 'authenticated')).toMatchObject({ user: 'alice' });
    flat.close();
    nest.close();
  });

  it('authenticates at the upgrade, by header or subprotocol, answering rooms.v1 and never the token', async () => {
    const token = await valid({ name: 'Alice' });
    const byHeader = await TestClient.connect(server.wsUrl, { headers: { Authorization: `Bearer ${token}` } });
    expect(await byHeader.next('authenticated')).toMatchObject({ user: 'alice', name: 'Alice' });
    const byProtocol = await TestClient.connect(server.wsUrl, { protocols: ['rooms.v1', `rooms.token.${token}`] });
    expect(byProtocol.socket.protocol).toBe('rooms.v1');
    expect(await byProtocol.next('authenticated')).toMatchObject({ user: 'alice' });
    // Offered without rooms.v1, the token is still not echoed: no subprotocol is chosen (ws
    // clients then give up, browsers go on).
    const bare = await rawUpgrade(server.wsUrl, { 'Sec-WebSocket-Protocol': `rooms.token.${token}` });
    expect(bare.status).toBe(101);
    expect(bare.headers['sec-websocket-protocol']).toBeUndefined();
    byHeader.close();
    byProtocol.close();
  });

  it('refuses two tokens at once, and an Authorization header of another scheme', async () => {
    const token = await valid();
    const both = await upgradeAnswer(server.wsUrl, {
      headers: { Authorization: `Bearer ${token}` },
      protocols: ['rooms.v1', `rooms.token.${token}`],
    });
    expect(both.status).toBe(401);
    const basic = await upgradeAnswer(server.wsUrl, { headers: { Authorization: 'Basic YWxpY2U6c2VjcmV0' } });
    expect(basic.status).toBe(401);
  });

  it('never reads a token from the query string', async () => {
    const token = await valid();
    const client = await TestClient.connect(`${server.wsUrl}?token=${token}`);
    expect(await client.request({ type: 'join', room: 'r' }, 'error')).toMatchObject({ code: 'unauthenticated' });
    client.close();
  });

  it('answers an auth frame whose token is not a string with invalid_payload, and keeps the connection', async () => {
    const client = await TestClient.connect(server.wsUrl);
    expect(await client.request({ type: 'auth', token: 42 }, 'error')).toMatchObject({ code: 'invalid_payload', event: 'auth' });
    expect(await client.request({ type: 'auth', token: await valid() }, 'authenticated')).toMatchObject({ user: 'alice' });
    client.close();
  });
});

describe('tokens (JWT_PUBLIC_KEY, RS256)', () => {
  let server: RunningApp;
  let keys: Awaited<ReturnType<typeof rsaKeys>>;
  beforeAll(async () => {
    keys = await rsaKeys('k1');
    server = await startApp({ AUTH_MODE: 'jwt', JWT_PUBLIC_KEY: keys.publicPem });
  });
  afterAll(() => server.close());

  it('accepts a token signed with the private key', async () => {
    const client = await TestClient.connect(server.wsUrl);
    const token = await sign({ alg: 'RS256' }, keys.privateKey);
    expect(await client.request({ type: 'auth', token }, 'authenticated')).toMatchObject({ user: 'alice' });
    client.close();
  });

  it('refuses HS256 signed with the public key as its secret (algorithm confusion)', async () => {
    const confused = await sign({ alg: 'HS256' }, new TextEncoder().encode(keys.publicPem));
    expect(await asFirstFrame(server.wsUrl, confused)).toMatchObject({ code: 'invalid_token', close: CLOSE_INVALID_TOKEN });
    expect((await viaHeader(server.wsUrl, confused)).status).toBe(401);
  });
});

describe('tokens (JWT_ALGORITHMS)', () => {
  it('refuses a token signed with the right secret under an algorithm not pinned', async () => {
    const server = await startApp({ AUTH_MODE: 'jwt', JWT_SECRET: SECRET, JWT_ALGORITHMS: 'HS512' });
    try {
      const hs256 = await sign({ alg: 'HS256' });
      expect(await asFirstFrame(server.wsUrl, hs256)).toMatchObject({ code: 'invalid_token', close: CLOSE_INVALID_TOKEN });
      expect((await viaHeader(server.wsUrl, hs256)).status).toBe(401);
      const client = await TestClient.connect(server.wsUrl);
      expect(await client.request({ type: 'auth', token: await sign({ alg: 'HS512' }) })).toMatchObject({
        type: 'authenticated',
      });
      client.close();
    } finally {
      await server.close();
    }
  });
});

describe('tokens (JWT_JWKS_URL)', () => {
  let server: RunningApp;
  let jwks: Awaited<ReturnType<typeof JwksServer.start>>;
  let first: Awaited<ReturnType<typeof rsaKeys>>;
  let second: Awaited<ReturnType<typeof rsaKeys>>;
  beforeAll(async () => {
    [first, second] = await Promise.all([rsaKeys('k1'), rsaKeys('k2')]);
    jwks = await JwksServer.start([first.jwk]);
    server = await startApp({ AUTH_MODE: 'jwt', JWT_JWKS_URL: jwks.url, JWT_JWKS_COOLDOWN_S: '1' });
  });
  afterAll(async () => {
    await server.close();
    await jwks.close();
  });

  const auth = async (token: string) => {
    const client = await TestClient.connect(server.wsUrl);
    const reply = await client.request({ type: 'auth', token });
    client.close();
    return reply;
  };

  it('verifies with the key named by kid, fetching the set once and caching it', async () => {
    const token = await sign({ alg: 'RS256', kid: 'k1' }, first.privateKey);
    expect(await auth(token)).toMatchObject({ type: 'authenticated' });
    const fetches = jwks.fetches;
    expect(await auth(token)).toMatchObject({ type: 'authenticated' });
    expect(jwks.fetches).toBe(fetches);
  });

  it('refuses an unknown kid: invalid_token then 4001, and 401 at the upgrade', async () => {
    const token = await sign({ alg: 'RS256', kid: 'nope' }, second.privateKey);
    expect(await asFirstFrame(server.wsUrl, token)).toMatchObject({ code: 'invalid_token', close: CLOSE_INVALID_TOKEN });
    expect((await viaHeader(server.wsUrl, token)).status).toBe(401);
  });

  it('follows a key rotation: a new kid fetches the set again', async () => {
    jwks.keys = [second.jwk];
    // The cooldown (1 s) after the last fetch must pass before an unknown kid fetches again.
    const token = await sign({ alg: 'RS256', kid: 'k2' }, second.privateKey);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(await auth(token)).toMatchObject({ type: 'authenticated', user: 'alice' });
  });

  it('goes on with the last key set while the key set server fails, without a fetch per token', async () => {
    const failing = await JwksServer.start([first.jwk]);
    const app = await startApp({
      AUTH_MODE: 'jwt',
      JWT_JWKS_URL: failing.url,
      JWT_JWKS_MAX_AGE_S: '1',
      JWT_JWKS_COOLDOWN_S: '60',
    });
    const authOn = async (token: string) => {
      const client = await TestClient.connect(app.wsUrl);
      const reply = await client.request({ type: 'auth', token });
      client.close();
      return reply;
    };
    try {
      const known = await sign({ alg: 'RS256', kid: 'k1' }, first.privateKey);
      expect(await authOn(known)).toMatchObject({ type: 'authenticated' });
      failing.status = 500;
      await new Promise((resolve) => setTimeout(resolve, 1100)); // past JWT_JWKS_MAX_AGE_S
      expect(await authOn(known)).toMatchObject({ type: 'authenticated' });
      const fetches = failing.fetches;
      expect(await authOn(known)).toMatchObject({ type: 'authenticated' });
      // A kid the last set lacks may be in the set that could not be fetched: no verdict.
      const unknown = await sign({ alg: 'RS256', kid: 'k2' }, second.privateKey);
      expect(await authOn(unknown)).toMatchObject({ type: 'error', code: 'unavailable' });
      expect(failing.fetches).toBe(fetches); // the cooldown after the failure holds every fetch back
    } finally {
      await app.close();
      await failing.close();
    }
  });

  it('keeps the connection open with unavailable when the key set cannot be fetched', async () => {
    const unreachable = await startApp({ AUTH_MODE: 'jwt', JWT_JWKS_URL: 'http://127.0.0.1:1/jwks.json' });
    try {
      const token = await sign({ alg: 'RS256', kid: 'k1' }, first.privateKey);
      const client = await TestClient.connect(unreachable.wsUrl);
      expect(await client.request({ type: 'auth', token }, 'error')).toMatchObject({ code: 'unavailable', event: 'auth' });
      expect(await client.request({ type: 'echo', message: 'x' }, 'error')).toMatchObject({ code: 'unauthenticated' });
      client.close();
      expect((await viaHeader(unreachable.wsUrl, token)).status).toBe(503);
    } finally {
      await unreachable.close();
    }
  });
});
