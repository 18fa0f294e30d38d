import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { redisTarget } from '../cluster/redis-clients';
import type { AppConfigService } from '../config/config.module';
import { MetricsModule } from '../metrics/metrics.module';
import { MetricsService } from '../metrics/metrics.service';
import { WebhookService } from './webhook.service';

/** Webhooks to the app's backend (WEBHOOK_URL): in memory on one instance, on Redis streams in cluster mode. */
@Module({
  imports: [MetricsModule],
  providers: [
    {
      provide: WebhookService,
      inject: [ConfigService, MetricsService],
      useFactory: (config: AppConfigService, metrics: MetricsService) => {
        const target = redisTarget(config);
        const prefix = config.get('redisPrefix', { infer: true });
        return new WebhookService(
          config.get('webhooks', { infer: true }),
          target && { target, prefix },
          metrics,
        );
      },
    },
  ],
  exports: [WebhookService],
})
export class WebhooksModule {}
