-- Extends a lease its owner still holds. KEYS: lease. ARGV: owner, ttl ms. Returns 1 or 0.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
