import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of a server that can hold what clients send for `delayMs` before
 * passing it on, in order: a slow link, to show that a reply waits for what it claims. With
 * `only`, the delay applies to a connection from its first chunk that matches.
 */
export class DelayProxy {
  delayMs = 0;
  only: RegExp | undefined;
  private readonly sockets = new Set<Socket>();
  private cutOff = false;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static start(upstreamPort: number): Promise<DelayProxy> {
    const server = createServer();
    return new Promise((resolve) => {
      server.listen(0, '127.0.0.1', () => {
        const proxy = new DelayProxy(server, (server.address() as { port: number }).port);
        server.on('connection', (client) => proxy.relay(client, upstreamPort));
        resolve(proxy);
      });
    });
  }

  /** A broken link: every connection through it drops, and new ones are dropped at once, until restore(). */
  cut(): void {
    this.cutOff = true;
    this.sockets.forEach((s) => s.destroy());
  }

  restore(): void {
    this.cutOff = false;
  }

  close(): Promise<void> {
    this.sockets.forEach((s) => s.destroy());
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private relay(client: Socket, upstreamPort: number): void {
    if (this.cutOff) return void client.destroy();
    const upstream = createConnection(upstreamPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('error', () => undefined); // the other side closes too: see 'close'
      socket.on('close', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    upstream.pipe(client);
    let slow = false;
    client.on('data', (chunk: Buffer) => {
      slow ||= this.delayMs > 0 && (!this.only || this.only.test(chunk.toString('latin1')));
      if (!slow || this.delayMs === 0) upstream.write(chunk);
      else setTimeout(() => upstream.write(chunk), this.delayMs);
    });
  }
}
