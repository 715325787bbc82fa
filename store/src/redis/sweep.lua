-- Removes expired sessions. KEYS: index. ARGV: namespace, ttl ms.
-- Returns their ids, least recently used first.
return remove_expired(ARGV[1], KEYS[1], threshold(now_us(), ARGV[2]))
