-- Creates a session at version 1, enforcing the limit on live sessions atomically.
-- KEYS: session, cells, index, clock. ARGV: namespace, id, body, ttl ms, max, refuse (1/0).
-- Returns {'exists'}, {'full'} or {'ok', number expired, expired ids..., evicted ids...}.
local session_key, cells_key, index_key, clock_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local ns, id, body, ttl_ms = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local max, refuse = tonumber(ARGV[5]), ARGV[6] == '1'

if redis.call('EXISTS', session_key) == 1 then
  return {'exists'}
end
local limit = threshold(now_us(), ttl_ms)
local live = redis.call('ZCOUNT', index_key, '(' .. fmt(limit), '+inf')
if live >= max and (refuse or max == 0) then
  -- Nothing changes, so expired sessions stay for a sweep to report.
  return {'full'}
end

local victims = {}
if live >= max then
  victims = evictable(ns, index_key, limit, live + 1 - max)
  if #victims < live + 1 - max then
    -- Every session that could make room is being evaluated.
    return {'full'}
  end
end

local now = stamp(clock_key)
local expired = remove_expired(ns, index_key, limit)
local evicted = {}
for _, victim in ipairs(victims) do
  -- A member whose key is already gone (removed behind our back) is dropped unreported.
  if remove_session(ns, index_key, victim) == 1 then
    table.insert(evicted, victim)
  end
end

local now_ms = fmt(math.floor(now / 1000))
-- No cells from an earlier session of the same id.
redis.call('DEL', cells_key)
redis.call('HSET', session_key, 'v', '1', 'c', now_ms, 'u', now_ms, 'b', body)
redis.call('PEXPIRE', session_key, ttl_ms)
redis.call('ZADD', index_key, fmt(now), id)

local reply = {'ok', #expired}
for _, gone in ipairs(expired) do
  table.insert(reply, gone)
end
for _, gone in ipairs(evicted) do
  table.insert(reply, gone)
end
return reply
