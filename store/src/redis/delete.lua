-- Removes a session with its cells and lease. KEYS: index. ARGV: namespace, id.
-- Returns 1 if the session existed (was live), else 0.
return remove_session(ARGV[1], KEYS[1], ARGV[2])
