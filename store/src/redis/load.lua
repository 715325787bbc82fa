-- Reads a session with its cells, renewing it when asked.
-- KEYS: session, cells, index, clock. ARGV: id, ttl ms, renew (1/0).
-- Returns nil when absent (expired keys are absent), else {version, created, last used,
-- body, {cell key, cell body, ...}}.
local session_key, cells_key, index_key, clock_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local id, ttl_ms, renewing = ARGV[1], ARGV[2], ARGV[3] == '1'

local fields = redis.call('HMGET', session_key, 'v', 'c', 'u', 'b')
if not fields[1] then
  return false
end
if renewing then
  fields[3] = renew(session_key, cells_key, index_key, clock_key, id, ttl_ms)
end
return {fields[1], fields[2], fields[3], fields[4], redis.call('HGETALL', cells_key)}
