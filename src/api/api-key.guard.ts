import { type CanActivate, type ExecutionContext, Inject, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { CREDENTIAL_PARAMS } from '../logging/credentials';
import { ApiError } from './api-error';
import { type ApiKey, type ApiScope, findKey } from './api-keys';
import { ApiRateLimit } from './api-rate-limit';

export const API_KEYS = Symbol('ApiKeys');

const SCOPE = 'api-scope';
/** The scope a route needs; every /api/v1 route names one. */
export const RequiresScope = (scope: ApiScope) => SetMetadata(SCOPE, scope);

/** The key a request was made with, once ApiKeyGuard let it through. */
export const keyOf = (req: Request): ApiKey => (req as Request & { apiKey: ApiKey }).apiKey;

// The scheme's name is case-insensitive (RFC 9110 section 11.1).
const BEARER = /^Bearer +([^\s]+)$/i;

/**
 * The key in `Authorization: Bearer <secret>` (401 without one that is live), the route's
 * scope (403), and the key's rate limit (429 with Retry-After). The key's id goes on the
 * request's log lines; its secret goes nowhere.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    @Inject(API_KEYS) private readonly keys: readonly ApiKey[],
    @Inject(ApiRateLimit) private readonly rateLimit: ApiRateLimit,
    @Inject(Reflector) private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<Request>();
    // A URL is kept by proxies and access logs: a key in one is refused, so nobody relies on it.
    if (Object.keys(req.query).some((name) => CREDENTIAL_PARAMS.test(name))) {
      throw unauthorized('An API key goes in the Authorization header, never in the URL');
    }
    const presented = BEARER.exec(req.headers.authorization ?? '')?.[1];
    if (presented === undefined) throw unauthorized('Send the API key as Authorization: Bearer <secret>');
    const key = findKey(this.keys, presented);
    if (!key) throw unauthorized('The API key is not valid');
    (req as Request & { apiKey: ApiKey }).apiKey = key;
    (req as Request & { log?: { setBindings(b: object): void } }).log?.setBindings({ apiKey: key.id });
    const scope = this.reflector.get<ApiScope>(SCOPE, context.getHandler());
    if (!key.scopes.has(scope)) {
      throw new ApiError(403, 'forbidden', `The API key "${key.id}" lacks the "${scope}" scope`);
    }
    const waitMs = await this.rateLimit.take(key.id);
    if (waitMs !== undefined) {
      throw new ApiError(429, 'rate_limited', `The API key "${key.id}" is over its rate limit`, {
        'Retry-After': String(Math.max(1, Math.ceil(waitMs / 1000))),
      });
    }
    return true;
  }
}

const unauthorized = (message: string) =>
  new ApiError(401, 'unauthorized', message, { 'WWW-Authenticate': 'Bearer realm="api"' });
