-- Removes the least recently used live sessions not under evaluation. KEYS: index.
-- ARGV: namespace, ttl ms, count. Returns their ids, least recent first.
local index_key, ns, ttl_ms, count = KEYS[1], ARGV[1], ARGV[2], tonumber(ARGV[3])
local ids = evictable(ns, index_key, threshold(now_us(), ttl_ms), count)
local evicted = {}
for _, id in ipairs(ids) do
  if remove_session(ns, index_key, id) == 1 then
    table.insert(evicted, id)
  end
end
return evicted
