import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AuthModule } from '../auth/auth.module';
import { createCommandClient, type RedisClient, redisTarget } from '../cluster/redis-clients';
import type { AppConfigService } from '../config/config.module';
import { RoomsModule } from '../rooms/rooms.module';
import { ApiFallbackController } from './api-fallback.controller';
import { API_KEYS } from './api-key.guard';
import { ApiMessagesController } from './api-messages.controller';
import { ApiRateLimit } from './api-rate-limit';
import { ApiRoomsController } from './api-rooms.controller';
import { ApiUsersController } from './api-users.controller';
import { IDEMPOTENCY_STORE, type IdempotencyStore } from './idempotency/idempotency-store';
import { MemoryIdempotency } from './idempotency/memory-idempotency';
import { RedisIdempotency } from './idempotency/redis-idempotency';

const API_REDIS = Symbol('ApiRedis');

/**
 * The HTTP API for the app's backend, under /api/v1: present only when API_KEYS is set. In
 * cluster mode its rate limits and Idempotency-Keys live in Redis, on a connection of its own.
 */
@Module({
  imports: [RoomsModule, AuthModule],
  // The fallback last: it answers whatever the others do not.
  controllers: [ApiMessagesController, ApiRoomsController, ApiUsersController, ApiFallbackController],
  providers: [
    {
      provide: API_KEYS,
      inject: [ConfigService],
      useFactory: (config: AppConfigService) => config.get('api', { infer: true })!.keys,
    },
    {
      provide: API_REDIS,
      inject: [ConfigService],
      useFactory: (config: AppConfigService): RedisClient | undefined => {
        const target = redisTarget(config);
        if (!target) return undefined;
        const client = createCommandClient(target, 'rooms-api');
        client.connect().catch(() => undefined); // it retries on its own; requests meanwhile get 503
        client.on('error', () => undefined); // the engine reports Redis's state
        return client;
      },
    },
    {
      provide: ApiRateLimit,
      inject: [ConfigService, API_REDIS],
      useFactory: (config: AppConfigService, redis: RedisClient | undefined) =>
        new ApiRateLimit(
          config.get('api', { infer: true })!.ratePerS,
          redis && { client: redis, prefix: config.get('redisPrefix', { infer: true }) },
        ),
    },
    {
      provide: IDEMPOTENCY_STORE,
      inject: [ConfigService, API_REDIS],
      useFactory: (config: AppConfigService, redis: RedisClient | undefined): IdempotencyStore => {
        const { idempotencyTtlMs, idempotencyMaxKeys } = config.get('history', { infer: true });
        return redis
          ? new RedisIdempotency(redis, config.get('redisPrefix', { infer: true }), idempotencyTtlMs)
          : new MemoryIdempotency(idempotencyTtlMs, idempotencyMaxKeys);
      },
    },
  ],
})
export class ApiModule implements OnApplicationShutdown {
  constructor(@Inject(API_REDIS) private readonly redis: RedisClient | undefined) {}

  async onApplicationShutdown(): Promise<void> {
    this.redis?.disconnect();
  }
}
