import { applyDecorators, UseFilters, UseGuards, UseInterceptors, UsePipes } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiExceptionFilter } from './api-exception.filter';
import { ApiKeyGuard, RequiresScope } from './api-key.guard';
import type { ApiScope } from './api-keys';
import { ApiErrorResponse } from './api-responses';
import { ApiValidationPipe } from './api-validation.pipe';
import { IdempotencyInterceptor } from './idempotency/idempotency.interceptor';

/** What every /api/v1 controller runs its routes through, in this order: key, idempotency, validation, JSON errors. */
export const BackendApi = () =>
  applyDecorators(
    ApiTags('backend API (/api/v1)'),
    ApiBearerAuth(),
    UseFilters(ApiExceptionFilter),
    UseGuards(ApiKeyGuard),
    UseInterceptors(IdempotencyInterceptor),
    UsePipes(ApiValidationPipe),
  );

const WHEN: Record<number, string> = {
  400: 'A bad name, body or query (`invalid_payload`, each broken rule in `details`).',
  401: 'No API key, or not one of API_KEYS (`unauthorized`).',
  403: 'The key lacks the scope (`forbidden`).',
  409: 'A request with this Idempotency-Key is still in flight (`idempotency_conflict`).',
  413: 'A body over 64 KiB (`payload_too_large`).',
  422: 'This Idempotency-Key was used with another body (`idempotency_conflict`).',
  429: "Over the key's API_RATE_LIMIT_PER_S; Retry-After says when to try again (`rate_limited`).",
  503: 'Cluster mode: Redis cannot be reached; nothing was done (`unavailable`, Retry-After: 1).',
};

/** One route: its scope, and its failures in the OpenAPI document. POSTs take Idempotency-Key. */
export function Route(scope: ApiScope, kind: 'read' | 'write' | 'post') {
  const statuses = [400, 401, 403, 429, 503];
  if (kind !== 'read') statuses.push(413);
  if (kind === 'post') statuses.push(409, 422);
  return applyDecorators(
    RequiresScope(scope),
    ...statuses.map((status) => ApiResponse({ status, type: ApiErrorResponse, description: WHEN[status] })),
    ...(kind === 'post'
      ? [
          ApiHeader({
            name: 'Idempotency-Key',
            required: false,
            description:
              '1-128 visible ASCII characters. A repeat with the same body within IDEMPOTENCY_TTL_MS gets the first answer (with `Idempotent-Replayed: true`) without acting again.',
          }),
        ]
      : []),
  );
}
