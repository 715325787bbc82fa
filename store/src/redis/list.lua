-- Live sessions, most recently used first. KEYS: index. ARGV: namespace, ttl ms.
-- Returns {id, version, created, last used, body, id, ...}.
local index_key, ns, ttl_ms = KEYS[1], ARGV[1], ARGV[2]
local ids = redis.call('ZREVRANGEBYSCORE', index_key, '+inf',
  '(' .. fmt(threshold(now_us(), ttl_ms)))
local reply = {}
for _, id in ipairs(ids) do
  local fields = redis.call('HMGET', ns .. ':session:' .. id, 'v', 'c', 'u', 'b')
  if fields[1] then
    table.insert(reply, id)
    for _, field in ipairs(fields) do
      table.insert(reply, field)
    end
  end
end
return reply
