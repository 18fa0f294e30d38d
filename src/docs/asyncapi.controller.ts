import { Controller, Get, Headers, Inject } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { AppConfigService } from '../config/config.module';
import { asyncApiDocument, type ProtocolConfig } from './asyncapi';

@ApiTags('docs')
@Controller()
export class AsyncApiController {
  private readonly protocol: ProtocolConfig;

  constructor(@Inject(ConfigService) config: AppConfigService) {
    this.protocol = {
      wsPath: config.get('wsPath', { infer: true }),
      maxMessageLength: config.get('maxMessageLength', { infer: true }),
      maxRoomsPerConnection: config.get('maxRoomsPerConnection', { infer: true }),
      maxPayloadBytes: config.get('maxPayloadBytes', { infer: true }),
    };
  }

  /** Built per request: its server is the host the client asked for. */
  @Get('asyncapi.json')
  @ApiOperation({ summary: 'The AsyncAPI 3.0.0 document of the WebSocket protocol, with the running limits' })
  @ApiOkResponse({
    description: 'An AsyncAPI document.',
    schema: { type: 'object', required: ['asyncapi', 'info', 'channels', 'operations'] },
  })
  document(@Headers('host') host: string | undefined): object {
    return asyncApiDocument(this.protocol, host);
  }
}
