import type { OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from 'rate-limiter-flexible';
import { createCommandClient, type RedisClient, type RedisTarget } from '../cluster/redis-clients';
import type { AppConfig } from '../config/load-config';

/** Injection token of the ConnectRate, or of null when CONNECT_RATE_PER_IP is 0. */
export const CONNECT_RATE = 'CONNECT_RATE';

/**
 * Upgrades per client address (CONNECT_RATE_PER_IP, CONNECT_BURST_PER_IP), counted by
 * rate-limiter-flexible in fixed windows: CONNECT_BURST_PER_IP upgrades in each window of
 * CONNECT_BURST_PER_IP / CONNECT_RATE_PER_IP seconds (rounded up, as Redis expires keys in
 * whole seconds), so a burst passes at once and the average stays within the rate.
 */
export class ConnectRate {
  constructor(private readonly limiter: RateLimiterAbstract) {}

  /** 0 when `address` may upgrade now (and is counted), else the milliseconds until it may. */
  consume(address: string): Promise<number> {
    return this.limiter.consume(address).then(() => 0, waitOf);
  }
}

/**
 * Cluster mode: the counts live in Redis, under REDIS_PREFIX, so every instance sees an
 * address's upgrades to all of them. While Redis is away each instance counts in memory by
 * itself (rate-limiter-flexible's insurance limiter), with the same limits.
 */
export class RedisConnectRate extends ConnectRate implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    private readonly client: RedisClient,
    limits: RateLimits,
    prefix: string,
  ) {
    super(
      new RateLimiterRedis({
        ...limits,
        storeClient: client, // ioredis, a server or a Cluster: the default client kind
        keyPrefix: `${prefix}:connect-rate`,
        // Not ready: go to the insurance at once rather than wait for a command to fail.
        rejectIfRedisNotReady: true,
        insuranceLimiter: new RateLimiterMemory(limits),
      }),
    );
    // The engine logs Redis's outages; this connection only needs them not to be unhandled.
    client.on('error', () => undefined);
  }

  /** Connects before the app listens; a Redis that is away does not stop the start: the insurance counts meanwhile. */
  async onApplicationBootstrap(): Promise<void> {
    // A failed first attempt is retried until Redis answers (redis-clients.ts).
    await this.client.connect().catch(() => undefined);
  }

  onApplicationShutdown(): void {
    this.client.disconnect();
  }
}

type RateLimits = { points: number; duration: number };

type ConnectRateConfig = Pick<
  AppConfig,
  'connectRatePerIp' | 'connectBurstPerIp' | 'redisUrl' | 'redisClusterNodes' | 'redisPrefix'
>;

/** The connect rate the configuration asks for: none, in memory, or in Redis in cluster mode. */
export function connectRate(config: ConnectRateConfig): ConnectRate | null {
  const { connectRatePerIp: rate, connectBurstPerIp: burst, redisUrl, redisClusterNodes } = config;
  if (rate === 0) return null;
  const limits: RateLimits = { points: burst, duration: Math.ceil(burst / rate) };
  if (!redisUrl && !redisClusterNodes) return new ConnectRate(new RateLimiterMemory(limits));
  const target: RedisTarget = redisUrl ? { url: redisUrl } : { clusterNodes: redisClusterNodes! };
  return new RedisConnectRate(createCommandClient(target, 'limits'), limits, config.redisPrefix);
}

function waitOf(refusal: unknown): number {
  if (refusal instanceof RateLimiterRes) return Math.max(1, refusal.msBeforeNext);
  throw refusal; // a store error with no insurance: not a refusal
}
