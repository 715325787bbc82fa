-- Removes every session, cell set and lease of the namespace. KEYS: index. ARGV: namespace.
-- Returns how many session keys (live sessions) there were. SCAN rather than the index, so
-- keys the index lost track of go too.
local index_key, ns = KEYS[1], ARGV[1]
local live = 0
for _, kind in ipairs({'session', 'cells', 'lease'}) do
  local cursor = '0'
  repeat
    local page = redis.call('SCAN', cursor, 'MATCH', ns .. ':' .. kind .. ':*', 'COUNT', 1000)
    cursor = page[1]
    for _, key in ipairs(page[2]) do
      local removed = redis.call('DEL', key)
      if kind == 'session' then
        live = live + removed
      end
    end
  until cursor == '0'
end
redis.call('DEL', index_key)
return live
