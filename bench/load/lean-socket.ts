import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import type { Socket } from 'node:net';

const OP_TEXT = 0x1;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;

/**
 * Just enough of a WebSocket client for the load generator, which shares two cores with the
 * server under test: frames are parsed in place from each read, payloads are handed over as
 * slices without UTF-8 decoding, and outgoing frames use a zero mask key (valid per RFC 6455,
 * and the payload needs no masking pass). No extensions, no fragmentation.
 */
export interface LeanHandlers {
  onText(payload: Buffer, socket: LeanSocket): void;
  onClose(): void;
}

export class LeanSocket {
  private pending: Buffer | undefined;

  private constructor(
    private readonly socket: Socket,
    private handlers: LeanHandlers,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    socket.on('close', () => this.handlers.onClose());
    socket.on('error', () => undefined); // 'close' follows
  }

  /** The handlers are in place before the first frame, which may come with the upgrade itself. */
  static connect(
    url: string,
    localAddress: string,
    handlers: LeanHandlers,
    headers: Record<string, string> = {},
  ): Promise<LeanSocket> {
    const { hostname, port, pathname, search } = new URL(url);
    return new Promise((resolve, reject) => {
      const req = request({
        host: hostname,
        port,
        path: pathname + search,
        localAddress,
        headers: {
          Connection: 'Upgrade',
          Upgrade: 'websocket',
          'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
          'Sec-WebSocket-Version': '13',
          ...headers,
        },
      });
      req.on('upgrade', (_res, socket, head) => {
        const lean = new LeanSocket(socket, handlers);
        if (head.length > 0) lean.read(head);
        resolve(lean);
      });
      req.on('response', (res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      req.on('error', reject);
      req.end();
    });
  }

  send(text: string): void {
    this.write(OP_TEXT, Buffer.from(text));
  }

  terminate(): void {
    this.handlers = { onText: () => undefined, onClose: () => undefined };
    this.socket.destroy();
  }

  private write(opcode: number, payload: Buffer): void {
    const len = payload.length;
    const head = len < 126 ? 2 : len < 65536 ? 4 : 10;
    const frame = Buffer.allocUnsafe(head + 4 + len);
    frame[0] = 0x80 | opcode;
    if (head === 2) frame[1] = 0x80 | len;
    else if (head === 4) {
      frame[1] = 0x80 | 126;
      frame.writeUInt16BE(len, 2);
    } else {
      frame[1] = 0x80 | 127;
      frame.writeBigUInt64BE(BigInt(len), 2);
    }
    frame.writeUInt32BE(0, head); // mask key 0: masking leaves the payload as it is
    payload.copy(frame, head + 4);
    this.socket.write(frame);
  }

  private read(chunk: Buffer): void {
    let buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    while (buf.length >= 2) {
      let len = buf[1] & 0x7f;
      let at = 2;
      if (len === 126) {
        if (buf.length < 4) break;
        len = buf.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (buf.length < 10) break;
        len = Number(buf.readBigUInt64BE(2));
        at = 10;
      }
      if (buf.length < at + len) break;
      this.frame(buf[0] & 0x0f, buf.subarray(at, at + len));
      buf = buf.subarray(at + len);
    }
    this.pending = buf.length > 0 ? buf : undefined;
  }

  private frame(opcode: number, payload: Buffer): void {
    if (opcode === OP_TEXT) this.handlers.onText(payload, this);
    else if (opcode === OP_PING) this.write(OP_PONG, payload);
    else if (opcode === OP_CLOSE) this.socket.end();
  }
}
