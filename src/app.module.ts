import { DynamicModule, Module } from '@nestjs/common';
import { ApiModule } from './api/api.module';
import { configModule } from './config/config.module';
import type { AppConfig } from './config/load-config';
import { DocsModule } from './docs/docs.module';
import { GatewayModule } from './gateway/gateway.module';
import { HealthModule } from './health/health.module';
import { HttpApiModule } from './http/http-api.module';
import { loggingModule } from './logging/logging.module';
import { MetricsModule } from './metrics/metrics.module';
import { PageModule } from './page/page.module';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        configModule(config),
        loggingModule(config),
        GatewayModule,
        HttpApiModule,
        HealthModule,
        MetricsModule,
        DocsModule,
        PageModule,
        ...(config.api ? [ApiModule] : []),
      ],
    };
  }
}
