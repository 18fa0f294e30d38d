import { Controller, Get, Header, Headers, Inject } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { AppConfigService } from '../config/config.module';
import { asyncApiDocument } from './asyncapi';
import { serverHost } from './server-host';

@ApiTags('docs')
@Controller()
export class AsyncApiController {
  /** Built once: only `servers` depends on the request. */
  private readonly document: object;
  private readonly listen: { host: string; port: number };

  constructor(@Inject(ConfigService) config: AppConfigService) {
    this.document = asyncApiDocument({
      wsPath: config.get('wsPath', { infer: true }),
      maxMessageLength: config.get('maxMessageLength', { infer: true }),
      maxRoomsPerConnection: config.get('maxRoomsPerConnection', { infer: true }),
      maxPayloadBytes: config.get('maxPayloadBytes', { infer: true }),
      history: config.get('history', { infer: true }),
      presence: config.get('presence', { infer: true }),
    });
    this.listen = { host: config.get('host', { infer: true }), port: config.get('port', { infer: true }) };
  }

  /**
   * Its server is the host the client asked for. `Vary: Host` rather than `no-store`: the body
   * depends on Host alone, so it may stay cacheable (revalidated by ETag), but a cache in front
   * that keys on the path only (nginx's default key names the upstream, not the client's Host)
   * must not hand one client's `servers` to the next.
   */
  @Get('asyncapi.json')
  @Header('Vary', 'Host')
  @ApiOperation({ summary: 'The AsyncAPI 3.0.0 document of the WebSocket protocol, with the running limits' })
  @ApiOkResponse({
    description: 'An AsyncAPI document.',
    schema: { type: 'object', required: ['asyncapi', 'info', 'channels', 'operations'] },
  })
  asyncApi(@Headers('host') host: string | undefined): object {
    const server = {
      host: serverHost(host, this.listen),
      protocol: 'ws',
      description: 'This instance (wss behind TLS).',
    };
    return { ...this.document, servers: { service: server } };
  }
}
