-- Shared by every script that needs the time; prepended to it when the script is built.
--
-- Time comes from the Redis server's clock, so instances whose clocks disagree still agree
-- on expiry. Index scores are microsecond stamps made strictly increasing through a clock
-- key, so the least-recently-used order is exact even for uses within one microsecond.
-- Integers are formatted with '%.0f': Lua numbers are doubles, exact for these magnitudes
-- (microseconds since 1970 stay below 2^53 until the year 2255), and tostring would round.

local function fmt(number)
  return string.format('%.0f', number)
end

local function now_us()
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000000 + tonumber(time[2])
end

-- A strictly increasing stamp (microseconds) kept in clock_key.
local function stamp(clock_key)
  local now = now_us()
  local last = tonumber(redis.call('GET', clock_key) or '0')
  if now <= last then
    now = last + 1
  end
  redis.call('SET', clock_key, fmt(now))
  return now
end

-- Sessions whose stamp is at or before this are expired.
local function threshold(now, ttl_ms)
  return now - tonumber(ttl_ms) * 1000
end

-- Removes the session `id` of namespace `ns` with its cells and lease; 1 if its key existed.
local function remove_session(ns, index_key, id)
  local existed = redis.call('DEL', ns .. ':session:' .. id)
  redis.call('DEL', ns .. ':cells:' .. id, ns .. ':lease:' .. id)
  redis.call('ZREM', index_key, id)
  return existed
end

-- Up to `count` live sessions (stamp after `limit`) that may be evicted, least recently used
-- first: a session holding an evaluation lease is in use, whenever it was last loaded.
local function evictable(ns, index_key, limit, count)
  local victims = {}
  local offset = 0
  while #victims < count do
    local ids = redis.call('ZRANGEBYSCORE', index_key, '(' .. fmt(limit), '+inf',
      'LIMIT', offset, 64)
    if #ids == 0 then
      break
    end
    for _, id in ipairs(ids) do
      if #victims < count and redis.call('EXISTS', ns .. ':lease:' .. id) == 0 then
        table.insert(victims, id)
      end
    end
    offset = offset + #ids
  end
  return victims
end

-- Removes the sessions whose stamp is at or before `limit`; returns their ids, least recently
-- used first.
local function remove_expired(ns, index_key, limit)
  local expired = redis.call('ZRANGEBYSCORE', index_key, '-inf', fmt(limit))
  for _, id in ipairs(expired) do
    remove_session(ns, index_key, id)
  end
  return expired
end

-- Marks the session used now: last-used time, index score, expiry of its keys.
local function renew(session_key, cells_key, index_key, clock_key, id, ttl_ms)
  local now = stamp(clock_key)
  local now_ms = fmt(math.floor(now / 1000))
  redis.call('HSET', session_key, 'u', now_ms)
  redis.call('PEXPIRE', session_key, ttl_ms)
  redis.call('PEXPIRE', cells_key, ttl_ms)
  redis.call('ZADD', index_key, fmt(now), id)
  return now_ms
end
