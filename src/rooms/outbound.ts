import type { Socket } from 'node:net';

/**
 * A server-to-client text message, serialized once and, the first time a recipient without
 * compression needs it, framed once (RFC 6455 section 5.2: FIN + text opcode, unmasked
 * length, payload): every such recipient is written the very same bytes.
 */
export class OutboundText {
  private framed: Buffer | undefined;

  constructor(readonly json: string) {}

  get frame(): Buffer {
    return (this.framed ??= frameText(this.json));
  }
}

function frameText(json: string): Buffer {
  const length = Buffer.byteLength(json);
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
  frame.write(json, head, 'utf8');
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
