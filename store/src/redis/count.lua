-- How many live sessions there are. KEYS: index. ARGV: ttl ms.
return redis.call('ZCOUNT', KEYS[1], '(' .. fmt(threshold(now_us(), ARGV[1])), '+inf')
