/**
 * One load-generator process: holds a share of the clients, sends at the rate it is told,
 * and checks every delivery (right room, not the sender's own, each message once, in order),
 * recording latency in an HDR histogram. Driven by bench/run.ts over IPC.
 */
import * as hdr from 'hdr-histogram-js';
import { LeanSocket } from './lean-socket';
import { messageText, nowUs, readStamp, type Stamp } from './marker';
import { type ClientProtocol, PROTOCOLS, type ProtocolName } from './protocols';

export interface ClientSpec {
  idx: number;
  room: string;
  sends: boolean;
}

export type Command =
  | {
      cmd: 'setup';
      /** One per instance: client idx connects to urls[idx % urls.length]. */
      urls: string[];
      protocol: ProtocolName;
      clients: ClientSpec[];
      roomOf: string[];
      messageBytes: number;
      /** Source address, so that many connections don't run out of ports on one. */
      localAddress: string;
    }
  | { cmd: 'send'; ratePerSender: number; durationMs: number }
  | { cmd: 'count' }
  | { cmd: 'collect' }
  | { cmd: 'exit' };

export interface WindowStats {
  received: number;
  duplicates: number;
  misrouted: number;
  gaps: number;
  histogram: string;
  cpuUs: number;
}

interface Client extends ClientSpec {
  ws: LeanSocket;
  lastSeq: Map<number, number>;
  sent: number;
}

const CONNECT_CONCURRENCY = 100;
let protocol: ClientProtocol;
let clients: Client[] = [];
let roomOf: string[] = [];
let messageBytes = 1024;
let localAddress = '127.0.0.1';
let window = freshWindow();

function freshWindow() {
  return {
    received: 0,
    duplicates: 0,
    misrouted: 0,
    gaps: 0,
    histogram: hdr.build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: 120_000_000,
      numberOfSignificantValueDigits: 3,
    }),
    cpu: process.cpuUsage(),
  };
}

const reply = (message: object) => process.send!(message);

process.on('message', (command: Command) => {
  switch (command.cmd) {
    case 'setup':
      protocol = PROTOCOLS[command.protocol];
      roomOf = command.roomOf;
      messageBytes = command.messageBytes;
      localAddress = command.localAddress;
      void connectAll(command.urls, command.clients).then((connectMs) => reply({ ev: 'ready', connectMs }));
      break;
    case 'send':
      window = freshWindow();
      void sendFor(command.ratePerSender, command.durationMs).then((sent) => reply({ ev: 'sent', sent }));
      break;
    case 'count':
      reply({ ev: 'count', received: window.received });
      break;
    case 'collect':
      reply({ ev: 'stats', stats: collect() });
      break;
    case 'exit':
      for (const c of clients) c.ws.terminate();
      process.exit(0);
  }
});

async function connectAll(urls: string[], specs: ClientSpec[]): Promise<number> {
  const started = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < specs.length) {
      const spec = specs[next++];
      clients.push(await connect(urls[spec.idx % urls.length], spec));
    }
  };
  await Promise.all(Array.from({ length: CONNECT_CONCURRENCY }, lane));
  return performance.now() - started;
}

function connect(url: string, spec: ClientSpec): Promise<Client> {
  const stamp: Stamp = { sender: 0, seq: 0, sentAtUs: 0 };
  return new Promise((resolve, reject) => {
    let client: Client | undefined;
    let joined = false;
    const join = (ws: LeanSocket) => {
      ws.send(protocol.join(spec.room));
      if (!protocol.joinAck) joined = true;
    };
    const handlers = {
      onText: (frame: Buffer, ws: LeanSocket) => {
        if (readStamp(frame, stamp)) return receive(client!, stamp);
        const event = protocol.control(ws, frame);
        if (event === 'ready') join(ws);
        else if (event === 'joined') {
          joined = true;
          if (client) resolve(client);
        }
      },
      onClose: () => console.error(`client ${spec.idx} was closed by the server`),
    };
    LeanSocket.connect(url + protocol.path, localAddress, handlers, protocol.headers).then((ws) => {
      client = { ...spec, ws, lastSeq: new Map(), sent: 0 };
      if (protocol.readyOnOpen) join(ws);
      if (joined) resolve(client);
    }, reject);
  });
}

function receive(client: Client, stamp: Stamp): void {
  const w = window;
  if (roomOf[stamp.sender] !== client.room || stamp.sender === client.idx) {
    w.misrouted++;
    return;
  }
  const last = client.lastSeq.get(stamp.sender) ?? 0;
  if (stamp.seq <= last) {
    w.duplicates++;
    return;
  }
  if (stamp.seq > last + 1) w.gaps += stamp.seq - last - 1;
  client.lastSeq.set(stamp.sender, stamp.seq);
  w.received++;
  w.histogram.recordValue(Math.max(1, nowUs() - stamp.sentAtUs));
}

/** Sends at `ratePerSender` messages/s from every sender, phases spread so senders don't fire together. */
function sendFor(ratePerSender: number, durationMs: number): Promise<Record<number, number>> {
  const senders = clients.filter((c) => c.sends);
  const base = senders.map((s) => s.sent);
  const started = performance.now();
  const sentInWindow: Record<number, number> = {};
  return new Promise((resolve) => {
    const tick = () => {
      const elapsedMs = Math.min(performance.now() - started, durationMs);
      senders.forEach((s, i) => {
        const due = Math.floor((elapsedMs / 1000) * ratePerSender + i / senders.length);
        while (s.sent - base[i] < due) {
          s.sent++;
          s.ws.send(protocol.message(messageText(s.idx, s.sent, nowUs(), messageBytes)));
        }
      });
      if (elapsedMs < durationMs) return;
      clearInterval(timer);
      senders.forEach((s, i) => (sentInWindow[s.idx] = s.sent - base[i]));
      resolve(sentInWindow);
    };
    const timer = setInterval(tick, 2);
  });
}

function collect(): WindowStats {
  const cpu = process.cpuUsage(window.cpu);
  return {
    received: window.received,
    duplicates: window.duplicates,
    misrouted: window.misrouted,
    gaps: window.gaps,
    histogram: hdr.encodeIntoCompressedBase64(window.histogram),
    cpuUs: cpu.user + cpu.system,
  };
}
