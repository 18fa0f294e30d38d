/**
 * Idempotency-Key on the API's POSTs: what the first request with a key answered, kept for
 * IDEMPOTENCY_TTL_MS per API key, so a retry gets that answer instead of acting twice.
 */

/** What a request with a key finds. */
export type Claim =
  /** Nobody used the key: it is now this request's, in flight. */
  | { readonly kind: 'new' }
  /** A request with the same body succeeded: its answer. */
  | { readonly kind: 'replay'; readonly body: unknown }
  /** A request with the same body is still being handled. */
  | { readonly kind: 'in_flight' }
  /** The key was used with another body (or route). */
  | { readonly kind: 'mismatch' };

export interface IdempotencyStore {
  /** `scope`: the API key's id; `fingerprint`: the route and body the key goes with. */
  claim(scope: string, key: string, fingerprint: string): Promise<Claim>;
  /** The request succeeded: its answer is kept for the TTL. */
  complete(scope: string, key: string, fingerprint: string, body: unknown): Promise<void>;
  /** The request failed: the key is free again, so a retry acts. */
  release(scope: string, key: string, fingerprint: string): Promise<void>;
}

/** Injection token for the store ApiModule chose (Redis in cluster mode). */
export const IDEMPOTENCY_STORE = Symbol('IdempotencyStore');

/**
 * How long a claim holds without an answer: a request is handled in milliseconds, so past this
 * its instance died mid-request and the key is free again.
 */
export const IN_FLIGHT_MS = 60_000;

/** What is kept under a key: the fingerprint, and the answer once there is one. */
export interface Kept {
  readonly f: string;
  readonly b?: unknown;
  readonly done?: true;
}

export function judge(kept: Kept, fingerprint: string): Claim {
  if (kept.f !== fingerprint) return { kind: 'mismatch' };
  return kept.done ? { kind: 'replay', body: kept.b } : { kind: 'in_flight' };
}
