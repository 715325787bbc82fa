-- Removes a lease if the owner holds it. KEYS: lease. ARGV: owner. Returns 1 or 0.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
