import { exportJWK, exportSPKI, generateKeyPair, type JWK, SignJWT } from 'jose';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A secret long enough for every HS algorithm's check (32 bytes). */
export const SECRET = 'test-secret-of-thirty-two-bytes!';
const secretKey = new TextEncoder().encode(SECRET);

export interface TokenOptions {
  sub?: string | number;
  name?: unknown;
  rooms?: unknown;
  /** Seconds from now; negative for a token already expired. */
  ttl?: number;
  /** Set to false for a token with no exp at all. */
  exp?: number | false;
  nbf?: number;
  aud?: string;
  iss?: string;
  alg?: string;
  kid?: string;
  /** Anything else in the payload. */
  extra?: Record<string, unknown>;
}

const now = () => Math.floor(Date.now() / 1000);

/** A token signed with `key` (the test secret by default), with claims that pass unless overridden. */
export async function sign(
  options: TokenOptions = {},
  key: CryptoKey | Uint8Array = secretKey,
): Promise<string> {
  const payload: Record<string, unknown> = { sub: 'alice', ...options.extra };
  if ('sub' in options) payload.sub = options.sub;
  if (options.name !== undefined) payload.name = options.name;
  if (options.rooms !== undefined) payload.rooms = options.rooms;
  if (options.exp !== false) payload.exp = options.exp ?? now() + (options.ttl ?? 3600);
  if (options.nbf !== undefined) payload.nbf = options.nbf;
  if (options.aud !== undefined) payload.aud = options.aud;
  if (options.iss !== undefined) payload.iss = options.iss;
  if (payload.sub === undefined) delete payload.sub;
  const header = { alg: options.alg ?? 'HS256', ...(options.kid && { kid: options.kid }) };
  return new SignJWT(payload).setProtectedHeader(header).sign(key);
}

/** An unsigned token (`alg: none`), which no configuration may accept. */
export function unsigned(payload: Record<string, unknown> = { sub: 'alice', exp: now() + 3600 }): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(payload)}.`;
}

export interface RsaKeys {
  privateKey: CryptoKey;
  publicPem: string;
  jwk: JWK;
}

export async function rsaKeys(kid: string): Promise<RsaKeys> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  return { privateKey, publicPem: await exportSPKI(publicKey), jwk };
}

/** A JSON Web Key Set served over HTTP on a free loopback port; `keys` may be swapped (rotation). */
export class JwksServer {
  keys: JWK[] = [];
  fetches = 0;
  /** Anything but 200 plays a key set server that fails. */
  status = 200;
  private constructor(private readonly server: Server) {}

  static async start(keys: JWK[]): Promise<JwksServer & { url: string }> {
    let jwks: JwksServer;
    const server = createServer((_req, res) => {
      jwks.fetches++;
      res.statusCode = jwks.status;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: jwks.keys }));
    });
    jwks = new JwksServer(server);
    jwks.keys = keys;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return Object.assign(jwks, { url: `http://127.0.0.1:${port}/jwks.json` });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
