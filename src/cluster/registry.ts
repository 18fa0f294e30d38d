import type { MemberHere } from '../presence/presence-store';
import { PRESENCE_LUA } from '../presence/redis-presence.scripts';
import type { Census } from '../rooms/engine';
import { byBusiestThenName } from '../rooms/engine';
import type { RedisClient } from './redis-clients';

/*
 * Cluster-wide membership in Redis. Each instance ("node") owns a hash of its local member
 * count per room; `counts` holds the sum over live nodes, kept in step by the scripts below,
 * which run atomically. Nodes write absolute local counts, never deltas, so a write repeated
 * or lost in an outage is put right by the next one, and re-registering replaces a node's
 * whole contribution. `nodes` holds each node's last heartbeat (Redis's clock, so instances'
 * clocks don't matter); a node silent for too long is reaped by whichever survivor notices.
 * `epochs` holds the registration each node's writes must carry: a write from before the
 * node's latest registration (one a hung Redis runs late, after it resumes) changes nothing.
 * Every key shares one hash tag, so on Redis Cluster the scripts' keys live in one slot.
 * Room members (presence) live in the same slot and are written by the same scripts: see
 * redis-presence.scripts.ts, whose T, PUB, GRACE and WH (the webhook streams) each script sets
 * from its ARGV first, and REASON (why members leave) and RECONCILED where they differ.
 */

// Takes a node's whole contribution out of `counts` and deletes its hash.
const REMOVE_NODE = `${PRESENCE_LUA}
local function remove_node(counts, node_key)
  local rooms = redis.call('HGETALL', node_key)
  for i = 1, #rooms, 2 do
    if redis.call('HINCRBY', counts, rooms[i], -tonumber(rooms[i + 1])) <= 0 then
      redis.call('HDEL', counts, rooms[i])
    end
  end
  redis.call('DEL', node_key)
end
`;

// Each script with the number of its KEYS; ARGV follow.
const SCRIPTS = {
  // KEYS: counts, node hash, epochs; ARGV: room, local count, node id, epoch, tag, publish
  // command, grace, webhook streams, and the member whose connections here changed: key,
  // connections, info, why a connection went (for member_left), 'final' when it leaves
  // without a grace (else ''), and 'reconciled' for a change made while Redis was away.
  // The room's cluster-wide count, or -1 when this node is not registered under this epoch
  // (reaped, Redis restarted empty, or a late write from an older registration).
  roomsSetLocal: {
    keys: 3,
    lua: `${PRESENCE_LUA}
if redis.call('HGET', KEYS[3], ARGV[3]) ~= ARGV[4] then return -1 end
set_args(5)
REASON = ARGV[12] or REASON
if ARGV[13] == 'final' then GRACE = 0 end
RECONCILED = ARGV[14] == 'reconciled'
if ARGV[9] then node_holds(ARGV[3], ARGV[1], ARGV[9], tonumber(ARGV[10]), ARGV[11]) end
local old = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
local new = tonumber(ARGV[2])
if new > 0 then redis.call('HSET', KEYS[2], ARGV[1], new) else redis.call('HDEL', KEYS[2], ARGV[1]) end
local total = redis.call('HINCRBY', KEYS[1], ARGV[1], new - old)
if total <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) return 0 end
return total`,
  },
  // KEYS: epochs, conns; ARGV: node id, local connections, epoch. Like roomsSetLocal, never
  // writes for an unregistered node: a reaped node's entry would outlive it.
  roomsSetConnections: {
    keys: 2,
    lua: `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[3] then return -1 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1`,
  },
  // KEYS: counts, node hash, nodes, conns, epochs; ARGV: node id, connections, epoch, tag,
  // publish command, grace, webhook streams, the number of rooms, then room, count pairs,
  // then room, member key, connections, info for each member here: they replace the node's
  // old ones, so a member still here changes nothing, and one gone from here begins its grace
  // (its connections closed while Redis was away). Its events are marked reconciled.
  roomsRegister: {
    keys: 5,
    lua: `${REMOVE_NODE}
set_args(4)
RECONCILED = true
remove_node(KEYS[1], KEYS[2])
redis.call('HSET', KEYS[5], ARGV[1], ARGV[3])
local members_at = 9 + 2 * tonumber(ARGV[8])
for i = 9, members_at - 1, 2 do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
  redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
end
node_replaces(ARGV[1], members_at)
redis.call('HSET', KEYS[4], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[3], now_ms(), ARGV[1])
return 1`,
  },
  // KEYS: counts, nodes, conns, epochs; ARGV: node id, stale after (ms), node key prefix,
  // tag, publish command, grace, webhook streams. Marks this node alive and reaps the silent ones (their
  // members begin their grace); 0 when this node was not registered. A reaped node's keys
  // are built here from its id: they share the hash tag, so on Redis Cluster they live in
  // the same slot as the declared keys.
  roomsHeartbeat: {
    keys: 4,
    lua: `${REMOVE_NODE}
set_args(4)
REASON = 'instance_lost'
local now = now_ms()
local present = redis.call('ZSCORE', KEYS[2], ARGV[1])
if present then redis.call('ZADD', KEYS[2], now, ARGV[1]) end
-- A node that was itself silent too long (Redis hung, or ran this late) cannot tell the dead
-- from those it could not hear either: it reaps nobody this time, and the others get a beat.
-- Too long is 1.5 heartbeats (three quarters of the staleness, two): a beat on time is ~1.
if not present or now - tonumber(present) > 0.75 * tonumber(ARGV[2]) then
  sweep()
  return present and 1 or 0
end
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[2]), 'WITHSCORES')
for i = 1, #stale, 2 do
  local id = stale[i]
  remove_node(KEYS[1], ARGV[3] .. id)
  -- Its members' grace begins when it could first be reaped (its last heartbeat plus the
  -- staleness), not when a survivor's heartbeat noticed: they leave within 3 heartbeats plus
  -- the grace of its death.
  node_drops(id, tonumber(stale[i + 1]) + tonumber(ARGV[2]))
  redis.call('HDEL', KEYS[3], id)
  redis.call('HDEL', KEYS[4], id)
  redis.call('ZREM', KEYS[2], id)
end
sweep()
return present and 1 or 0`,
  },
  // KEYS: counts, node hash, nodes, conns, epochs; ARGV: node id, tag, publish command, grace,
  // webhook streams. Its members begin their grace: a user that reconnects to another
  // instance stays. Its connections were closed (it is shutting down).
  roomsUnregister: {
    keys: 5,
    lua: `${REMOVE_NODE}
set_args(2)
remove_node(KEYS[1], KEYS[2])
node_drops(ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('HDEL', KEYS[5], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return 1`,
  },
} as const;

type Scripted = {
  [name in keyof typeof SCRIPTS]: (...args: (string | number)[]) => Promise<number>;
};

export class Registry {
  private readonly keys: Record<'counts' | 'nodes' | 'conns' | 'epochs' | 'node' | 'nodePrefix', string>;
  private registration = 0;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    private readonly nodeId: string,
    /** Tag, publish command, grace and webhook streams, for the members these scripts write (RedisPresence.scriptArgs). */
    private readonly presence: readonly [string, string, number, string],
  ) {
    const tag = `{${prefix}}`;
    this.keys = {
      counts: `${tag}:counts`,
      nodes: `${tag}:nodes`,
      conns: `${tag}:conns`,
      epochs: `${tag}:epochs`,
      node: `${tag}:node:${nodeId}`,
      nodePrefix: `${tag}:node:`,
    };
    for (const [name, { lua, keys }] of Object.entries(SCRIPTS)) {
      // EVALSHA, falling back to EVAL when Redis has lost its script cache (a restart).
      if (!(name in redis)) redis.defineCommand(name, { lua, numberOfKeys: keys });
    }
  }

  private get scripts(): Scripted {
    return this.redis as unknown as Scripted;
  }

  /** This node's current registration: it goes up each time the node registers. */
  get epoch(): number {
    return this.registration;
  }

  /**
   * Sets this node's count for `room`, and with `member` its connections of that member there;
   * the cluster-wide count, or -1 if this node must re-register.
   */
  setLocal(room: string, localMembers: number, member?: MemberHere, reconciled = false): Promise<number> {
    const { counts, node, epochs } = this.keys;
    return this.scripts.roomsSetLocal(
      counts,
      node,
      epochs,
      room,
      localMembers,
      this.nodeId,
      this.registration,
      ...this.presence,
      ...(member ? [...memberArgs(member), member.why ?? 'closed', member.final ? 'final' : ''] : []),
      ...(member && reconciled ? ['reconciled'] : []),
    );
  }

  /** False if this node must re-register. */
  async setConnections(localConnections: number): Promise<boolean> {
    const { epochs, conns } = this.keys;
    const done = await this.scripts.roomsSetConnections(
      epochs,
      conns,
      this.nodeId,
      localConnections,
      this.registration,
    );
    return done === 1;
  }

  /** Replaces whatever Redis holds for this node with `local` and `members` (after a start or an outage). */
  async register(local: Census, members: Iterable<[string, MemberHere]> = []): Promise<void> {
    const { counts, node, nodes, conns, epochs } = this.keys;
    const pairs = local.rooms.flatMap(({ name, members }) => [name, members]);
    const held = [...members].flatMap(([room, member]) => [room, ...memberArgs(member)]);
    const epoch = ++this.registration;
    await this.scripts.roomsRegister(
      counts,
      node,
      nodes,
      conns,
      epochs,
      this.nodeId,
      local.connections,
      epoch,
      ...this.presence,
      local.rooms.length,
      ...pairs,
      ...held,
    );
  }

  /** False when this node was not registered and must re-register. */
  async heartbeat(staleAfterMs: number): Promise<boolean> {
    const { counts, nodes, conns, epochs, nodePrefix } = this.keys;
    const present = await this.scripts.roomsHeartbeat(
      counts,
      nodes,
      conns,
      epochs,
      this.nodeId,
      staleAfterMs,
      nodePrefix,
      ...this.presence,
    );
    return present === 1;
  }

  async unregister(): Promise<void> {
    const { counts, node, nodes, conns, epochs } = this.keys;
    await this.scripts.roomsUnregister(counts, node, nodes, conns, epochs, this.nodeId, ...this.presence);
  }

  async members(room: string): Promise<number> {
    return Number((await this.redis.hget(this.keys.counts, room)) ?? 0);
  }

  /** One round trip, however many rooms and nodes there are. */
  async census(): Promise<Census> {
    const [counts, conns] = await Promise.all([
      this.redis.hgetall(this.keys.counts),
      this.redis.hvals(this.keys.conns),
    ]);
    const rooms = Object.entries(counts)
      .map(([name, members]) => ({ name, members: Number(members) }))
      .filter((room) => room.members > 0)
      .sort(byBusiestThenName);
    return { rooms, connections: conns.reduce((sum, n) => sum + Number(n), 0) };
  }
}

const memberArgs = ({ key, here, info }: MemberHere) => [key, here, JSON.stringify(info)];
