import { NAME_MAX_LENGTH, NAME_PATTERN } from '../gateway/dto/join.dto';
import { charCount } from '../gateway/dto/chars';
import { ROOM_NAME_MAX_LENGTH } from '../rooms/room-name';

/** Who a verified token says the connection is: all the service keeps of its claims. */
export interface Identity {
  /** The token's `sub`: the user, as `user` on every frame they send. */
  readonly user: string;
  /** The token's `name`, else `sub`: the display name, as `from`. */
  readonly name: string;
  /** The private rooms it may join: exact names, or prefixes before a trailing `*`. */
  readonly rooms: RoomGrants;
  /** The token's `exp`, in epoch seconds. */
  readonly exp: number;
}

/** A `rooms` claim, split once at verification so each join is a lookup and a few prefix tests. */
export interface RoomGrants {
  readonly exact: ReadonlySet<string>;
  readonly prefixes: readonly string[];
}

export const SUB_MAX_LENGTH = 256;
const MAX_GRANTS = 256;
// A room name, or a room-name prefix followed by `*` (`*` alone grants every room).
const GRANT_PATTERN = new RegExp(`^(?:[A-Za-z0-9_.:-]{1,${ROOM_NAME_MAX_LENGTH}}|[A-Za-z0-9_.:-]{0,${ROOM_NAME_MAX_LENGTH - 1}}\\*)$`);
// The display-name rule of `join` (no control or invisible characters), for `sub` as for `name`.
const SHOWABLE = NAME_PATTERN;

/** The identity in a verified payload, or why its claims cannot be one. */
export function identityOf(payload: Record<string, unknown>): Identity | string {
  const { sub, name, rooms, exp } = payload;
  if (!isSub(sub)) return `"sub" must be ${SUB_RULE}`;
  if (name !== undefined && (typeof name !== 'string' || !isDisplayName(name))) {
    return `"name" must be 1 to ${NAME_MAX_LENGTH} characters with no control or invisible characters`;
  }
  if (typeof exp !== 'number') return '"exp" is required';
  const grants = grantsOf(rooms);
  if (typeof grants === 'string') return grants;
  return { user: sub, name: (name as string | undefined) ?? sub, rooms: grants, exp };
}

export const SUB_RULE = `1 to ${SUB_MAX_LENGTH} characters with no control or invisible characters`;

/** Whether a token's `sub` may be this. */
export function isSub(sub: unknown): sub is string {
  return typeof sub === 'string' && sub.length > 0 && charCount(sub) <= SUB_MAX_LENGTH && SHOWABLE.test(sub);
}

/** Exact, or by the prefix before a trailing `*`; case-sensitive. */
export function grants(rooms: RoomGrants, room: string): boolean {
  if (rooms.exact.has(room)) return true;
  for (const prefix of rooms.prefixes) if (room.startsWith(prefix)) return true;
  return false;
}

function isDisplayName(name: string): boolean {
  const length = charCount(name);
  return length >= 1 && length <= NAME_MAX_LENGTH && NAME_PATTERN.test(name);
}

const NO_GRANTS: RoomGrants = { exact: new Set(), prefixes: [] };

function grantsOf(rooms: unknown): RoomGrants | string {
  if (rooms === undefined) return NO_GRANTS;
  const rule = `"rooms" must be an array of at most ${MAX_GRANTS} room names, each of which may end in *`;
  if (!Array.isArray(rooms) || rooms.length > MAX_GRANTS) return rule;
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const grant of rooms) {
    if (typeof grant !== 'string' || !GRANT_PATTERN.test(grant)) return rule;
    if (grant.endsWith('*')) prefixes.push(grant.slice(0, -1));
    else exact.add(grant);
  }
  return { exact, prefixes };
}
