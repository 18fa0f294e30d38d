import { Injectable, Logger, type LoggerService } from '@nestjs/common';

/**
 * Terminus's logger. It logs every failing probe as an error, but readiness fails only for
 * states logged once where they begin (the engine warns when Redis goes and logs when it is
 * back; main.ts logs the shutdown), and a balancer probes every few seconds, so a failing
 * probe is logged at debug: there when looked for, never a stream of errors.
 */
@Injectable()
export class ProbeLogger implements LoggerService {
  private readonly logger = new Logger('HealthCheck');

  log(message: unknown): void {
    this.logger.log(message);
  }

  error(message: unknown): void {
    this.logger.debug(message);
  }

  warn(message: unknown): void {
    this.logger.warn(message);
  }
}
