import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { RedisEngine } from '../cluster/redis-engine';
import type { AppConfigService } from '../config/config.module';
import { MetricsModule } from '../metrics/metrics.module';
import { MetricsService } from '../metrics/metrics.service';
import { PresenceService } from '../presence/presence.service';
import { ROOMS_ENGINE, type RoomsEngine } from './engine';
import { MemoryEngine } from './memory-engine';
import { RoomsService } from './rooms.service';

/** RoomsService and PresenceService on the engine the configuration asks for: REDIS_URL or REDIS_CLUSTER_NODES set means cluster mode. */
@Module({
  imports: [MetricsModule],
  providers: [
    RoomsService,
    {
      provide: PresenceService,
      inject: [ConfigService, MetricsService],
      useFactory: (config: AppConfigService, metrics: MetricsService) =>
        new PresenceService(config.get('presence', { infer: true }), metrics.deliveries.presence),
    },
    {
      provide: ROOMS_ENGINE,
      inject: [ConfigService],
      useFactory: (config: AppConfigService): RoomsEngine => {
        const url = config.get('redisUrl', { infer: true });
        const clusterNodes = config.get('redisClusterNodes', { infer: true });
        if (!url && !clusterNodes) {
          return new MemoryEngine(
            config.get('history', { infer: true }),
            config.get('presence.graceMs', { infer: true }),
          );
        }
        return new RedisEngine({
          target: url ? { url } : { clusterNodes: clusterNodes! },
          prefix: config.get('redisPrefix', { infer: true }),
          heartbeatIntervalMs: config.get('heartbeatIntervalMs', { infer: true }),
          history: config.get('history', { infer: true }),
          presence: config.get('presence', { infer: true }),
        });
      },
    },
  ],
  exports: [RoomsService, PresenceService, ROOMS_ENGINE],
})
export class RoomsModule {}
