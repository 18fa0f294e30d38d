import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { RedisEngine } from '../cluster/redis-engine';
import type { AppConfigService } from '../config/config.module';
import { MetricsModule } from '../metrics/metrics.module';
import { ROOMS_ENGINE, type RoomsEngine } from './engine';
import { MemoryEngine } from './memory-engine';
import { RoomsService } from './rooms.service';

/** RoomsService on the engine the configuration asks for: REDIS_URL or REDIS_CLUSTER_NODES set means cluster mode. */
@Module({
  imports: [MetricsModule],
  providers: [
    RoomsService,
    {
      provide: ROOMS_ENGINE,
      inject: [ConfigService],
      useFactory: (config: AppConfigService): RoomsEngine => {
        const url = config.get('redisUrl', { infer: true });
        const clusterNodes = config.get('redisClusterNodes', { infer: true });
        if (!url && !clusterNodes) return new MemoryEngine(config.get('history', { infer: true }));
        return new RedisEngine({
          target: url ? { url } : { clusterNodes: clusterNodes! },
          prefix: config.get('redisPrefix', { infer: true }),
          heartbeatIntervalMs: config.get('heartbeatIntervalMs', { infer: true }),
          history: config.get('history', { infer: true }),
        });
      },
    },
  ],
  exports: [RoomsService, ROOMS_ENGINE],
})
export class RoomsModule {}
