import WebSocket, { type ClientOptions } from 'ws';

export type Frame = Record<string, any> & { type: string };

const WAIT_MS = 3000;

/**
 * A test's WebSocket client: frames queue up in arrival order, and next() takes the
 * oldest one (waiting for it, with a timeout of its own, so specs never sleep).
 */
export class TestClient {
  private readonly inbox: Frame[] = [];
  private waiting: ((frame: Frame) => void) | undefined;
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => this.receive(JSON.parse(String(data))));
    this.closed = new Promise((resolve) =>
      socket.on('close', (code, reason) => resolve({ code, reason: String(reason) })),
    );
  }

  /** `protocols` is the subprotocol list offered (Sec-WebSocket-Protocol). */
  static connect(url: string, options?: ClientOptions & { protocols?: string[] }): Promise<TestClient> {
    const { protocols, ...rest } = options ?? {};
    const socket = new WebSocket(url, protocols ?? [], rest);
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(new TestClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Objects are sent as JSON; strings and buffers as they are (a buffer as a binary frame). */
  send(frame: object | string | Buffer): void {
    this.socket.send(typeof frame === 'object' && !Buffer.isBuffer(frame) ? JSON.stringify(frame) : frame);
  }

  /** The next frame, which must be of `type` when one is given. */
  async next(type?: string, timeoutMs = WAIT_MS): Promise<Frame> {
    const frame = this.inbox.shift() ?? (await this.wait(timeoutMs));
    if (type !== undefined && frame.type !== type) {
      throw new Error(`expected a "${type}" frame, got ${JSON.stringify(frame)}`);
    }
    return frame;
  }

  /** Sends a frame and returns the reply to it. */
  async request(frame: object | string | Buffer, type?: string): Promise<Frame> {
    this.send(frame);
    return this.next(type);
  }

  /** True when no frame is waiting or arrives within `ms`. */
  async nothingWithin(ms: number): Promise<boolean> {
    if (this.inbox.length > 0) return false;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        resolve(true);
      }, ms);
      this.waiting = (frame) => {
        clearTimeout(timer);
        this.inbox.unshift(frame);
        resolve(false);
      };
    });
  }

  /** All frames received and not yet taken. */
  drain(): Frame[] {
    return this.inbox.splice(0);
  }

  close(): void {
    this.socket.close();
  }

  private receive(frame: Frame): void {
    const waiting = this.waiting;
    if (!waiting) {
      this.inbox.push(frame);
      return;
    }
    this.waiting = undefined;
    waiting(frame);
  }

  private wait(timeoutMs: number): Promise<Frame> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        reject(new Error(`no frame within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting = (frame) => {
        clearTimeout(timer);
        resolve(frame);
      };
    });
  }
}

/** What the server answered an upgrade: 101 and the chosen subprotocol, or the HTTP status and headers of a refusal. */
export function upgradeAnswer(
  url: string,
  options: ClientOptions & { protocols?: string[] } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; protocol?: string }> {
  const { protocols, ...rest } = options;
  const socket = new WebSocket(url, protocols ?? [], rest);
  return new Promise((resolve, reject) => {
    socket.once('open', () => {
      resolve({ status: 101, headers: {}, protocol: socket.protocol });
      socket.close();
    });
    socket.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode!, headers: res.headers });
      res.resume();
      socket.terminate();
    });
    socket.once('error', reject);
  });
}

export function connectMany(url: string, count: number): Promise<TestClient[]> {
  return Promise.all(Array.from({ length: count }, () => TestClient.connect(url)));
}

/** Joins every client to `room`, one after another so the member counts are predictable. */
export async function joinAll(clients: TestClient[], room: string): Promise<void> {
  for (const client of clients) await client.request({ type: 'join', room }, 'joined');
}
