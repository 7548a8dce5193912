-- presence_remove: a member leaves a presence group.
-- KEYS[1]  expiry times (sorted set)
-- KEYS[2]  values (hash)
-- ARGV[1]  member
-- Returns  1 if the member was listed, 0 otherwise.
redis.call('HDEL', KEYS[2], ARGV[1])
return redis.call('ZREM', KEYS[1], ARGV[1])
