import { ArgumentsHost, Catch, ExceptionFilter, Inject, Logger } from '@nestjs/common';
import { endAuth } from '../auth/auth-state';
import { type DisconnectReason, MetricsService } from '../metrics/metrics.service';
import { Connection } from '../rooms/connection';
import { type ErrorFrame, errorFrame } from './frames';
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
      return sendError(
        conn,
        errorFrame('invalid_payload', { event, details: exception.details }),
        this.metrics,
      );
    }
    this.logger.error(`"${event}" failed on connection ${conn.id}`, (exception as Error)?.stack ?? exception);
    sendError(conn, errorFrame('internal', { event }), this.metrics);
  }
}

/**
 * Every error frame goes out here, the adapter's and this filter's. Counted only when it goes
 * out, like deliveries: a closing peer gets nothing.
 */
export function sendError(conn: Connection, frame: ErrorFrame, metrics: MetricsService): void {
  if (conn.sendJson(frame)) metrics.errors[frame.code].value++;
}

/**
 * Sends the error frame that explains a close, then closes with a code of ours. From here on the
 * connection handles no frame (its auth state has ended), though ws may still read a few.
 */
export function closeWithError(
  conn: Connection,
  frame: ErrorFrame,
  closeCode: number,
  reason: DisconnectReason,
  metrics: MetricsService,
): void {
  sendError(conn, frame, metrics);
  endAuth(conn);
  conn.closedFor = reason;
  conn.socket.close(closeCode, frame.code);
}
