import type { WebSocket } from 'ws';

/**
 * Pings every connection each interval; one that has not answered the previous ping is
 * terminated, which runs the normal disconnect path (it leaves its rooms). This is the
 * "detect and close broken connections" recipe from the ws README.
 */
export class Heartbeat {
  private readonly answered = new WeakSet<WebSocket>();
  private readonly missed = new WeakSet<WebSocket>();
  // One pong listener shared by every socket (ws calls it with the socket as `this`), so an
  // idle connection costs no closure of its own.
  private readonly markAnswered: (this: WebSocket) => void;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly clients: ReadonlySet<WebSocket>,
    private readonly intervalMs: number,
  ) {
    const answered = this.answered;
    this.markAnswered = function () {
      answered.add(this);
    };
  }

  track(socket: WebSocket): void {
    this.answered.add(socket);
    socket.on('pong', this.markAnswered);
  }

  /** Whether it was this that terminated the socket. */
  missedPong(socket: WebSocket): boolean {
    return this.missed.has(socket);
  }

  start(): void {
    this.timer = setInterval(() => this.beat(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private beat(): void {
    for (const socket of this.clients) {
      if (this.answered.delete(socket)) {
        socket.ping();
        continue;
      }
      this.missed.add(socket);
      socket.terminate();
    }
  }
}
