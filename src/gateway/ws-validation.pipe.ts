import { ArgumentMetadata, Inject, Injectable, Type, ValidationError, ValidationPipe } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { WsException } from '@nestjs/websockets';
import type { AppConfigService } from '../config/config.module';
import { BroadcastDto, EchoDto, MessageDto, withMaxLength } from './dto/text.dto';
import { compileValidator, type FastValidator } from './fast-validator';
import { ErrorDetail } from './frames';

/** What the pipe throws; WsErrorFilter turns it into an `invalid_payload` frame. */
export class InvalidPayloadException extends WsException {
  constructor(readonly details: ErrorDetail[]) {
    super('invalid_payload');
  }
}

/**
 * Nest's ValidationPipe for WebSocket frames: failures become InvalidPayloadException with
 * one detail per broken rule, instead of an HTTP 400 that a ws client would never see.
 */
@Injectable()
export class WsValidationPipe extends ValidationPipe {
  private readonly limited: Map<Type, Type>;
  private readonly fast = new Map<Type, FastValidator | undefined>();

  constructor(@Inject(ConfigService) config: AppConfigService) {
    super({
      transform: true,
      forbidUnknownValues: true,
      validationError: { target: false, value: false },
      exceptionFactory: (errors) => new InvalidPayloadException(toDetails(errors)),
    });
    const max = config.get('maxMessageLength', { infer: true });
    this.limited = new Map([MessageDto, BroadcastDto, EchoDto].map((dto) => [dto, withMaxLength(dto, max)]));
  }

  /** A frame that passes takes the compiled fast path; one that doesn't, the full pipe, for its details. */
  override transform(value: unknown, metadata: ArgumentMetadata): any {
    if (metadata.type !== 'body' || !metadata.metatype) return super.transform(value, metadata);
    const metatype = this.limitedOf(metadata.metatype);
    return this.validateFast(metadata.metatype, value) ?? super.transform(value, { ...metadata, metatype });
  }

  /** The whole pipe, as Nest's path runs it for a @MessageBody(): the DTO, or InvalidPayloadException with the details. */
  validateFully(dto: Type, value: unknown): Promise<object> {
    return super.transform(value, { type: 'body', metatype: this.limitedOf(dto), data: undefined });
  }

  /** The DTO when the frame passes every rule; undefined when it doesn't, or when there is no fast path. */
  validateFast(dto: Type, value: unknown): object | undefined {
    const metatype = this.limitedOf(dto);
    if (!this.fast.has(metatype)) this.fast.set(metatype, compileValidator(metatype));
    return this.fast.get(metatype)?.(value as Record<string, unknown>);
  }

  /** The DTO's subclass carrying this app's MAX_MESSAGE_LENGTH, for those that have one. */
  private limitedOf(dto: Type): Type {
    return this.limited.get(dto) ?? dto;
  }
}

function toDetails(errors: ValidationError[]): ErrorDetail[] {
  return errors.flatMap((e) =>
    Object.entries(e.constraints ?? {}).map(([rule, message]) => ({ field: e.property, rule, message })),
  );
}
