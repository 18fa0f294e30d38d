import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { SERVICE } from './service-info';

/** Serves the OpenAPI document of the HTTP API: the UI at /docs, the JSON at /docs-json. */
export function setupOpenApi(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle(SERVICE.title)
    .setVersion(SERVICE.version)
    .setDescription(
      `${SERVICE.description}. This is the HTTP API; the WebSocket protocol is described by the AsyncAPI document at /asyncapi.json.`,
    )
    .build();
  // A factory: the document is built on the first request for it, not at every start.
  SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, config));
}
