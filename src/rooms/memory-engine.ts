import type { Census, LocalRooms, RoomsEngine } from './engine';

/** One instance, no REDIS_URL: nothing crosses instances, and every count is the local one. */
export class MemoryEngine implements RoomsEngine {
  readonly spansInstances = false;
  readonly ready = true;
  private local!: LocalRooms;

  attach(local: LocalRooms): void {
    this.local = local;
  }

  joined(_room: string, localMembers: number): number {
    return localMembers;
  }

  left(_room: string, localMembers: number): number {
    return localMembers;
  }

  connectionsChanged(): void {}

  publish(): void {}

  broadcast(): void {}

  members(room: string): number {
    return this.local.localMembers(room);
  }

  census(): Census {
    return this.local.localCensus();
  }
}
