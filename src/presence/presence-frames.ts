import type { Member, MemberInfo } from './presence-store';

/** A room's members at `rev`: at most PRESENCE_MAX_MEMBERS of them, `truncated` when there are more. */
export const presenceJson = (room: string, rev: number, count: number, members: readonly Member[]) =>
  JSON.stringify({ type: 'presence', room, rev, count, members, truncated: count > members.length });

/**
 * What changed in a room's membership up to `rev` (one frame for every change of a short
 * window): a member in `joins` is there now, one in `leaves` is gone. `count` is the room's
 * number of members at `rev`.
 */
export const presenceDiffJson = (
  room: string,
  rev: number,
  count: number,
  joins: readonly Member[],
  leaves: readonly MemberInfo[],
) => JSON.stringify({ type: 'presence_diff', room, rev, count, joins, leaves });
