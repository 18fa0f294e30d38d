import { Module } from '@nestjs/common';
import { AsyncApiController } from './asyncapi.controller';

/** GET /asyncapi.json; the OpenAPI document is set up in app.factory.ts (see openapi.ts). */
@Module({ controllers: [AsyncApiController] })
export class DocsModule {}
