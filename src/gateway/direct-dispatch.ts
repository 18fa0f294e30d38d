import type { INestApplicationContext, Type } from '@nestjs/common';
import {
  EXCEPTION_FILTERS_METADATA,
  GUARDS_METADATA,
  INTERCEPTORS_METADATA,
  PARAMTYPES_METADATA,
  PIPES_METADATA,
} from '@nestjs/common/constants';
import { ApplicationConfig } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import {
  MESSAGE_MAPPING_METADATA,
  MESSAGE_METADATA,
  PARAM_ARGS_METADATA,
} from '@nestjs/websockets/constants';
import { isObservable, lastValueFrom } from 'rxjs';
import type { Connection } from '../rooms/connection';
import { WsErrorFilter } from './ws-error.filter';
import { WsValidationPipe } from './ws-validation.pipe';

/** Answers one frame for a gateway handler as Nest would, valid or refused, without Nest's per-frame machinery. */
export type DirectHandler = (conn: Connection, data: Record<string, unknown>) => unknown;

const SOCKET = 0; // WsParamtype.SOCKET, @ConnectedSocket()
const PAYLOAD = 3; // WsParamtype.PAYLOAD, @MessageBody()

/**
 * Nest runs each frame through a dozen promises (proxy, context creator, param resolution,
 * pipes consumer): about 5 µs a frame here, most of what an inbound message costs us (see
 * docs/benchmarks.md). For a handler whose only enhancers are WsValidationPipe and
 * WsErrorFilter and whose parameters are @ConnectedSocket() and @MessageBody(), that
 * machinery does nothing but call those two, so the adapter calls them itself: the pipe's
 * compiled validator, then the method; a throw goes to the filter, as Nest would send it.
 * A frame the compiled validator refuses goes through the whole pipe, as on Nest's path, so
 * its error frame carries the same details.
 * Anything else — a guard, an interceptor, another pipe or filter, a global enhancer, another
 * parameter decorator — leaves that handler (or all of them) on Nest's path.
 */
export function directHandlers(app: INestApplicationContext, gatewayType: Type): Map<string, DirectHandler> {
  const handlers = new Map<string, DirectHandler>();
  if (hasGlobalEnhancers(app.get(ApplicationConfig)) || !hasOnlyOurEnhancers(gatewayType)) return handlers;
  const gateway = app.get(gatewayType) as Record<string, (...args: unknown[]) => unknown>;
  const pipe = app.get(WsValidationPipe, { strict: false });
  const filter = app.get(WsErrorFilter, { strict: false });
  for (const methodName of Object.getOwnPropertyNames(gatewayType.prototype)) {
    const method = gatewayType.prototype[methodName] as unknown;
    if (typeof method !== 'function' || !Reflect.getMetadata(MESSAGE_MAPPING_METADATA, method)) continue;
    if (ENHANCERS.some((key) => Reflect.getMetadata(key, method))) continue;
    const params = paramsOf(gatewayType, methodName);
    if (!params) continue;
    const event = Reflect.getMetadata(MESSAGE_METADATA, method) as string;
    const paramTypes = Reflect.getMetadata(PARAMTYPES_METADATA, gatewayType.prototype, methodName) as Type[];
    const dtoType = params.body === undefined ? undefined : paramTypes[params.body];
    // As Nest's WsProxy does: whatever the pipe or the handler throws or rejects with goes to
    // the filter. Made once per handler, so a valid frame to a synchronous method allocates
    // no closure.
    const fail = (conn: Connection, data: unknown, err: unknown) => {
      const host = new ExecutionContextHost([conn, data, event]);
      host.setType('ws');
      filter.catch(err, host);
      return undefined;
    };
    const call = (conn: Connection, data: unknown, dto: unknown) => {
      try {
        const args: unknown[] = [];
        if (params.socket !== undefined) args[params.socket] = conn;
        if (params.body !== undefined) args[params.body] = dto;
        const result = gateway[methodName](...args);
        const settled = isObservable(result) ? lastValueFrom(result, { defaultValue: undefined }) : result;
        return settled instanceof Promise ? settled.catch((err) => fail(conn, data, err)) : settled;
      } catch (err) {
        return fail(conn, data, err);
      }
    };
    handlers.set(event, (conn, data) => {
      if (!dtoType) return call(conn, data, undefined);
      let dto: object | undefined;
      try {
        dto = pipe.validateFast(dtoType, data);
      } catch (err) {
        return fail(conn, data, err);
      }
      if (dto !== undefined) return call(conn, data, dto);
      return pipe.validateFully(dtoType, data).then(
        (valid) => call(conn, data, valid),
        (err) => fail(conn, data, err),
      );
    });
  }
  return handlers;
}

const ENHANCERS = [GUARDS_METADATA, INTERCEPTORS_METADATA, PIPES_METADATA, EXCEPTION_FILTERS_METADATA];

function hasGlobalEnhancers(config: ApplicationConfig): boolean {
  return [
    config.getGlobalGuards(),
    config.getGlobalInterceptors(),
    config.getGlobalPipes(),
    config.getGlobalFilters(),
    config.getGlobalRequestGuards(),
    config.getGlobalRequestInterceptors(),
    config.getGlobalRequestPipes(),
    config.getGlobalRequestFilters(),
  ].some((list) => list.length > 0);
}

function hasOnlyOurEnhancers(gatewayType: Type): boolean {
  const only = (key: string, expected: Type) => {
    const list = (Reflect.getMetadata(key, gatewayType) ?? []) as unknown[];
    return list.length === 1 && list[0] === expected;
  };
  const none = (key: string) => ((Reflect.getMetadata(key, gatewayType) ?? []) as unknown[]).length === 0;
  return (
    none(GUARDS_METADATA) &&
    none(INTERCEPTORS_METADATA) &&
    only(PIPES_METADATA, WsValidationPipe) &&
    only(EXCEPTION_FILTERS_METADATA, WsErrorFilter)
  );
}

/** Where @ConnectedSocket() and @MessageBody() sit; undefined if the handler has any other parameter. */
function paramsOf(gatewayType: Type, methodName: string): { socket?: number; body?: number } | undefined {
  const declared = (Reflect.getMetadata(PARAM_ARGS_METADATA, gatewayType, methodName) ?? {}) as Record<
    string,
    { index: number; data?: unknown; pipes?: unknown[] }
  >;
  const arity = (gatewayType.prototype[methodName] as (...args: unknown[]) => unknown).length;
  const found: { socket?: number; body?: number } = {};
  for (const [key, param] of Object.entries(declared)) {
    if (param.data !== undefined || (param.pipes?.length ?? 0) > 0) return undefined;
    if (key === `${SOCKET}:${param.index}`) found.socket = param.index;
    else if (key === `${PAYLOAD}:${param.index}`) found.body = param.index;
    else return undefined;
  }
  return Object.keys(declared).length === arity ? found : undefined;
}
