import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { loadConfig } from './load-config';

const SECRET = 's'.repeat(32);
const pem = (type: 'rsa' | 'rsa-pss' | 'ec' | 'ed25519' | 'dsa', options: object = {}) =>
  (
    generateKeyPairSync(type as 'rsa', { modulusLength: 2048, ...options } as never)
      .publicKey as unknown as KeyObject
  )
    .export({ type: 'spki', format: 'pem' })
    .toString();
const RSA_PEM = pem('rsa');

describe('the JWT settings', () => {
  it('refuse AUTH_MODE=jwt without a key, naming the variables that would give one', () => {
    expect(() => loadConfig({ AUTH_MODE: 'jwt' })).toThrow(
      /AUTH_MODE=jwt[^]*JWT_SECRET[^]*JWT_PUBLIC_KEY[^]*JWT_JWKS_URL/,
    );
  });

  it('refuse more than one key', () => {
    expect(() => loadConfig({ JWT_SECRET: SECRET, JWT_JWKS_URL: 'https://idp.example/jwks' })).toThrow(
      /one of JWT_SECRET, JWT_PUBLIC_KEY and JWT_JWKS_URL, not JWT_SECRET and JWT_JWKS_URL/,
    );
  });

  it('refuse a secret shorter than 32 bytes', () => {
    expect(() => loadConfig({ JWT_SECRET: 's'.repeat(31) })).toThrow(/JWT_SECRET must be at least 32 bytes/);
  });

  it.each([
    ['not a key', /JWT_PUBLIC_KEY must be a PEM public key/],
    [pem('dsa', { modulusLength: 2048, divisorLength: 224 }), /JWT_PUBLIC_KEY[^]*dsa/],
  ])('refuse a public key that is none, or has no JWS algorithm', (key, error) => {
    expect(() => loadConfig({ JWT_PUBLIC_KEY: key })).toThrow(error);
  });

  it('refuse algorithms the key cannot verify, or that do not exist', () => {
    expect(() => loadConfig({ JWT_PUBLIC_KEY: RSA_PEM, JWT_ALGORITHMS: 'RS256,HS256' })).toThrow(
      /JWT_ALGORITHMS names HS256, which JWT_PUBLIC_KEY cannot verify/,
    );
    expect(() => loadConfig({ JWT_SECRET: SECRET, JWT_ALGORITHMS: 'none' })).toThrow(
      /JWT_ALGORITHMS must be/,
    );
  });

  it.each([
    [{ JWT_SECRET: SECRET }, ['HS256', 'HS384', 'HS512']],
    [{ JWT_PUBLIC_KEY: RSA_PEM }, ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']],
    [{ JWT_PUBLIC_KEY: pem('rsa-pss') }, ['PS256', 'PS384', 'PS512']],
    [{ JWT_PUBLIC_KEY: pem('ec', { namedCurve: 'P-384' }) }, ['ES384']],
    [{ JWT_PUBLIC_KEY: pem('ed25519') }, ['EdDSA', 'Ed25519']],
    [{ JWT_SECRET: SECRET, JWT_ALGORITHMS: 'HS512' }, ['HS512']],
  ])('default the algorithms to those of the key type (%#)', (env, algorithms) => {
    expect(loadConfig(env).jwt?.algorithms).toEqual(algorithms);
  });

  it('read a PEM written on one line with \\n for its line breaks', () => {
    const oneLine = RSA_PEM.trim().replace(/\n/g, '\\n');
    expect(loadConfig({ JWT_PUBLIC_KEY: oneLine }).jwt?.key.kind).toBe('public-key');
  });

  it('read the key set settings and the claim checks', () => {
    expect(
      loadConfig({
        AUTH_MODE: 'jwt',
        JWT_JWKS_URL: 'https://idp.example/.well-known/jwks.json',
        JWT_JWKS_COOLDOWN_S: '10',
        JWT_AUDIENCE: 'chat',
        JWT_ISSUER: 'https://idp.example/',
        JWT_CLOCK_TOLERANCE_S: '5',
      }),
    ).toMatchObject({
      authMode: 'jwt',
      jwt: {
        key: { kind: 'jwks', cooldownMs: 10_000, maxAgeMs: 600_000 },
        audience: 'chat',
        issuer: 'https://idp.example/',
        clockToleranceS: 5,
      },
    });
  });

  it.each([
    ['AUTH_MODE', 'token'],
    ['AUTH_TIMEOUT_MS', '10'],
    ['JWT_JWKS_URL', 'file:///etc/keys.json'],
    ['JWT_CLOCK_TOLERANCE_S', '-1'],
    ['PRIVATE_ROOM_PREFIX', 'private room/'],
  ])('refuse %s=%s, naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`^Refusing to start[^]*\\b${name}\\b`));
  });
});
