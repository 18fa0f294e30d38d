import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RedisClient } from '../cluster/redis-clients';

/**
 * API_RATE_LIMIT_PER_S per key, in one-second windows: counted in Redis in cluster mode, so
 * the limit holds however requests are spread over instances, and in this instance's memory
 * while Redis is away (the limit then holds per instance).
 */
export class ApiRateLimit {
  private readonly limiter: RateLimiterMemory | RateLimiterRedis | undefined;

  constructor(perSecond: number, redis?: { client: RedisClient; prefix: string }) {
    if (perSecond === 0) return;
    const memory = new RateLimiterMemory({ points: perSecond, duration: 1 });
    this.limiter = redis
      ? new RateLimiterRedis({
          storeClient: redis.client,
          keyPrefix: `${redis.prefix}:api-rate`,
          points: perSecond,
          duration: 1,
          rejectIfRedisNotReady: true,
          insuranceLimiter: memory,
        })
      : memory;
  }

  /** Undefined when the key may go on; else the milliseconds until it may. */
  async take(keyId: string): Promise<number | undefined> {
    if (!this.limiter) return undefined;
    try {
      await this.limiter.consume(keyId);
      return undefined;
    } catch (refused) {
      if (refused instanceof RateLimiterRes) return refused.msBeforeNext;
      throw refused;
    }
  }
}
