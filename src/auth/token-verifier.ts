import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  type JSONWebKeySet,
  jwtVerify,
  type JWTVerifyGetKey,
  type KeyObject,
} from 'jose';
import type { JwtKeyConfig } from '../config/jwt-key-config';
import { type Identity, identityOf } from './identity';

/**
 * What a token proved. `invalid_token` and `token_expired` are the token's fault;
 * `unavailable` is ours (the key set could not be fetched) and the same token may pass later.
 */
export type Verified =
  | { ok: true; identity: Identity }
  | { ok: false; code: 'invalid_token' | 'token_expired' | 'unavailable'; message: string };

// Well over any real token; past it nothing is parsed.
const MAX_TOKEN_LENGTH = 16 * 1024;

/** The key set could not be had (unreachable, not 200, not a key set): no fault of the token. */
class KeySetUnavailable extends Error {}

/** Verifies tokens with jose against the configured key; every failure becomes a reason, never a throw. */
export class TokenVerifier {
  private readonly key: KeyObject | JWTVerifyGetKey | undefined;

  constructor(private readonly config: JwtKeyConfig | undefined) {
    const key = config?.key;
    if (key?.kind === 'secret') this.key = key.secret;
    else if (key?.kind === 'public-key') this.key = key.publicKey;
    else if (key?.kind === 'jwks') this.key = remoteKeySet(key);
  }

  async verify(token: string): Promise<Verified> {
    if (!this.config || !this.key) return invalid('This server has no key to verify tokens with');
    if (token.length > MAX_TOKEN_LENGTH) return invalid('The token is too long');
    const { algorithms, audience, issuer, clockToleranceS } = this.config;
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, this.key as KeyObject, {
        algorithms: [...algorithms],
        audience,
        issuer,
        clockTolerance: clockToleranceS,
        requiredClaims: ['sub', 'exp'],
      }));
    } catch (err) {
      return this.failure(err);
    }
    const identity = identityOf(payload);
    return typeof identity === 'string' ? invalid(identity) : { ok: true, identity };
  }

  private failure(err: unknown): Verified {
    // jose checks `exp` last, so an expired token passed every other check but its own
    // claims: those decide whether it is merely expired.
    if (err instanceof errors.JWTExpired) {
      const problem = identityOf(err.payload);
      return typeof problem === 'string' ? invalid(problem) : { ok: false, code: 'token_expired', message: 'The token has expired' };
    }
    if (err instanceof KeySetUnavailable) {
      return { ok: false, code: 'unavailable', message: 'The key set could not be fetched; try again shortly' };
    }
    if (err instanceof errors.JWKSNoMatchingKey) return invalid('No key in the key set matches the token');
    if (err instanceof errors.JWKSMultipleMatchingKeys) return invalid('More than one key in the key set matches the token');
    if (err instanceof errors.JWTClaimValidationFailed) return invalid(`The "${err.claim}" claim is not acceptable`);
    if (err instanceof errors.JOSEAlgNotAllowed) return invalid('The token is signed with an algorithm this server does not accept');
    if (err instanceof errors.JWSSignatureVerificationFailed) return invalid('The token signature does not verify');
    return invalid('The token is malformed');
  }
}

/**
 * Fetched on first use and cached for maxAge; a `kid` the cache lacks fetches it again, at most
 * once per cooldown. jose asks for the key only after the token parsed and its algorithm was
 * found acceptable, so a failure here other than "no such key" is the key set's, not the token's.
 * jose drops its cache when a fetch past maxAge fails, and would try again at the next token:
 * so that a short outage of the identity provider does not refuse everyone, nor meet every
 * upgrade with a fetch, the last set fetched stays in use, and after a failure the next fetch
 * waits a cooldown.
 */
function remoteKeySet(key: Extract<JwtKeyConfig['key'], { kind: 'jwks' }>): JWTVerifyGetKey {
  const remote = createRemoteJWKSet(key.url, { cooldownDuration: key.cooldownMs, cacheMaxAge: key.maxAgeMs });
  let fetched: JSONWebKeySet | undefined;
  let lastGood: JWTVerifyGetKey | undefined;
  let failedAt = -Infinity;
  // A kid the last set lacks may be in the one that could not be fetched: no verdict on the token.
  const stale: JWTVerifyGetKey = async (header, input) => {
    if (!lastGood) throw new KeySetUnavailable('key set unavailable');
    try {
      return await lastGood(header, input);
    } catch (err) {
      if (err instanceof errors.JWKSNoMatchingKey) throw new KeySetUnavailable('kid not in the last key set');
      throw err;
    }
  };
  return async (header, input) => {
    if (performance.now() - failedAt < key.cooldownMs) return stale(header, input);
    try {
      const found = await remote(header, input);
      const jwks = remote.jwks();
      if (jwks && jwks !== fetched) lastGood = createLocalJWKSet((fetched = jwks));
      return found;
    } catch (err) {
      if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) throw err;
      failedAt = performance.now();
      return stale(header, input);
    }
  };
}

function invalid(message: string): Verified {
  return { ok: false, code: 'invalid_token', message };
}
