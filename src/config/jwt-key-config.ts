import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { type EnvSchema, type JwtAlgorithm } from './env.schema';

/** How tokens are verified: the one key source that is set, the algorithms it accepts, and the claim checks. */
export interface JwtKeyConfig {
  readonly key:
    // A KeyObject, not bytes: jose keeps the CryptoKey it makes of a KeyObject (per algorithm),
    // where it would import raw bytes again for every token (40% of a verification's CPU).
    | { readonly kind: 'secret'; readonly secret: KeyObject }
    | { readonly kind: 'public-key'; readonly publicKey: KeyObject }
    | { readonly kind: 'jwks'; readonly url: URL; readonly cooldownMs: number; readonly maxAgeMs: number };
  readonly algorithms: readonly JwtAlgorithm[];
  readonly audience: string | undefined;
  readonly issuer: string | undefined;
  readonly clockToleranceS: number;
}

const HMAC: readonly JwtAlgorithm[] = ['HS256', 'HS384', 'HS512'];
const RSA: readonly JwtAlgorithm[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
// Node names the curves as OpenSSL does.
const EC_BY_CURVE: Record<string, JwtAlgorithm> = {
  prime256v1: 'ES256',
  secp384r1: 'ES384',
  secp521r1: 'ES512',
};
const ED25519: readonly JwtAlgorithm[] = ['EdDSA', 'Ed25519'];
// A key set's keys each name their own type; any asymmetric algorithm may be among them.
const ASYMMETRIC: readonly JwtAlgorithm[] = [...RSA, 'ES256', 'ES384', 'ES512', ...ED25519];
/** RFC 7518 section 3.2: an HMAC key at least as long as the hash; 32 bytes for HS256. */
const MIN_SECRET_BYTES = 32;

/** Every reason the JWT_* variables cannot work together; empty when they can. */
export function jwtKeyProblems(s: EnvSchema): string[] {
  const set = keyVariables(s);
  if (set.length > 1)
    return [`Set one of JWT_SECRET, JWT_PUBLIC_KEY and JWT_JWKS_URL, not ${set.join(' and ')}`];
  if (set.length === 0) {
    return s.AUTH_MODE === 'jwt'
      ? ['AUTH_MODE=jwt needs a key to verify tokens: set JWT_SECRET, JWT_PUBLIC_KEY or JWT_JWKS_URL']
      : [];
  }
  if (s.JWT_SECRET !== undefined && Buffer.byteLength(s.JWT_SECRET) < MIN_SECRET_BYTES) {
    return [`JWT_SECRET must be at least ${MIN_SECRET_BYTES} bytes (HS256 needs a key as long as its hash)`];
  }
  let fitting: readonly JwtAlgorithm[];
  try {
    fitting = algorithmsFor(s);
  } catch (err) {
    return [`JWT_PUBLIC_KEY must be a PEM public key (SPKI or PKCS#1): ${(err as Error).message}`];
  }
  const misfits = pinned(s)?.filter((alg) => !fitting.includes(alg)) ?? [];
  if (misfits.length > 0) {
    return [
      `JWT_ALGORITHMS names ${misfits.join(', ')}, which ${set[0]} cannot verify (it can: ${fitting.join(', ')})`,
    ];
  }
  return [];
}

/** Undefined when no key is set; call after jwtKeyProblems found none. */
export function toJwtKeyConfig(s: EnvSchema): JwtKeyConfig | undefined {
  if (keyVariables(s).length === 0) return undefined;
  return Object.freeze({
    key: keyOf(s),
    algorithms: Object.freeze([...(pinned(s) ?? algorithmsFor(s))]),
    audience: s.JWT_AUDIENCE,
    issuer: s.JWT_ISSUER,
    clockToleranceS: s.JWT_CLOCK_TOLERANCE_S,
  });
}

function keyVariables(s: EnvSchema): string[] {
  const names = ['JWT_SECRET', 'JWT_PUBLIC_KEY', 'JWT_JWKS_URL'] as const;
  return names.filter((name) => s[name] !== undefined);
}

function keyOf(s: EnvSchema): JwtKeyConfig['key'] {
  if (s.JWT_SECRET !== undefined)
    return { kind: 'secret', secret: createSecretKey(Buffer.from(s.JWT_SECRET)) };
  if (s.JWT_PUBLIC_KEY !== undefined) return { kind: 'public-key', publicKey: publicKeyOf(s.JWT_PUBLIC_KEY) };
  return {
    kind: 'jwks',
    url: new URL(s.JWT_JWKS_URL!),
    cooldownMs: s.JWT_JWKS_COOLDOWN_S * 1000,
    maxAgeMs: s.JWT_JWKS_MAX_AGE_S * 1000,
  };
}

/** The algorithms the configured key can verify: a default for JWT_ALGORITHMS, and its bound. */
function algorithmsFor(s: EnvSchema): readonly JwtAlgorithm[] {
  if (s.JWT_SECRET !== undefined) return HMAC;
  if (s.JWT_JWKS_URL !== undefined) return ASYMMETRIC;
  const key = publicKeyOf(s.JWT_PUBLIC_KEY!);
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return RSA;
    case 'rsa-pss':
      return RSA.filter((alg) => alg.startsWith('PS'));
    case 'ec': {
      const alg = EC_BY_CURVE[key.asymmetricKeyDetails?.namedCurve ?? ''];
      if (!alg) throw new Error(`the curve ${key.asymmetricKeyDetails?.namedCurve} has no JWS algorithm`);
      return [alg];
    }
    case 'ed25519':
      return ED25519;
    default:
      throw new Error(`a ${key.asymmetricKeyType} key has no JWS algorithm here`);
  }
}

function pinned(s: EnvSchema): JwtAlgorithm[] | undefined {
  return s.JWT_ALGORITHMS?.split(',') as JwtAlgorithm[] | undefined;
}

// An env file often holds a PEM on one line with its line breaks written as \n.
function publicKeyOf(pem: string): KeyObject {
  const key = createPublicKey(pem.replace(/\\n/g, '\n'));
  if (key.type !== 'public') throw new Error('not a public key');
  return key;
}
