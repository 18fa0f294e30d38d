import type { WebSocket } from 'ws';

const OPEN = 1; // WebSocket.OPEN, without importing ws's runtime here
const AS_TEXT = { binary: false } as const;

/** One client socket and what the rooms service knows of it. */
export class Connection {
  /** Joined rooms in join order (a repeat join moves a room to the end). */
  readonly rooms = new Set<string>();
  /** Where a message without `room` goes: the most recently joined room still held. */
  current: string | undefined;
  name: string | undefined;
  /** Set when the server cut this peer off for not reading its output. */
  droppedAsSlow = false;

  constructor(
    readonly id: string,
    readonly socket: WebSocket,
    private readonly slowConsumerBytes: number,
  ) {}

  /** What others see as the sender: the display name it gave, else its id. */
  get from(): string {
    return this.name ?? this.id;
  }

  enter(room: string): void {
    this.rooms.delete(room);
    this.rooms.add(room);
    this.current = room;
  }

  /** False when it was not in the room. */
  exit(room: string): boolean {
    if (!this.rooms.delete(room)) return false;
    // Only leaving the current room walks the set, so a message never does.
    if (this.current === room) this.current = lastOf(this.rooms);
    return true;
  }

  exitAll(): void {
    this.rooms.clear();
    this.current = undefined;
  }

  /**
   * Queues one text frame; false when nothing was queued. A peer whose unsent output has
   * passed the bound has stopped reading: it is terminated, not closed, because a close
   * handshake with a peer that does not read never completes.
   */
  send(data: string | Buffer): boolean {
    const socket = this.socket;
    if (socket.readyState !== OPEN) return false;
    if (socket.bufferedAmount > this.slowConsumerBytes) {
      this.droppedAsSlow = true;
      socket.terminate();
      return false;
    }
    socket.send(data, AS_TEXT);
    return true;
  }
}

function lastOf(rooms: Set<string>): string | undefined {
  let last: string | undefined;
  for (const room of rooms) last = room;
  return last;
}
