import { DynamicModule, Module } from '@nestjs/common';
import { configModule } from './config/config.module';
import type { AppConfig } from './config/load-config';
import { HealthModule } from './health/health.module';
import { RoomsModule } from './rooms/rooms.module';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [configModule(config), RoomsModule, HealthModule],
    };
  }
}
