import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { ApiError, type ApiErrorCode } from './api-error';

const CODE_BY_STATUS: Record<number, ApiErrorCode> = {
  400: 'invalid_payload',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'idempotency_conflict',
  413: 'payload_too_large',
  422: 'idempotency_conflict',
  429: 'rate_limited',
  503: 'unavailable',
};

/**
 * Every failure under /api/v1 as `{statusCode, code, message}` with its real status: ours
 * (ApiError), Nest's own (a body its parser refused), and anything unexpected as a 500 whose
 * cause is logged, never sent.
 */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('Api');

  catch(err: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const error = toApiError(err);
    if (error.getStatus() >= 500 && error.code === 'internal') this.logger.error((err as Error).stack);
    res.status(error.getStatus()).set(error.headers).json(error.body());
  }
}

export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof HttpException) {
    const status = err.getStatus();
    return new ApiError(
      status,
      CODE_BY_STATUS[status] ?? (status >= 500 ? 'internal' : 'invalid_payload'),
      err.message,
    );
  }
  // body-parser's errors carry their status (413 too large, 400 not JSON, 415 not UTF-8).
  const status = (err as { status?: unknown }).status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const message =
      status === 413
        ? 'The body is over 64 KiB'
        : status === 400
          ? 'The body is not valid JSON'
          : String((err as Error).message);
    return new ApiError(status, CODE_BY_STATUS[status] ?? 'invalid_payload', message);
  }
  return new ApiError(500, 'internal', 'Something went wrong on our side');
}
