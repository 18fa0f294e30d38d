import type { HistoryConfig } from '../config/load-config';
import type { Draft, Page, Position, Recovery } from '../history/history-store';
import { MemoryHistory } from '../history/memory-history';
import { MemoryPresence } from '../presence/memory-presence';
import type { MemberHere, MemberPage } from '../presence/presence-store';
import type { Census, Except, LocalRooms, Published, RoomsEngine } from './engine';
import { OutboundText } from './outbound';
import type { EventSink } from '../webhooks/webhook-event';

/**
 * One instance, no REDIS_URL: nothing crosses instances, every count is the local one, and
 * room logs and members are kept in memory. Everything answers at once.
 */
export class MemoryEngine implements RoomsEngine {
  readonly spansInstances = false;
  readonly ready = true;
  private local!: LocalRooms;
  private log!: MemoryHistory;
  private roster!: MemoryPresence;

  constructor(
    private readonly config: HistoryConfig,
    private readonly graceMs: number,
    /** Where room and member events go, for webhooks. */
    private readonly events?: EventSink,
  ) {}

  attach(local: LocalRooms): void {
    this.local = local;
    this.log = new MemoryHistory(this.config, (room) => local.hasMembers(room));
    this.roster = new MemoryPresence(this.graceMs, (change) => local.presenceChanged(change), this.events);
  }

  joined(room: string, localMembers: number, member: MemberHere): number {
    this.roster.set(room, member);
    return localMembers;
  }

  left(room: string, localMembers: number, member?: MemberHere): number {
    if (member) this.roster.set(room, member);
    if (localMembers === 0) this.log.keep(room);
    return localMembers;
  }

  connectionsChanged(): void {}

  publish(room: string, draft: Draft, except: Except): Published {
    const appended = this.log.append(room, draft);
    if (appended.duplicate) return appended;
    // The log encoded the frame already: its bytes are copied into the socket frame, not encoded again.
    const { frame, utf8 } = appended;
    const text = utf8 ? OutboundText.fromEncoded(frame, utf8) : new OutboundText(frame);
    this.local.deliverToRoom(room, text, except);
    return appended;
  }

  enter<T>(room: string, since: Position | undefined, enter: (at: Position | Recovery) => T): T {
    return enter(since ? this.log.recover(room, since, this.config.maxRecover) : this.log.position(room));
  }

  history(room: string, before: number | undefined, limit: number): Page {
    return this.log.page(room, before, limit);
  }

  presence(room: string, offset: number, limit: number): MemberPage {
    return this.roster.page(room, offset, limit);
  }

  broadcast(): boolean {
    return true; // no other instance
  }

  control(): boolean {
    return true; // no other instance
  }

  members(room: string): number {
    return this.local.localMembers(room);
  }

  census(): Census {
    return this.local.localCensus();
  }

  strictCensus(): Census {
    return this.census();
  }
}
