import {
  type ArgumentMetadata,
  Inject,
  Injectable,
  type Type,
  ValidationError,
  ValidationPipe,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AppConfigService } from '../config/config.module';
import { withMaxLength } from '../gateway/dto/text.dto';
import { ApiError } from './api-error';
import { ServerBroadcastDto, ServerMessageDto } from './dto/server-message.dto';

/**
 * Bodies and queries of /api/v1: a field the route does not know is refused (a typo must not
 * pass quietly), and every broken rule is listed in `details` of one 400 invalid_payload.
 * Messages are held to MAX_MESSAGE_LENGTH, as on the WebSocket.
 */
@Injectable()
export class ApiValidationPipe extends ValidationPipe {
  private readonly limited: Map<Type, Type>;

  constructor(@Inject(ConfigService) config: AppConfigService) {
    super({
      transform: true,
      whitelist: true,
      forbidNonWhitelisted: true,
      forbidUnknownValues: true,
      validationError: { target: false, value: false },
      exceptionFactory: (errors) => {
        const details = errors.flatMap(messages);
        return new ApiError(400, 'invalid_payload', details[0] ?? 'The request is not valid', {}, details);
      },
    });
    this.limited = new Map(
      [ServerMessageDto, ServerBroadcastDto].map((dto) => [
        dto,
        withMaxLength(dto, config.get('maxMessageLength', { infer: true })),
      ]),
    );
  }

  override transform(value: unknown, metadata: ArgumentMetadata): any {
    const metatype = metadata.metatype && (this.limited.get(metadata.metatype) ?? metadata.metatype);
    // A POST without a body (or not JSON) reaches here as undefined: it is checked as {}.
    return super.transform(metadata.type === 'body' ? (value ?? {}) : value, { ...metadata, metatype });
  }
}

function messages(error: ValidationError): string[] {
  return [...Object.values(error.constraints ?? {}), ...(error.children ?? []).flatMap(messages)];
}
