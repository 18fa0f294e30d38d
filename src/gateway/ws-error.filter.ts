import { ArgumentsHost, Catch, ExceptionFilter, Inject, Logger } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service';
import { Connection } from '../rooms/connection';
import { errorFrame } from './frames';
import { InvalidPayloadException } from './ws-validation.pipe';

/**
 * Answers every exception from a handler with an error frame; the socket stays open.
 * Validation failures are the client's mistake (`invalid_payload`); anything else is
 * our bug, logged with the event and connection and reported as `internal` without details.
 */
@Catch()
export class WsErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger(WsErrorFilter.name);

  constructor(@Inject(MetricsService) private readonly metrics: MetricsService) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const ws = host.switchToWs();
    const conn = ws.getClient<Connection>();
    const event = ws.getPattern();
    if (exception instanceof InvalidPayloadException) {
      this.metrics.errors.invalid_payload.value++;
      conn.sendJson(errorFrame('invalid_payload', { event, details: exception.details }));
      return;
    }
    this.logger.error(`"${event}" failed on connection ${conn.id}`, (exception as Error)?.stack ?? exception);
    this.metrics.errors.internal.value++;
    conn.sendJson(errorFrame('internal', { event }));
  }
}
