import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WebhookEvent } from '../../src/webhooks/webhook-event';

export interface Received {
  at: number;
  headers: IncomingHttpHeaders;
  body: string;
  ids: string[];
  /** What it was answered, once it was. */
  status?: number;
}
/** A status, a status with headers, or 'hang': never answer. */
export type Reply = number | { status: number; headers: Record<string, string> } | 'hang';

/** A webhook endpoint on 127.0.0.1 that records each request and answers as `reply` says. */
export class Receiver {
  readonly requests: Received[] = [];
  /** Kept while it is down, so it can come back on the same port. */
  port = 0;
  reply: (request: Received, n: number) => Reply = () => 200;
  private server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      const ids = (JSON.parse(body) as { events: WebhookEvent[] }).events.map((event) => event.id);
      const request: Received = { at: Date.now(), headers: req.headers, body, ids };
      this.requests.push(request);
      const reply = this.reply(request, this.requests.length);
      if (reply === 'hang') return;
      const { status, headers } = typeof reply === 'number' ? { status: reply, headers: {} } : reply;
      request.status = status;
      res.writeHead(status, headers).end('ok');
    });
  });

  static async start(): Promise<Receiver> {
    const receiver = new Receiver();
    await receiver.listen(0);
    return receiver;
  }

  url(path = '/hooks'): URL {
    return new URL(`http://127.0.0.1:${this.port}${path}`);
  }

  /** Every event of every request answered 2xx, in the order received. */
  get delivered(): WebhookEvent[] {
    return this.requests
      .filter((request) => request.status !== undefined && request.status < 300)
      .flatMap((request) => (JSON.parse(request.body) as { events: WebhookEvent[] }).events);
  }

  /** Every event id received, in the order received. */
  get ids(): string[] {
    return this.requests.flatMap((request) => request.ids);
  }

  async listen(port: number): Promise<void> {
    this.server.listen(port, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** Down: nothing listens on its port any more, so connecting is refused. */
  async close(): Promise<void> {
    this.server.closeAllConnections();
    if (this.server.listening) await new Promise((resolve) => this.server.close(resolve));
  }
}
