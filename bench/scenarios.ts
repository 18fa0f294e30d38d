import type { ClientSpec } from './load/worker';

/** A fan-out scenario: `rooms` rooms of `members`, the first `senders` members of each sending. */
export interface FanoutScenario {
  id: 'S1' | 'S2' | 'S3';
  title: string;
  rooms: number;
  members: number;
  senders: number;
  /** Deliveries/s every server is measured at, for CPU per delivery. */
  commonRate: number;
  /** Where the search for the maximum starts: low enough for every server to sustain. */
  startRate: number;
}

// The search for the maximum starts low enough that every server (the tutorial's, and three
// instances with Redis sharing the two cores with the load generator) sustains its first step on
// a slow shared machine: a maximum of 0 would say nothing. It climbs ×1.25 a step from there.
export const FANOUT: FanoutScenario[] = [
  {
    id: 'S1',
    title: 'fan-out: 50 rooms x 20 members, 2 senders each',
    rooms: 50,
    members: 20,
    senders: 2,
    commonRate: 30_000,
    startRate: 10_000,
  },
  {
    id: 'S2',
    title: 'big room: 1 room x 1000 members, 1 sender',
    rooms: 1,
    members: 1000,
    senders: 1,
    commonRate: 60_000,
    startRate: 20_000,
  },
  {
    id: 'S3',
    title: 'many small rooms: 1000 rooms x 2 members, both send',
    rooms: 1000,
    members: 2,
    senders: 2,
    commonRate: 8_000,
    startRate: 4_000,
  },
];

export const clientsOf = (s: Pick<FanoutScenario, 'rooms' | 'members' | 'senders'>): ClientSpec[] =>
  Array.from({ length: s.rooms * s.members }, (_, idx) => ({
    idx,
    room: `room-${Math.floor(idx / s.members)}`,
    sends: idx % s.members < s.senders,
  }));

/** Deliveries one message makes: every other member of its room. */
export const fanoutOf = (s: FanoutScenario) => s.members - 1;

/** S4: idle joined connections, in rooms of this many. */
export const IDLE_ROOM_SIZE = 10;
