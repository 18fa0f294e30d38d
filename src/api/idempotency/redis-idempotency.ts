import { createHash } from 'node:crypto';
import type { RedisClient } from '../../cluster/redis-clients';
import { IN_FLIGHT_MS, type Claim, type IdempotencyStore, judge, type Kept } from './idempotency-store';

// What is kept, or, when nothing is, the claim made: one round trip, and no two requests can
// both find the key free.
const CLAIM = `
local kept = redis.call('GET', KEYS[1])
if kept then return kept end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false`;

// Only this request's own claim is freed: never an answer, nor a later request's claim.
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0`;

type Scripts = {
  apiIdempotencyClaim(key: string, claim: string, ms: number): Promise<string | null>;
  apiIdempotencyRelease(key: string, claim: string): Promise<number>;
};

/**
 * Keys in Redis, shared by every instance, so a retry sent to another instance is caught too.
 * One Redis key per (API key, Idempotency-Key), its name hashed so any characters are fine.
 */
export class RedisIdempotency implements IdempotencyStore {
  private readonly scripts: Scripts;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly ttlMs: number,
  ) {
    if (!('apiIdempotencyClaim' in redis)) {
      redis.defineCommand('apiIdempotencyClaim', { lua: CLAIM, numberOfKeys: 1 });
      redis.defineCommand('apiIdempotencyRelease', { lua: RELEASE, numberOfKeys: 1 });
    }
    this.scripts = redis as unknown as Scripts;
  }

  async claim(scope: string, key: string, fingerprint: string): Promise<Claim> {
    const claim = JSON.stringify({ f: fingerprint } satisfies Kept);
    const kept = await this.scripts.apiIdempotencyClaim(
      this.key(scope, key),
      claim,
      Math.min(IN_FLIGHT_MS, this.ttlMs),
    );
    return kept === null ? { kind: 'new' } : judge(JSON.parse(kept) as Kept, fingerprint);
  }

  async complete(scope: string, key: string, fingerprint: string, body: unknown): Promise<void> {
    const kept = JSON.stringify({ f: fingerprint, b: body, done: true } satisfies Kept);
    await this.redis.set(this.key(scope, key), kept, 'PX', this.ttlMs);
  }

  async release(scope: string, key: string, fingerprint: string): Promise<void> {
    await this.scripts.apiIdempotencyRelease(this.key(scope, key), JSON.stringify({ f: fingerprint }));
  }

  private key(scope: string, key: string): string {
    const hashed = createHash('sha256').update(key).digest('base64url');
    return `${this.prefix}:idem:${scope}:${hashed}`;
  }
}
