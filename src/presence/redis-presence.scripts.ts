/*
 * Room members in Redis, kept beside the room counts in the registry's slot and written by the
 * same scripts (src/cluster/registry.ts), so a join, a leave, a node's registration and its
 * reaping each change counts and members at once. Keys, all under the tag T (`{prefix}`):
 *   T:pm:<room>   sorted set of member keys, all scored 0: their order, and the room's count
 *   T:pc:<room>   hash: member key -> its connections on every live node; `#` -> the room's rev
 *   T:pi:<room>   hash: member key -> its info as JSON ({"name":..,"user"|"conn":..})
 *   T:np:<node>   hash: `<room> <member key>` -> that node's connections of the member
 *   T:leaving     sorted set: `<room> <member key>` -> when its grace ends (ms, Redis's clock)
 *   T:why         hash: `<room> <member key>` -> why its last connection went, while in its grace
 *                 (and ` r` when a registration found it gone: its leave reconciles)
 *   T:wh:<end>    stream per webhook endpoint: its events waiting to be delivered (src/webhooks)
 * A room name has no space, so `<room> <key>` splits at the first one. Each join and leave
 * raises the room's rev and is published on T:presence as `<room> <rev> <count> <j|l> <member
 * JSON>`, in the order it happened: every instance hears every change once. The webhook events
 * of these changes (a room's first member joins, a member joins or leaves, its last member
 * leaves) are made here too, so each exists once however many instances race.
 */

/**
 * The functions the registry's scripts call. A script sets T (the tag), PUB (PUBLISH, or
 * SPUBLISH on a Redis Cluster, where the channel shares the slot), GRACE (ms) and WH (the
 * webhook streams: see webhookSpec in src/webhooks/webhook-streams.ts) first, with
 * set_args(); then REASON, why members leave in it, and RECONCILED for a registration.
 */
export const PRESENCE_LUA = `
local T, PUB, GRACE, WH
local REASON = 'closed'
local RECONCILED = false
local function set_args(at)
  T, PUB, GRACE, WH = ARGV[at], ARGV[at + 1], tonumber(ARGV[at + 2]), ARGV[at + 3]
end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- WH is '<queue size> <kinds>:<stream> ...': each endpoint's stream and the kinds of event it
-- takes, o(ccupied) v(acated) j(oined) l(eft).
local NAMES = { o = 'room_occupied', v = 'room_vacated', j = 'member_joined', l = 'member_left' }
local function emit(kind, room, info, reason)
  if WH == nil or WH == '' then return end
  local size, json
  for part in string.gmatch(WH, '%S+') do
    if not size then size = tonumber(part)
    else
      local colon = string.find(part, ':', 1, true)
      if string.find(string.sub(part, 1, colon - 1), kind, 1, true) then
        if not json then
          local now = now_ms()
          local event = { id = now .. '-' .. redis.call('INCR', T .. ':wh:seq'), name = NAMES[kind], room = room, ts = now }
          if info then
            local who = cjson.decode(info)
            event.user, event.conn, event.member_name = who.user, who.conn, who.name
          end
          event.reason = reason
          if RECONCILED then event.reconciled = true end
          json = cjson.encode(event)
        end
        -- The queue is bounded: past its size the oldest events go, and are counted.
        local stream = T .. ':wh:' .. string.sub(part, colon + 1)
        local over = redis.call('XLEN', stream) - size + 1
        if over > 0 then redis.call('HINCRBY', T .. ':wh:dropped', string.sub(part, colon + 1), over) end
        redis.call('XADD', stream, 'MAXLEN', size, '*', 'e', json)
      end
    end
  end
end
local function announce(room, kind, info, connections)
  local rev = redis.call('HINCRBY', T .. ':pc:' .. room, '#', 1)
  local count = redis.call('ZCARD', T .. ':pm:' .. room)
  local member = string.sub(info, 1, -2) .. ',"connections":' .. connections .. '}'
  redis.call(PUB, T .. ':presence', room .. ' ' .. rev .. ' ' .. count .. ' ' .. kind .. ' ' .. member)
end
local function member_leaves(room, key, reason)
  local pm, pc, pi = T .. ':pm:' .. room, T .. ':pc:' .. room, T .. ':pi:' .. room
  local info = redis.call('HGET', pi, key) or '{"name":""}'
  redis.call('ZREM', pm, key)
  redis.call('HDEL', pc, key)
  redis.call('HDEL', pi, key)
  announce(room, 'l', info, 0)
  emit('l', room, info, reason)
  -- The rev goes with the last member: whoever joins next starts the room afresh.
  if redis.call('ZCARD', pm) == 0 then
    redis.call('DEL', pc)
    emit('v', room)
  end
end
-- A member's connections on every node change by delta. Its first one makes it join, or
-- brings it back within the grace, silently; with its last one gone it waits out the grace,
-- counted from \`since\` (ms) when given, else from now.
local function member_add(room, key, info, delta, since)
  if delta == 0 then return end
  local pm, pc = T .. ':pm:' .. room, T .. ':pc:' .. room
  local listed = redis.call('ZSCORE', pm, key)
  if not listed and delta < 0 then return end
  local total = redis.call('HINCRBY', pc, key, delta)
  if delta > 0 then
    if total ~= delta then return end
    if listed then
      redis.call('ZREM', T .. ':leaving', room .. ' ' .. key)
      redis.call('HDEL', T .. ':why', room .. ' ' .. key)
    else
      redis.call('ZADD', pm, 0, key)
      redis.call('HSET', T .. ':pi:' .. room, key, info)
      announce(room, 'j', info, total)
      if redis.call('ZCARD', pm) == 1 then emit('o', room) end
      emit('j', room, info)
    end
  elseif total <= 0 then
    redis.call('HSET', pc, key, 0)
    if GRACE == 0 then member_leaves(room, key, REASON)
    else
      redis.call('ZADD', T .. ':leaving', (since or now_ms()) + GRACE, room .. ' ' .. key)
      -- Why, and whether a registration found it gone: its leave then says it reconciles.
      redis.call('HSET', T .. ':why', room .. ' ' .. key, REASON .. (RECONCILED and ' r' or ''))
    end
  end
end
-- This node now holds \`here\` connections of the member: absolute, like the counts.
local function node_holds(node, room, key, here, info)
  local np, field = T .. ':np:' .. node, room .. ' ' .. key
  local old = tonumber(redis.call('HGET', np, field) or '0')
  if here > 0 then redis.call('HSET', np, field, here) else redis.call('HDEL', np, field) end
  member_add(room, key, info, here - old)
end
-- Takes all of a node's connections out of presence: it left, or was reaped (gone since
-- \`since\`).
local function node_drops(node, since)
  local np = T .. ':np:' .. node
  local held = redis.call('HGETALL', np)
  for i = 1, #held, 2 do
    local space = string.find(held[i], ' ', 1, true)
    local room, key = string.sub(held[i], 1, space - 1), string.sub(held[i], space + 1)
    member_add(room, key, nil, -tonumber(held[i + 1]), since)
  end
  redis.call('DEL', np)
end
-- The node's members become exactly those from ARGV[first] on (room, key, connections, info,
-- four each): a registration, which must not make a member it still holds leave and join.
local function node_replaces(node, first)
  local kept = {}
  for i = first, #ARGV, 4 do
    kept[ARGV[i] .. ' ' .. ARGV[i + 1]] = true
    node_holds(node, ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]), ARGV[i + 3])
  end
  local np = T .. ':np:' .. node
  local held = redis.call('HGETALL', np)
  for i = 1, #held, 2 do
    if not kept[held[i]] then
      local space = string.find(held[i], ' ', 1, true)
      member_add(string.sub(held[i], 1, space - 1), string.sub(held[i], space + 1), nil, -tonumber(held[i + 1]))
      redis.call('HDEL', np, held[i])
    end
  end
end
-- Members whose grace is over leave, unless a connection came back (then it was taken off).
local function sweep()
  local due = redis.call('ZRANGEBYSCORE', T .. ':leaving', '-inf', now_ms(), 'LIMIT', 0, 1000)
  for _, entry in ipairs(due) do
    redis.call('ZREM', T .. ':leaving', entry)
    local space = string.find(entry, ' ', 1, true)
    local room, key = string.sub(entry, 1, space - 1), string.sub(entry, space + 1)
    local why = redis.call('HGET', T .. ':why', entry) or 'closed'
    redis.call('HDEL', T .. ':why', entry)
    RECONCILED = string.sub(why, -2) == ' r'
    local reason = RECONCILED and string.sub(why, 1, -3) or why
    if tonumber(redis.call('HGET', T .. ':pc:' .. room, key) or '-1') == 0 then member_leaves(room, key, reason) end
    RECONCILED = false
  end
  return #due
end
`;

/** Scripts of presence alone; the registry's own call the functions above too. */
export const PRESENCE_SCRIPTS = {
  // KEYS: leaving; ARGV: tag, publish command, grace, webhook streams. Ends the graces that are over.
  presenceSweep: {
    keys: 1,
    lua: `${PRESENCE_LUA}
set_args(1)
return sweep()`,
  },
  // KEYS: pm, pc, pi of a room; ARGV: offset, limit. The rev, the count, then key, connections
  // and info of each listed member, in key order: one read, so all of the same moment.
  presencePage: {
    keys: 3,
    lua: `
local keys = redis.call('ZRANGE', KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[1]) + tonumber(ARGV[2]) - 1)
local out = { redis.call('HGET', KEYS[2], '#') or '0', redis.call('ZCARD', KEYS[1]) }
for _, key in ipairs(keys) do
  out[#out + 1] = key
  out[#out + 1] = redis.call('HGET', KEYS[2], key) or '0'
  out[#out + 1] = redis.call('HGET', KEYS[3], key) or '{}'
end
return out`,
  },
} as const;
