-- queue_position: where a member stands in a sorted-set queue.
-- KEYS[1]  queue (sorted set)
-- ARGV[1]  member
-- Returns  the 1-based position (1 = next to be claimed), or nil if not queued.
local rank = redis.call('ZRANK', KEYS[1], ARGV[1])
if not rank then
  return false
end
return rank + 1
