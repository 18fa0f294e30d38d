import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import type { AppConfigService } from '../config/config.module';
import { type ChatPage, loadChatPage } from './chat-page';

/** GET / and nothing else, so the page never shadows an API route. A page, not API: not in OpenAPI. */
@ApiExcludeController()
@Controller()
export class PageController {
  private readonly page: ChatPage;

  constructor(@Inject(ConfigService) config: AppConfigService) {
    this.page = loadChatPage({
      wsPath: config.get('wsPath', { infer: true }),
      maxMessageLength: config.get('maxMessageLength', { infer: true }),
      privateRoomPrefix: config.get('privateRoomPrefix', { infer: true }),
    });
  }

  @Get()
  chat(@Res({ passthrough: true }) res: Response): string {
    res.set({
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': this.page.contentSecurityPolicy,
      'X-Content-Type-Options': 'nosniff',
      // A redeploy's page reaches people on their next load.
      'Cache-Control': 'no-cache',
    });
    return this.page.html;
  }
}
