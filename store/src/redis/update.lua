-- Compare-and-swap of a session body.
-- KEYS: session, cells, index, clock. ARGV: id, ttl ms, expected version, body.
-- Returns {'notfound'}, {'conflict', current version} or {'ok', new version}.
local session_key, cells_key, index_key, clock_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local id, ttl_ms, expected, body = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local current = redis.call('HGET', session_key, 'v')
if not current then
  return {'notfound'}
end
if current ~= expected then
  return {'conflict', current}
end
local version = fmt(tonumber(current) + 1)
redis.call('HSET', session_key, 'v', version, 'b', body)
renew(session_key, cells_key, index_key, clock_key, id, ttl_ms)
return {'ok', version}
