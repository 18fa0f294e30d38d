import { DynamicModule } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { AppConfig } from './load-config';

/** Injected wherever a setting is needed; read settings in constructors, never per message. */
export type AppConfigService = ConfigService<AppConfig, true>;

/**
 * Serves an already validated AppConfig through @nestjs/config. server.ts validates
 * process.env before Nest starts (so a bad value stops the process before it listens),
 * and tests hand in their own settings, so neither the process env nor a .env file is read here.
 */
export function configModule(config: AppConfig): Promise<DynamicModule> {
  return ConfigModule.forRoot({
    isGlobal: true,
    ignoreEnvFile: true,
    skipProcessEnv: true,
    load: [() => config],
  });
}
