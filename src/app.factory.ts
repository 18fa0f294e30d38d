import { INestApplication, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';
import { LOG_LEVELS } from './config/env.schema';
import type { AppConfig } from './config/load-config';
import { setupOpenApi } from './docs/openapi';
import { ChatGateway } from './gateway/chat.gateway';
import { ChatWsAdapter } from './gateway/chat-ws.adapter';

/** The app as main.ts runs it; tests build it the same way. Call listen() on the result. */
export async function createApp(config: AppConfig): Promise<INestApplication> {
  const app = await NestFactory.create(AppModule.forRoot(config), {
    logger: levelsUpTo(config.logLevel),
  });
  app.useWebSocketAdapter(new ChatWsAdapter(app, config, ChatGateway));
  setupOpenApi(app);
  return app;
}

function levelsUpTo(level: LogLevel): LogLevel[] {
  return LOG_LEVELS.slice(0, LOG_LEVELS.indexOf(level) + 1);
}
