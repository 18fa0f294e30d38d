import { HttpException } from '@nestjs/common';

/** Every `code` an /api/v1 error body may carry (`internal`: a fault of ours, logged). */
export const API_ERROR_CODES = [
  'unauthorized',
  'forbidden',
  'invalid_payload',
  'not_found',
  'payload_too_large',
  'rate_limited',
  'idempotency_conflict',
  'unavailable',
  'internal',
] as const;
export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

/** The body of every /api/v1 error: the HTTP status, a code to branch on, a sentence for people. */
export interface ApiErrorBody {
  statusCode: number;
  code: ApiErrorCode;
  message: string;
  /** With invalid_payload: each broken rule of the body or query. */
  details?: string[];
}

/** An /api/v1 answer other than success; ApiExceptionFilter writes it, with `headers`. */
export class ApiError extends HttpException {
  constructor(
    status: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly details?: string[],
  ) {
    super(message, status);
  }

  body(): ApiErrorBody {
    const body: ApiErrorBody = { statusCode: this.getStatus(), code: this.code, message: this.message };
    if (this.details) body.details = this.details;
    return body;
  }
}

export const unavailable = (what: string) =>
  new ApiError(503, 'unavailable', `${what}: the cluster cannot be reached right now; try again shortly`, {
    'Retry-After': '1',
  });
