/*
 * The scripts RedisHistory runs. Each one is atomic, and all its keys (and the channel
 * APPEND publishes on) carry the room's hash tag, so on a Redis Cluster they live in one slot.
 * A room has `meta` (a hash: e = epoch, o = latest offset) and `log` (a stream of its newest
 * frames, entry id `<offset>-0`, fields o = origin, f = frame).
 */

// The room's epoch and offset, starting a log (offset 0, the epoch the caller drew, lasting
// TTL) when there is none: its meta expired, or Redis lost it.
const POSITION = `
local function position(meta, log, epoch, ttl)
  local now = redis.call('HMGET', meta, 'e', 'o')
  if now[1] then return now[1], tonumber(now[2]) end
  -- A stream left by an older log (one kept past its meta) must not answer for the new one.
  redis.call('DEL', log)
  redis.call('HSET', meta, 'e', epoch, 'o', 0)
  redis.call('PEXPIRE', meta, ttl)
  return epoch, 0
end
`;

// Each script with the number of its KEYS; ARGV follow.
export const HISTORY_SCRIPTS = {
  // KEYS: meta, log, cid key (meta again without a cid). ARGV: frame head, history size,
  // TTL (ms), channel, epoch for a new log, cid TTL (ms, '' without a cid), PUBLISH or
  // SPUBLISH, origin, id, ts.
  // Returns {epoch, offset}, or {'', '<offset> <id> <ts>'} for a cid seen before.
  roomsHistoryAppend: {
    keys: 3,
    lua: `${POSITION}
-- 1. A cid seen within its TTL: answer with the first message's ack, and do nothing else.
if ARGV[6] ~= '' then
  local first = redis.call('GET', KEYS[3])
  if first then return {'', first} end
end
-- 2. The next offset, and the frame with it.
local epoch = position(KEYS[1], KEYS[2], ARGV[5], ARGV[3])
local offset = redis.call('HINCRBY', KEYS[1], 'o', 1)
local frame = ARGV[1] .. offset .. '}'
-- 3. Kept in the capped stream; the log lasts TTL after its last message.
if tonumber(ARGV[2]) > 0 then
  redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[2], offset .. '-0', 'o', ARGV[8], 'f', frame)
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
-- 4. Published in the same script, so the channel carries offsets in order.
redis.call(ARGV[7], ARGV[4], epoch .. ' ' .. offset .. ' ' .. ARGV[8] .. ' ' .. frame)
-- 5. The cid remembered with this message's ack.
if ARGV[6] ~= '' then
  redis.call('SET', KEYS[3], offset .. ' ' .. ARGV[9] .. ' ' .. ARGV[10], 'PX', ARGV[6])
end
return {epoch, offset}`,
  },
  // KEYS: meta, log. ARGV: epoch for a new log, TTL (ms). The position; the log lasts TTL from now.
  roomsHistoryPosition: {
    keys: 2,
    lua: `${POSITION}
local epoch, offset = position(KEYS[1], KEYS[2], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return {epoch, offset}`,
  },
  // KEYS: meta, log. ARGV: epoch for a new log, first offset wanted, most entries, TTL (ms).
  // Returns {epoch, offset, then offset, origin, frame for each kept entry from the first wanted}.
  roomsHistoryRange: {
    keys: 2,
    lua: `${POSITION}
local epoch, offset = position(KEYS[1], KEYS[2], ARGV[1], ARGV[4])
local out = {epoch, offset}
for _, entry in ipairs(redis.call('XRANGE', KEYS[2], ARGV[2] .. '-0', '+', 'COUNT', ARGV[3])) do
  out[#out + 1] = entry[1]
  out[#out + 1] = entry[2][2]
  out[#out + 1] = entry[2][4]
end
return out`,
  },
  // KEYS: meta, log. ARGV: epoch for a new log, offset to read below ('' for the newest), limit,
  // TTL (ms).
  // Returns {epoch, offset, 1 when older entries remain else 0, then frames newest first}.
  roomsHistoryPage: {
    keys: 2,
    lua: `${POSITION}
local epoch, offset = position(KEYS[1], KEYS[2], ARGV[1], ARGV[4])
local below = ARGV[2] == '' and '+' or '(' .. ARGV[2] .. '-0'
local limit = tonumber(ARGV[3])
local entries = redis.call('XREVRANGE', KEYS[2], below, '-', 'COUNT', limit + 1)
local out = {epoch, offset, #entries > limit and 1 or 0}
for i = 1, math.min(#entries, limit) do out[#out + 1] = entries[i][2][4] end
return out`,
  },
} as const;
