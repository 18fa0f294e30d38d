import { Module } from '@nestjs/common';
import { PageController } from './page.controller';

/** The chat page at GET /: the protocol's reference client, for people. */
@Module({ controllers: [PageController] })
export class PageModule {}
