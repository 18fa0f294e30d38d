import {
  type CallHandler,
  type ExecutionContext,
  Inject,
  Injectable,
  Logger,
  type NestInterceptor,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { createHash } from 'node:crypto';
import { from, type Observable } from 'rxjs';
import { ApiError, unavailable } from '../api-error';
import { keyOf } from '../api-key.guard';
import { IDEMPOTENCY_STORE, type IdempotencyStore } from './idempotency-store';

const HEADER = 'idempotency-key';
const IDEMPOTENCY = Symbol('idempotency');

/** A request's Idempotency-Key and what it goes with: its route and body, digested. */
export interface Idempotency {
  readonly key: string;
  readonly fingerprint: string;
}

/** The request's Idempotency-Key, once IdempotencyInterceptor checked it. */
export const idempotencyOf = (req: Request): Idempotency | undefined =>
  (req as Request & { [IDEMPOTENCY]?: Idempotency })[IDEMPOTENCY];
// Visible ASCII and spaces: what a header can carry as it is.
const KEY = /^[\x20-\x7e]{1,128}$/;

/**
 * `Idempotency-Key` on a POST: the first request with a key acts; a repeat with the same route
 * and body gets its answer again, with `Idempotent-Replayed: true`, without acting; the key
 * with another body is 422, and a repeat while the first is in flight is 409. Only a success
 * is kept: after a failure the key is free, so a retry acts.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  private readonly logger = new Logger('Api');

  constructor(@Inject(IDEMPOTENCY_STORE) private readonly store: IdempotencyStore) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const req = context.switchToHttp().getRequest<Request>();
    const key = req.headers[HEADER];
    if (key === undefined || req.method !== 'POST') return next.handle();
    return from(this.handle(req, context.switchToHttp().getResponse<Response>(), key, next));
  }

  private async handle(
    req: Request,
    res: Response,
    key: string | string[],
    next: CallHandler,
  ): Promise<unknown> {
    if (typeof key !== 'string' || !KEY.test(key)) {
      throw new ApiError(400, 'invalid_payload', 'Idempotency-Key must be 1 to 128 visible ASCII characters');
    }
    const scope = keyOf(req).id;
    const fingerprint = createHash('sha256')
      .update(`${req.method} ${req.path}\n${JSON.stringify(req.body ?? null)}`)
      .digest('base64url');
    (req as Request & { [IDEMPOTENCY]?: Idempotency })[IDEMPOTENCY] = { key, fingerprint };
    const claim = await this.store.claim(scope, key, fingerprint).catch(() => {
      throw unavailable('The Idempotency-Key cannot be checked');
    });
    if (claim.kind === 'replay') {
      res.setHeader('Idempotent-Replayed', 'true');
      return claim.body;
    }
    if (claim.kind === 'in_flight') {
      throw new ApiError(
        409,
        'idempotency_conflict',
        'A request with this Idempotency-Key is still in flight',
      );
    }
    if (claim.kind === 'mismatch') {
      throw new ApiError(
        422,
        'idempotency_conflict',
        'This Idempotency-Key was used with another request body',
      );
    }
    let body: unknown;
    try {
      body = await lastValue(next.handle());
    } catch (err) {
      await this.store.release(scope, key, fingerprint).catch(() => undefined);
      throw err;
    }
    // It acted: the answer goes back even if it cannot be kept (a retry would then act again).
    await this.store.complete(scope, key, fingerprint, body).catch((err: Error) => {
      this.logger.warn(`An Idempotency-Key's answer could not be kept: ${err.message}`);
    });
    return body;
  }
}

function lastValue(values: Observable<unknown>): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let last: unknown;
    values.subscribe({ next: (value) => (last = value), error: reject, complete: () => resolve(last) });
  });
}
