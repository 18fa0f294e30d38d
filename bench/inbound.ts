/**
 * `node -r ts-node/register/transpile-only bench/inbound.ts`
 * In-process cost of one inbound room message (1 KB) on the service's own path, no network:
 *   full    - ChatWsAdapter as it runs: decode, direct dispatch (compiled validation, gateway),
 *             RoomsService
 *   nest    - Nest's own handler callback, the path a frame takes when it fails validation or
 *             its handler has other enhancers (context creator, pipes consumer, the pipe, gateway)
 *   direct  - ChatGateway.message called directly with a ready DTO (RoomsService.send, framing)
 *   decode  - decodeFrame (JSON.parse and envelope) alone
 * The recipient's writes are batched and never flushed during a loop, so no syscall is timed.
 */
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { createApp } from '../src/app.factory';
import { loadConfig } from '../src/config/load-config';
import { ChatGateway } from '../src/gateway/chat.gateway';
import { ChatWsAdapter } from '../src/gateway/chat-ws.adapter';
import { MessageDto } from '../src/gateway/dto/text.dto';
import { decodeFrame } from '../src/gateway/frames';

const N = 20_000;
const ROUNDS = 5;
type Captured = { self: unknown; args: unknown[] };
type NestHandler = { message: string; callback: (data: unknown, event: string) => Promise<unknown> };

async function main(): Promise<void> {
  // Each loop leaves ~20 MB for the recipient to read afterwards: not a slow consumer here.
  const app = await createApp(loadConfig({ LOG_LEVEL: 'warn', SLOW_CONSUMER_BYTES: String(2 ** 30) }));
  await app.listen(0, '127.0.0.1');
  const url = `ws://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}/ws`;
  // Nest's handlers for a connection, which the adapter drops when direct dispatch takes every event.
  const proto = ChatWsAdapter.prototype as unknown as {
    handleFrame: (...args: unknown[]) => unknown;
    bindMessageHandlers: (conn: unknown, handlers: NestHandler[]) => void;
  };
  const bind = proto.bindMessageHandlers;
  let handlers: NestHandler[] = [];
  proto.bindMessageHandlers = function (conn, nest) {
    handlers = nest;
    bind.call(this, conn, nest);
  };
  const [a, b] = await Promise.all([connect(url), connect(url)]);
  proto.bindMessageHandlers = bind;
  for (const ws of [a, b]) await request(ws, { type: 'join', room: 'bench' });

  // Catch the adapter's own arguments for a's next frame, to call the same path in a loop.
  const handleFrame = proto.handleFrame;
  const captured = await new Promise<Captured>((resolve) => {
    proto.handleFrame = function (...args: unknown[]) {
      proto.handleFrame = handleFrame;
      resolve({ self: this, args });
      return handleFrame.apply(this, args);
    };
    a.send(JSON.stringify({ type: 'message', message: 'hello' }));
  });
  const [conn, nest] = captured.args;
  const text = 'x'.repeat(1000);
  const frame = Buffer.from(JSON.stringify({ type: 'message', message: text }));
  const handler = handlers.find((h) => h.message === 'message')!.callback;
  const gateway = app.get(ChatGateway);
  const dto = Object.assign(new MessageDto(), { message: text });

  const results = {
    full: await time(() => handleFrame.call(captured.self, conn, nest, frame, false) as Promise<unknown>),
    nest: await time(() => handler({ message: text }, 'message')),
    direct: await time(() => gateway.message(conn as never, dto)),
    decode: await time(() => decodeFrame(frame.toString())),
  };
  console.log(
    Object.entries(results)
      .map(([k, us]) => `${k.padEnd(7)} ${us.toFixed(2)} µs per frame`)
      .join('\n'),
  );
  a.terminate();
  b.terminate();
  await app.close();
}

// The best of ROUNDS loops: the machine is shared, and a slow loop measures the neighbours.
async function time(run: () => unknown): Promise<number> {
  for (let i = 0; i < 2000; i++) await run(); // warm up
  let best = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    const started = performance.now();
    for (let i = 0; i < N; i++) await run();
    best = Math.min(best, ((performance.now() - started) * 1000) / N);
    await new Promise((resolve) => setTimeout(resolve, 500)); // let the recipient read the batch
  }
  return best;
}

function connect(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function request(ws: WebSocket, frame: object): Promise<void> {
  return new Promise((resolve) => {
    ws.once('message', () => resolve());
    ws.send(JSON.stringify(frame));
  });
}

void main();
