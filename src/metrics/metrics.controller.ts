import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { MetricsService } from './metrics.service';

@ApiTags('metrics')
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get()
  @ApiOperation({ summary: "This instance's metrics, for Prometheus to scrape" })
  @ApiProduces('text/plain')
  @ApiOkResponse({
    description: "Prometheus's text exposition format (version 0.0.4).",
    schema: { type: 'string', example: '# TYPE chat_connections gauge\nchat_connections 2\n' },
  })
  scrape(@Res({ passthrough: true }) res: Response): Promise<string> {
    res.setHeader('Content-Type', this.metrics.registry.contentType);
    return this.metrics.registry.metrics();
  }
}
