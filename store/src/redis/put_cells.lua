-- Upserts cells of a live session and renews it; never creates data for a missing session.
-- KEYS: session, cells, index, clock. ARGV: id, ttl ms, key 1, body 1, key 2, body 2, ...
-- Returns 0 when the session is absent, 1 when the cells were written.
local session_key, cells_key, index_key, clock_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local id, ttl_ms = ARGV[1], ARGV[2]

if redis.call('EXISTS', session_key) == 0 then
  return 0
end
-- In slices, to stay far below Lua's limit on the number of arguments of one call.
local first = 3
while first <= #ARGV do
  local last = math.min(first + 199, #ARGV)
  redis.call('HSET', cells_key, unpack(ARGV, first, last))
  first = last + 1
end
renew(session_key, cells_key, index_key, clock_key, id, ttl_ms)
return 1
