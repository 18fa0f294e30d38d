import type { INestApplication } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { AppConfigService } from '../config/config.module';
import { SERVICE } from './service-info';

/** Serves the OpenAPI document of the HTTP API: the UI at /docs, the JSON at /docs-json. */
export function setupOpenApi(app: INestApplication): void {
  const withBackendApi = app.get<AppConfigService>(ConfigService).get('api', { infer: true }) !== undefined;
  const builder = new DocumentBuilder()
    .setTitle(SERVICE.title)
    .setVersion(SERVICE.version)
    .setDescription(
      `${SERVICE.description}. This is the HTTP API; the WebSocket protocol is described by the AsyncAPI document at /asyncapi.json.` +
        (withBackendApi ? " The routes under /api/v1 are for the app's backend: each needs an API key." : ''),
    );
  // The scheme /api/v1's routes name (@ApiBearerAuth): declared only when they exist.
  if (withBackendApi) {
    builder.addBearerAuth({
      type: 'http',
      scheme: 'bearer',
      description: 'The secret of one of API_KEYS: `Authorization: Bearer <secret>`, never in the URL.',
    });
  }
  const options = builder.build();
  // A factory: the document is built on the first request for it, not at every start.
  SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, options));
}
