-- queue_remove: take a member out of a sorted-set queue.
-- KEYS[1]  queue (sorted set)
-- ARGV[1]  member
-- Returns  1 if the member was queued and is now removed, 0 if it was not queued.
return redis.call('ZREM', KEYS[1], ARGV[1])
