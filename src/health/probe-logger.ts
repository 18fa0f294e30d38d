import { Injectable, Logger, type LoggerService } from '@nestjs/common';

// Terminus's line for a check with an indicator down (json style: this, a space, the details).
const CHECK_FAILED = 'Health Check has failed!';

/**
 * Terminus's logger. It logs every failing probe as an error, but readiness fails only for
 * states logged once where they begin (the engine warns when Redis goes and logs when it is
 * back; server.ts logs the shutdown), and a balancer probes every few seconds, so that line is
 * logged at debug: there when looked for, never a stream of errors. Any other error is one.
 */
@Injectable()
export class ProbeLogger implements LoggerService {
  private readonly logger = new Logger('HealthCheck');

  log(message: unknown): void {
    this.logger.log(message);
  }

  error(message: unknown, ...rest: unknown[]): void {
    if (typeof message === 'string' && message.startsWith(CHECK_FAILED)) this.logger.debug(message);
    else this.logger.error(message, ...rest);
  }

  warn(message: unknown): void {
    this.logger.warn(message);
  }
}
