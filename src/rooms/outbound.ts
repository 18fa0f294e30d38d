import type { Socket } from 'node:net';

/**
 * A server-to-client text message, serialized once and, the first time a recipient without
 * compression needs it, framed once (RFC 6455 section 5.2: FIN + text opcode, unmasked
 * length, payload): every such recipient is written the very same bytes.
 */
export class OutboundText {
  private framed: Buffer | undefined;

  constructor(readonly json: string) {}

  /**
   * `json` framed at once from its UTF-8 bytes, already encoded elsewhere (a room log's copy):
   * a copy of them, not a second encoding. The bytes may be written over later, so the frame is
   * made now.
   */
  static fromEncoded(json: string, utf8: Buffer): OutboundText {
    const text = new OutboundText(json);
    const frame = frameHeader(utf8.length);
    utf8.copy(frame, frame.length - utf8.length);
    text.framed = frame;
    return text;
  }

  get frame(): Buffer {
    return (this.framed ??= frameText(this.json));
  }
}

function frameText(json: string): Buffer {
  const length = Buffer.byteLength(json);
  const frame = frameHeader(length);
  frame.write(json, frame.length - length, 'utf8');
  return frame;
}

/** A frame of `length` payload bytes with its header written; the payload is the caller's to fill. */
function frameHeader(length: number): Buffer {
  const head = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(head + length);
  frame[0] = 0x81; // FIN, opcode 1 (text)
  if (head === 2) {
    frame[1] = length;
  } else if (head === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  return frame;
}

/**
 * Corks a socket on its first write in an event-loop turn and uncorks every corked socket
 * when the turn ends (setImmediate), so the frames one member gets in a turn leave in one
 * write instead of one system call each.
 */
export class WriteBatch {
  private readonly corked: Socket[] = [];

  write(socket: Socket, frame: Buffer): void {
    if (socket.writableCorked === 0) {
      if (this.corked.length === 0) setImmediate(this.flush);
      socket.cork();
      this.corked.push(socket);
    }
    socket.write(frame);
  }

  private readonly flush = (): void => {
    for (const socket of this.corked) socket.uncork();
    this.corked.length = 0;
  };
}
