import { INestApplication, Logger, type Type } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import type { MessageMappingProperties } from '@nestjs/websockets';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { isObservable, lastValueFrom } from 'rxjs';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import { AuthService } from '../auth/auth.service';
import { chooseProtocol } from '../auth/upgrade-token';
import { LOG_LEVELS } from '../config/env.schema';
import type { AppConfig } from '../config/load-config';
import { FLOOD_CLOSE_MS, type TokenBucket, TokenBucketRule } from '../limits/token-bucket';
import { AddressCheck, CapacityCheck, OriginCheck } from '../limits/upgrade-checks';
import { type DisconnectReason, MetricsService } from '../metrics/metrics.service';
import { Connection } from '../rooms/connection';
import { OutboundText, WriteBatch } from '../rooms/outbound';
import { CLOSE_GOING_AWAY, CLOSE_RATE_LIMITED } from './close-codes';
import { type DirectHandler, directHandlers } from './direct-dispatch';
import { decodeFrame, errorFrame, type ErrorFrame } from './frames';
import { Heartbeat } from './heartbeat';
import { admit, type Refusal, refuse, type UpgradeCheck } from './upgrade-admission';
import { closeWithError, sendError } from './ws-error.filter';

type Handler = (data: unknown, event: string) => Promise<unknown>;

/**
 * The transport under ChatGateway. Nest's stock WsAdapter drops bad JSON and unknown
 * events without a word, handles a connection's frames concurrently, and terminates
 * sockets on close; this one answers every frame, keeps each connection's frames in
 * order, serves only WS_PATH, and closes clients with 1001 on shutdown.
 */
export class ChatWsAdapter extends WsAdapter {
  protected override readonly logger = new Logger(ChatWsAdapter.name);
  private wss: WebSocketServer | undefined;
  private heartbeat: Heartbeat | undefined;
  private closing = false;
  private readonly batch = new WriteBatch();
  private direct: Map<string, DirectHandler> | undefined;
  // Whether some event is left to Nest's handlers (see bindMessageHandlers).
  private nestHandlesSome: boolean | undefined;
  private readonly metrics: MetricsService;
  // Checked before the connection lines are built: the peer's address costs a system call.
  private readonly logsConnections: boolean;
  // What ws reported before closing a socket for a protocol error (a frame over maxPayload,
  // bad UTF-8), for its close handler. One 'error' listener serves every socket (ws passes
  // the socket as `this`): an idle connection should cost as little as it can.
  private readonly protocolErrors = new WeakMap<WebSocket, Error & { code?: string }>();
  private readonly onSocketError: (this: WebSocket, err: Error & { code?: string }) => void;
  // Asked in order of every upgrade on WS_PATH; the first refusal answers it.
  private readonly upgradeChecks: readonly UpgradeCheck[];
  // RATE_LIMIT_FRAMES_PER_S and RATE_LIMIT_BURST; undefined when the limit is off.
  private readonly frameLimit: TokenBucketRule | undefined;

  constructor(
    private readonly app: INestApplication,
    private readonly config: AppConfig,
    private readonly gatewayType: Type,
  ) {
    super(app);
    this.metrics = app.get(MetricsService);
    // The cheap refusals first, and a count is taken only by an upgrade the earlier checks let through.
    this.upgradeChecks = [
      app.get(OriginCheck),
      app.get(CapacityCheck),
      app.get(AddressCheck),
      app.get(AuthService),
    ];
    if (config.rateLimitFramesPerS > 0) {
      this.frameLimit = new TokenBucketRule(config.rateLimitFramesPerS, config.rateLimitBurst);
    }
    this.logsConnections = LOG_LEVELS.indexOf(config.logLevel) >= LOG_LEVELS.indexOf('debug');
    const protocolErrors = this.protocolErrors;
    this.onSocketError = function (err) {
      protocolErrors.set(this, err);
    };
  }

  override create(): WebSocketServer {
    if (this.wss) throw new Error('ChatWsAdapter serves a single gateway');
    const wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.config.maxPayloadBytes,
      perMessageDeflate: this.config.perMessageDeflate,
      handleProtocols: chooseProtocol,
    });
    wss.on('error', (err) => this.logger.error(err));
    this.heartbeat = new Heartbeat(wss.clients, this.config.heartbeatIntervalMs);
    this.heartbeat.start();
    this.http.on('upgrade', this.onUpgrade);
    this.wss = wss;
    return wss;
  }

  override bindClientConnect(
    server: WebSocketServer,
    callback: (conn: Connection, req: IncomingMessage) => void,
  ): void {
    server.on('connection', (socket: WebSocket, req: IncomingMessage) => {
      const conn = new Connection(
        randomBytes(9).toString('base64url'),
        socket,
        this.config.slowConsumerBytes,
        this.batch,
      );
      socket.on('error', this.onSocketError);
      this.heartbeat!.track(socket);
      if (this.logsConnections) {
        this.logger.debug({ conn: conn.id, remoteAddress: req.socket.remoteAddress }, 'Connection opened');
      }
      callback(conn, req);
    });
  }

  override bindClientDisconnect(conn: Connection, callback: () => void): void {
    // ws emits 'close' once; `on` spares each connection the wrapper `once` would keep.
    // Every disconnect is counted here, once and with one reason: a protocol error too, though
    // ws reported it earlier, and a peer that never answers the close frame may take ws's
    // closing timeout to get here.
    conn.socket.on('close', (code: number, reason: Buffer) => {
      const error = this.protocolErrors.get(conn.socket);
      const dropped = this.dropReason(conn, error);
      if (dropped) this.metrics.disconnects[dropped].value++;
      if (conn.closedFor === 'slow_consumer')
        this.logger.warn(`Connection ${conn.id} dropped: it stopped reading`);
      callback(); // leaves its rooms, unless a failed send made it leave them already
      if (this.logsConnections) {
        const rooms = conn.roomsAtExit;
        this.logger.debug(
          { conn: conn.id, code, reason: String(reason), rooms, dropped, error: error?.message },
          'Connection closed',
        );
      }
    });
  }

  private dropReason(conn: Connection, error: { code?: string } | undefined): DisconnectReason | undefined {
    if (conn.closedFor) return conn.closedFor;
    if (this.heartbeat!.missedPong(conn.socket)) return 'heartbeat';
    return WS_ERROR_REASONS.get(error?.code);
  }

  override bindMessageHandlers(conn: Connection, handlers: MessageMappingProperties[]): void {
    // Built at the first connection, when every global enhancer the app will have is in place.
    const direct = (this.direct ??= directHandlers(this.app, this.gatewayType));
    // Nest binds a handler per event for each connection; kept only when some event needs
    // one, as they are most of what an idle connection's closures cost.
    this.nestHandlesSome ??= handlers.some((h) => !direct.has(h.message as string));
    const nest = this.nestHandlesSome ? handlers : undefined;
    // Handlers are async (Nest runs pipes first), so a frame that arrives while one is in
    // flight waits for it: a join is done before the next frame is read, and replies leave
    // in frame order. A frame that finds nothing in flight starts at once.
    let inFlight: Promise<void> | undefined;
    // Made once per connection and kept by the listener: the limit costs no field on Connection.
    const bucket = this.frameLimit?.bucket(performance.now());
    conn.socket.on('message', (data: RawData, isBinary: boolean) => {
      // Every frame counts, even one that will not decode, and one over the limit is not handled.
      if (bucket && this.overLimit(conn, bucket)) return;
      const handle = () => this.handleFrame(conn, nest, data, isBinary);
      let started: Promise<unknown> | void;
      try {
        started = inFlight ? inFlight.then(handle) : handle();
      } catch (err) {
        // Run inside ws's 'message' event: a throw must not reach ws (or the process).
        this.logger.error(err);
        this.reply(conn, errorFrame('internal'));
        return;
      }
      if (!started) return;
      // Stop reading while a frame is in flight (a join waiting on Redis, say): a client
      // flooding frames then waits in its own TCP window, not in this process's memory.
      conn.socket.pause();
      const done = () => {
        if (inFlight !== settled) return;
        inFlight = undefined;
        conn.socket.resume();
      };
      // Handler errors are answered by WsErrorFilter; one reaching here is a bug in this file.
      const settled: Promise<void> = started.then(done, (err) => {
        this.logger.error(err);
        done();
      });
      inFlight = settled;
    });
  }

  /**
   * Takes a token for a frame. Without one the frame is refused with rate_limited and when to
   * come back; a connection that has stayed over the limit for FLOOD_CLOSE_MS is closed with 4029.
   */
  private overLimit(conn: Connection, bucket: TokenBucket): boolean {
    const now = performance.now();
    const retryAfterMs = this.frameLimit!.take(bucket, now);
    if (retryAfterMs === 0) return false;
    this.metrics.rateLimitedFrames.value++;
    if (conn.closedFor) return true; // closing already: ws may still read a few frames
    if (!this.frameLimit!.flooding(bucket, now)) {
      sendError(conn, errorFrame('rate_limited', { retryAfterMs }), this.metrics);
      return true;
    }
    const message = `Still over the frame rate limit after ${FLOOD_CLOSE_MS / 1000} s; closing`;
    const frame = errorFrame('rate_limited', { message, retryAfterMs });
    closeWithError(conn, frame, CLOSE_RATE_LIMITED, 'rate_limited', this.metrics);
    return true;
  }

  /** Shutdown: refuse new upgrades, ask every client to go (1001), and wait a bounded time. */
  override async close(server: WebSocketServer): Promise<void> {
    this.closing = true;
    this.heartbeat?.stop();
    await closeAll(server.clients, this.config.shutdownTimeoutMs);
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  override async dispose(): Promise<void> {
    this.http.off('upgrade', this.onUpgrade);
  }

  private get http(): HttpServer {
    return this.httpServer as HttpServer;
  }

  /** Answers one frame; returns a promise only when a handler ran. */
  private handleFrame(
    conn: Connection,
    nest: MessageMappingProperties[] | undefined,
    data: RawData,
    isBinary: boolean,
  ) {
    const reply = (frame: unknown) => frame !== undefined && this.reply(conn, frame as object);
    if (isBinary) return void this.invalid(conn, errorFrame('unsupported_frame'));
    const decoded = decodeFrame(data.toString());
    if (!decoded.ok) return void this.invalid(conn, decoded.error);
    const { event } = decoded.frame;
    this.metrics.countFrame(event);
    // Until it has authenticated (AUTH_MODE=jwt), a connection may only authenticate; once it
    // has been closed by us, frames ws still reads are dropped.
    const auth = conn.auth.kind;
    if (auth === 'awaiting' && event !== 'auth') return void reply(errorFrame('unauthenticated', { event }));
    if (auth === 'ended') return;
    const direct = this.direct!.get(event);
    if (direct) {
      const result = direct(conn, decoded.frame.data);
      return result instanceof Promise ? result.then(reply) : void reply(result);
    }
    // A handful of events: a scan of Nest's own list beats a Map per connection.
    const handler = nest?.find((h) => h.message === event)?.callback as Handler | undefined;
    if (!handler) return void reply(errorFrame('unknown_event', { event }));
    // An interceptor turns a handler's result into an Observable.
    return handler(decoded.frame.data, event).then((result) =>
      isObservable(result) ? lastValueFrom(result, { defaultValue: undefined }).then(reply) : reply(result),
    );
  }

  /** A frame object, or text already serialized (a history page holds frames as they were sent). */
  private reply(conn: Connection, frame: object): void {
    if (frame instanceof OutboundText) conn.send(frame);
    else if ((frame as ErrorFrame).type === 'error') sendError(conn, frame as ErrorFrame, this.metrics);
    else conn.sendJson(frame);
  }

  private invalid(conn: Connection, error: ErrorFrame): void {
    this.metrics.frames.invalid.value++;
    this.reply(conn, error);
  }

  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (pathOf(req.url) !== this.config.wsPath) return refuse(socket, 404);
    if (this.closing) return refuse(socket, 503);
    let admitted;
    try {
      admitted = admit(this.upgradeChecks, req);
    } catch (err) {
      return this.upgradeFailed(socket, err);
    }
    if (!(admitted instanceof Promise)) return this.answerUpgrade(req, socket, head, admitted);
    admitted.then(
      (refusal) => this.answerUpgrade(req, socket, head, refusal),
      (err) => this.upgradeFailed(socket, err),
    );
  };

  private answerUpgrade(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    refusal: Refusal | undefined,
  ): void {
    if (refusal) {
      this.metrics.upgradesRefused[refusal.reason].value++;
      return refuse(socket, refusal.status, refusal.headers);
    }
    // A check that waited may have outlasted the server or the peer; ws drops a socket that is gone.
    if (this.closing) return refuse(socket, 503);
    const wss = this.wss!;
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  }

  private upgradeFailed(socket: Duplex, err: unknown): void {
    this.logger.error(err);
    refuse(socket, 500);
  }
}

/** ws's codes for the protocol errors that close a connection (ws/lib/receiver.js). */
const WS_ERROR_REASONS = new Map<string | undefined, DisconnectReason>([
  ['WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 'too_big'],
  ['WS_ERR_INVALID_UTF8', 'invalid_utf8'],
]);

function pathOf(url = '/'): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

// A peer that does not read never completes the close handshake, so after the timeout
// whoever is left is terminated.
async function closeAll(clients: Set<WebSocket>, timeoutMs: number): Promise<void> {
  const closed = [...clients].map((ws) => {
    ws.close(CLOSE_GOING_AWAY, 'server shutting down');
    return new Promise<void>((resolve) => ws.once('close', () => resolve()));
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
  await Promise.race([Promise.all(closed), timeout]);
  clearTimeout(timer);
  for (const ws of clients) ws.terminate();
}
