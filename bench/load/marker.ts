/**
 * The benchmark's message text: `B|<sender>|<seq>|<sent at, µs since the epoch>|` padded
 * with 'x' to the message size. Receivers read it straight from the frame bytes.
 */
const MARK = Buffer.from('B|');
const BAR = 0x7c;

export function messageText(sender: number, seq: number, sentAtUs: number, size: number): string {
  const head = `B|${sender}|${seq}|${sentAtUs}|`;
  return head + 'x'.repeat(Math.max(0, size - head.length));
}

export interface Stamp {
  sender: number;
  seq: number;
  sentAtUs: number;
}

/** The stamp in a frame, or undefined when the frame carries no benchmark message. */
export function readStamp(frame: Buffer, into: Stamp): Stamp | undefined {
  let at = frame.indexOf(MARK);
  if (at === -1) return undefined;
  at += 2;
  const fields = [0, 0, 0];
  for (let f = 0; f < 3; f++) {
    let value = 0;
    for (let c = frame[at++]; c !== BAR; c = frame[at++]) value = value * 10 + (c - 48);
    fields[f] = value;
  }
  into.sender = fields[0];
  into.seq = fields[1];
  into.sentAtUs = fields[2];
  return into;
}

export const nowUs = (): number => Math.round((performance.timeOrigin + performance.now()) * 1000);
