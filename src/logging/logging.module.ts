import type { DynamicModule } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoggerModule, type Params } from 'nestjs-pino';
import type { Level } from 'pino';
import type { Options } from 'pino-http';
import type { LogLevel } from '../config/env.schema';
import type { AppConfig } from '../config/load-config';
import { redactRequest } from './credentials';

/** LOG_LEVEL names Nest's levels; pino calls `log` info and `verbose` trace. */
const PINO_LEVELS: Record<LogLevel, Level> = {
  fatal: 'fatal',
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
};

// Probes and scrapes come every few seconds: a line each would bury everything else.
const UNLOGGED_PATHS = /^\/(health|metrics)(\/|\?|$)/;

/**
 * pino for every log line, Nest's own included (app.factory.ts hands Nest this logger): JSON
 * lines on stdout, or pino-pretty's lines with LOG_FORMAT=pretty. An HTTP request gets one
 * line at debug, or at error when it fails with a 5xx; health probes and metric scrapes none.
 * nestjs-pino keeps one pino logger per process, so apps sharing a process (tests) share the
 * first one's settings.
 */
export function loggingModule(config: AppConfig): DynamicModule {
  const options: Options<IncomingMessage, ServerResponse> = {
    level: PINO_LEVELS[config.logLevel],
    autoLogging: { ignore: (req) => UNLOGGED_PATHS.test(req.url ?? '/') },
    customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : 'debug'),
    // A request line lists the request's headers: credentials (a bearer token, a token offered
    // as a subprotocol, cookies) never reach a log.
    redact: {
      paths: ['req.headers.authorization', 'req.headers["sec-websocket-protocol"]', 'req.headers.cookie'],
      censor: '[redacted]',
    },
    // A credential put in a URL (which the API refuses) is kept out of the log line too.
    serializers: { req: redactRequest },
  };
  // Written synchronously, so the lines logged just before process.exit() (shutdown) get out.
  // pino-pretty is loaded only when asked for: JSON, the default, does not need it.
  const pinoHttp: Params['pinoHttp'] =
    config.logFormat === 'pretty'
      ? [options, (require('pino-pretty') as typeof import('pino-pretty'))({ sync: true })]
      : options;
  return LoggerModule.forRoot({ pinoHttp });
}
