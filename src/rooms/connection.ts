import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { ANONYMOUS, type AuthState } from '../auth/auth-state';
import { senderJson } from '../gateway/frames';
import type { DisconnectReason } from '../metrics/metrics.service';
import { OutboundText, type WriteBatch } from './outbound';

const OPEN = 1; // WebSocket.OPEN, without importing ws's runtime here
const AS_TEXT = { binary: false } as const;
const NO_ROOMS: readonly string[] = [];

/** One client socket and what the rooms service knows of it. */
export class Connection {
  // A connection holds a few rooms and seldom changes them, so each change makes a new
  // array of the exact size: about 60 bytes for one room, where a Set's table is 250.
  private joined: readonly string[] = NO_ROOMS;
  private given: string | undefined;
  private state: AuthState = ANONYMOUS;
  // The sender's fields of its messages, made once per change of name or identity.
  private sender: string | undefined;
  /** Why the server cut it off, when it did: it stopped reading, or a close code of ours. */
  closedFor: DisconnectReason | undefined;
  /**
   * How many rooms it was in when it left them all, for the close log: a send that finds the
   * peer gone or too slow makes it leave them before its socket's 'close' comes.
   */
  roomsAtExit = 0;
  /** When it opened (ms): a backend command carried out late spares connections newer than itself. */
  readonly openedAt = Date.now();
  // Without a negotiated extension (compression) a frame's bytes are the same for every
  // peer, so they go straight to the TCP socket; ws's own sender would frame them again.
  private readonly tcp: Socket | undefined;

  constructor(
    readonly id: string,
    readonly socket: WebSocket,
    private readonly slowConsumerBytes: number,
    private readonly batch: WriteBatch,
  ) {
    this.tcp = socket.extensions === '' ? (socket as unknown as { _socket: Socket })._socket : undefined;
  }

  /** Where it stands with authentication (see AuthState). */
  get auth(): AuthState {
    return this.state;
  }

  set auth(state: AuthState) {
    this.state = state;
    this.sender = undefined;
  }

  /** The display name it gave in `join`, unless a verified identity names it. */
  set name(name: string) {
    this.given = name;
    this.sender = undefined;
  }

  /** What others see as the sender: its token's name, else the name it gave, else its id. */
  get from(): string {
    return this.state.kind === 'authenticated' ? this.state.identity.name : (this.given ?? this.id);
  }

  /** `"from":...` and, when verified, `"user":...`: this sender's fields of every message frame. */
  get senderJson(): string {
    return (this.sender ??= senderJson(
      this.from,
      this.state.kind === 'authenticated' ? this.state.identity.user : undefined,
    ));
  }

  /** Joined rooms in join order (a repeat join moves a room to the end). */
  get rooms(): readonly string[] {
    return this.joined;
  }

  /** Where a message without `room` goes: the most recently joined room still held. */
  get current(): string | undefined {
    return this.joined[this.joined.length - 1];
  }

  holds(room: string): boolean {
    return this.joined.includes(room);
  }

  // concat and toSpliced size their result exactly; a spread or filter leaves room for 16 more.
  enter(room: string): void {
    const at = this.joined.indexOf(room);
    this.joined = (at === -1 ? this.joined : this.joined.toSpliced(at, 1)).concat(room);
  }

  /** False when it was not in the room. */
  exit(room: string): boolean {
    const at = this.joined.indexOf(room);
    if (at === -1) return false;
    this.joined = this.joined.toSpliced(at, 1);
    return true;
  }

  exitAll(): void {
    this.roomsAtExit = this.joined.length;
    this.joined = NO_ROOMS;
  }

  sendJson(frame: object): boolean {
    return this.send(new OutboundText(JSON.stringify(frame)));
  }

  /**
   * Queues one text frame; false when nothing was queued. A peer whose unsent output has
   * passed the bound has stopped reading: it is terminated, not closed, because a close
   * handshake with a peer that does not read never completes.
   */
  send(text: OutboundText): boolean {
    const socket = this.socket;
    if (socket.readyState !== OPEN) return false;
    if (this.tcp) {
      // Measured before the turn's first frame is queued: what the batch holds until the
      // end of the turn is not a backlog, what the kernel has not taken since is.
      if (this.tcp.writableCorked === 0 && this.tcp.writableLength > this.slowConsumerBytes)
        return this.drop();
      this.batch.write(this.tcp, text.frame);
      return true;
    }
    if (socket.bufferedAmount > this.slowConsumerBytes) return this.drop();
    socket.send(text.json, AS_TEXT);
    return true;
  }

  private drop(): false {
    this.closedFor = 'slow_consumer';
    this.socket.terminate();
    return false;
  }
}
