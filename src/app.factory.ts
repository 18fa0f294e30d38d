import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { serveApiHttp } from './api/api-http';
import { AppModule } from './app.module';
import type { AppConfig } from './config/load-config';
import { setupOpenApi } from './docs/openapi';
import { ChatGateway } from './gateway/chat.gateway';
import { ChatWsAdapter } from './gateway/chat-ws.adapter';

/** The app as server.ts runs it; tests build it the same way. Call listen() on the result. */
export async function createApp(config: AppConfig): Promise<INestApplication> {
  // Nest's own lines and every `new Logger(...)` go through pino from here on; what Nest logs
  // while the app is built waits for it.
  // Bodies are parsed by serveApiHttp's parser alone, with the API's bound.
  const app = await NestFactory.create(AppModule.forRoot(config), { bufferLogs: true, bodyParser: false });
  app.useLogger(app.get(Logger));
  app.useWebSocketAdapter(new ChatWsAdapter(app, config, ChatGateway));
  serveApiHttp(app);
  setupOpenApi(app);
  return app;
}
