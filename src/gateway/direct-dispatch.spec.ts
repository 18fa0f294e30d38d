import {
  CanActivate,
  type INestApplication,
  Logger,
  NestInterceptor,
  UseFilters,
  UseGuards,
  UseInterceptors,
  UsePipes,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { of } from 'rxjs';
import { ConnectedSocket, MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { configModule } from '../config/config.module';
import { loadConfig } from '../config/load-config';
import type { Connection } from '../rooms/connection';
import { MetricsModule } from '../metrics/metrics.module';
import { RoomsModule } from '../rooms/rooms.module';
import { AuthModule } from '../auth/auth.module';
import { ChatGateway } from './chat.gateway';
import { directHandlers } from './direct-dispatch';
import { EchoDto } from './dto/text.dto';
import { WsErrorFilter } from './ws-error.filter';
import { WsValidationPipe } from './ws-validation.pipe';

const allow: CanActivate = { canActivate: () => true };
const passThrough: NestInterceptor = { intercept: (_, next) => next.handle() };

@WebSocketGateway()
@UsePipes(WsValidationPipe)
@UseFilters(WsErrorFilter)
class MixedGateway {
  @SubscribeMessage('plain')
  plain(@ConnectedSocket() conn: Connection, @MessageBody() dto: EchoDto) {
    return { type: 'echo', message: `${conn.id}:${dto.message}` };
  }

  @SubscribeMessage('intercepted')
  @UseInterceptors(passThrough)
  intercepted(@MessageBody() dto: EchoDto) {
    return dto;
  }

  @SubscribeMessage('picked')
  picked(@MessageBody('message') message: string) {
    return message;
  }

  @SubscribeMessage('broken')
  broken(@MessageBody() _dto: EchoDto) {
    throw new Error('bug');
  }

  @SubscribeMessage('rejecting')
  async rejecting(@MessageBody() _dto: EchoDto) {
    throw new Error('async bug');
  }

  @SubscribeMessage('observed')
  observed(@MessageBody() dto: EchoDto) {
    return of({ type: 'echo', message: dto.message });
  }
}

@WebSocketGateway()
@UsePipes(WsValidationPipe)
@UseFilters(WsErrorFilter)
@UseGuards(allow)
class GuardedGateway {
  @SubscribeMessage('echo')
  echo(@MessageBody() dto: EchoDto) {
    return dto;
  }
}

async function appWith(gateway: object, setup: (app: INestApplication) => void = () => undefined) {
  const moduleRef = await Test.createTestingModule({
    imports: [configModule(loadConfig({})), RoomsModule, AuthModule, MetricsModule],
    providers: [gateway as never],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  setup(app);
  return app;
}

describe(directHandlers.name, () => {
  afterEach(() => jest.restoreAllMocks());
  const conn = { id: 'c1', sendJson: jest.fn() } as unknown as Connection & { sendJson: jest.Mock };

  it("takes every one of ChatGateway's events", async () => {
    const app = await appWith(ChatGateway);
    expect([...directHandlers(app, ChatGateway).keys()].sort()).toEqual([
      'auth',
      'broadcast',
      'echo',
      'history',
      'join',
      'leave',
      'message',
      'presence',
    ]);
  });

  it('leaves a handler with its own enhancer or another parameter decorator to Nest', async () => {
    const app = await appWith(MixedGateway);
    expect([...directHandlers(app, MixedGateway).keys()].sort()).toEqual([
      'broken',
      'observed',
      'plain',
      'rejecting',
    ]);
  });

  it('leaves every handler to Nest when the class has a guard', async () => {
    const app = await appWith(GuardedGateway);
    expect(directHandlers(app, GuardedGateway).size).toBe(0);
  });

  it('leaves every handler to Nest when the app has a global enhancer', async () => {
    const app = await appWith(MixedGateway, (a) => a.useGlobalInterceptors(passThrough));
    expect(directHandlers(app, MixedGateway).size).toBe(0);
  });

  it('calls the method with the connection and the validated DTO', async () => {
    const plain = directHandlers(await appWith(MixedGateway), MixedGateway).get('plain')!;
    expect(plain(conn, { message: 'hi' })).toEqual({ type: 'echo', message: 'c1:hi' });
  });

  it("answers an invalid frame through WsErrorFilter with the whole pipe's details, as Nest would", async () => {
    const plain = directHandlers(await appWith(MixedGateway), MixedGateway).get('plain')!;
    for (const [data, rule] of [
      [{ message: '' }, 'charLength'],
      [{}, 'isString'],
    ] as const) {
      conn.sendJson.mockClear();
      await expect(plain(conn, data)).resolves.toBeUndefined();
      expect(conn.sendJson).toHaveBeenCalledTimes(1);
      expect(conn.sendJson).toHaveBeenCalledWith({
        type: 'error',
        code: 'invalid_payload',
        message: expect.any(String),
        event: 'plain',
        details: expect.arrayContaining([expect.objectContaining({ field: 'message', rule })]),
      });
    }
  });

  it('runs the whole pipe for a DTO the compiled validator cannot take, then the method', async () => {
    const app = await appWith(MixedGateway);
    const pipe = app.get(WsValidationPipe, { strict: false });
    jest.spyOn(pipe, 'validateFast').mockReturnValue(undefined);
    const full = jest.spyOn(pipe, 'validateFully');
    const plain = directHandlers(app, MixedGateway).get('plain')!;
    await expect(plain(conn, { message: 'hi' })).resolves.toEqual({ type: 'echo', message: 'c1:hi' });
    expect(full).toHaveBeenCalledTimes(1);
    expect(await full.mock.results[0].value).toBeInstanceOf(EchoDto);
  });

  it('answers a throwing handler through WsErrorFilter, as Nest would', async () => {
    const log = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const broken = directHandlers(await appWith(MixedGateway), MixedGateway).get('broken')!;
    expect(broken(conn, { message: 'x' })).toBeUndefined();
    expect(conn.sendJson).toHaveBeenLastCalledWith({
      type: 'error',
      code: 'internal',
      message: expect.any(String),
      event: 'broken',
    });
    log.mockRestore();
  });

  it('answers a rejecting async handler through WsErrorFilter, and unwraps an Observable', async () => {
    const log = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const handlers = directHandlers(await appWith(MixedGateway), MixedGateway);
    await expect(handlers.get('rejecting')!(conn, { message: 'x' })).resolves.toBeUndefined();
    expect(conn.sendJson).toHaveBeenLastCalledWith(
      expect.objectContaining({ code: 'internal', event: 'rejecting' }),
    );
    await expect(handlers.get('observed')!(conn, { message: 'o' })).resolves.toEqual({
      type: 'echo',
      message: 'o',
    });
    log.mockRestore();
  });
});
