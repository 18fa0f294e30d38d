import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { redisTarget } from '../cluster/redis-clients';
import { RedisEngine } from '../cluster/redis-engine';
import type { AppConfigService } from '../config/config.module';
import { MetricsModule } from '../metrics/metrics.module';
import { MetricsService } from '../metrics/metrics.service';
import { PresenceService } from '../presence/presence.service';
import { WebhookService } from '../webhooks/webhook.service';
import { WebhooksModule } from '../webhooks/webhooks.module';
import { webhookSpec } from '../webhooks/webhook-streams';
import { ROOMS_ENGINE, type RoomsEngine } from './engine';
import { MemoryEngine } from './memory-engine';
import { RoomsService } from './rooms.service';

/** RoomsService and PresenceService on the engine the configuration asks for: REDIS_URL or REDIS_CLUSTER_NODES set means cluster mode. */
@Module({
  imports: [MetricsModule, WebhooksModule],
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
      inject: [ConfigService, WebhookService],
      useFactory: (config: AppConfigService, webhooks: WebhookService): RoomsEngine => {
        const target = redisTarget(config);
        if (!target) {
          return new MemoryEngine(
            config.get('history', { infer: true }),
            config.get('presence.graceMs', { infer: true }),
            webhooks.emit,
          );
        }
        return new RedisEngine({
          target,
          prefix: config.get('redisPrefix', { infer: true }),
          heartbeatIntervalMs: config.get('heartbeatIntervalMs', { infer: true }),
          history: config.get('history', { infer: true }),
          presence: config.get('presence', { infer: true }),
          webhooks: webhookSpec(config.get('webhooks', { infer: true })),
        });
      },
    },
  ],
  exports: [RoomsService, PresenceService, ROOMS_ENGINE],
})
export class RoomsModule {}
