import { signHs256 } from '../../src/auth/hs256';

/**
 * How a load client speaks to one kind of server. Every server under test carries the same
 * `message` text, so receivers find the benchmark's marker in the raw frame bytes and never
 * parse JSON: the load generator shares the CPU with the server and must stay cheap.
 */
export interface ClientProtocol {
  path: string;
  /** Sent with the upgrade. */
  headers?: Record<string, string>;
  /** Whether the server answers a join; without that, joins get time to settle instead. */
  joinAck: boolean;
  join(room: string): string;
  message(text: string): string;
  /** Handles a non-message frame: answers protocol chatter, reports readiness or a join ack. */
  control(ws: { send(text: string): void }, frame: Buffer): 'ready' | 'joined' | undefined;
  /** Ready as soon as the socket opens. */
  readyOnOpen: boolean;
}

const chatJson = (joinAck: boolean, headers?: Record<string, string>): ClientProtocol => ({
  path: '/ws',
  headers,
  joinAck,
  readyOnOpen: true,
  join: (room) => JSON.stringify({ type: 'join', room }),
  message: (text) => JSON.stringify({ type: 'message', message: text }),
  control: (_ws, frame) => (frame.includes('"joined"') ? 'joined' : undefined),
});

/** Engine.IO 4 / Socket.IO 5 packets over a bare WebSocket, the way socket.io-client frames them. */
const socketIo: ClientProtocol = {
  path: '/socket.io/?EIO=4&transport=websocket',
  joinAck: true,
  readyOnOpen: false,
  join: (room) => `420${JSON.stringify(['join', room])}`,
  message: (text) => `42${JSON.stringify(['message', { message: text }])}`,
  control: (ws, frame) => {
    const head = frame.toString('latin1', 0, 2);
    if (head === '0{')
      ws.send('40'); // engine open: connect to the main namespace
    else if (head === '40') return 'ready';
    else if (head === '2')
      ws.send('3'); // ping -> pong
    else if (head === '43') return 'joined'; // ack of the join
    return undefined;
  },
};

/** The secret the benchmark's authenticating server verifies its clients' token with. */
export const BENCH_JWT_SECRET = 'bench-secret-of-at-least-32-bytes';
// One token for every client: verifying it is the same work whoever it names.
const BENCH_TOKEN = signHs256({ sub: 'bench', exp: Math.floor(Date.now() / 1000) + 86_400 }, BENCH_JWT_SECRET);

export const PROTOCOLS = {
  chat: chatJson(true),
  // The same, authenticated at the upgrade: its first frame is `authenticated`, which control() passes over.
  'chat-token': chatJson(true, { Authorization: `Bearer ${BENCH_TOKEN}` }),
  tutorial: chatJson(false),
  'socket.io': socketIo,
} satisfies Record<string, ClientProtocol>;

export type ProtocolName = keyof typeof PROTOCOLS;
