-- queue_push: enqueue a member in a sorted-set queue (lowest score first;
-- equal scores are ordered by member bytes).
-- KEYS[1]  queue (sorted set)
-- ARGV[1]  member
-- ARGV[2]  score   a number (e.g. enqueue time in ms)
-- Returns  the member's 1-based position after the push. A member already queued
--          keeps its score and position (pushing twice is harmless).
local score = tonumber(ARGV[2])
if score == nil or score ~= score then
  return redis.error_reply('ERR queue_push: score must be a number')
end
redis.call('ZADD', KEYS[1], 'NX', score, ARGV[1])
return redis.call('ZRANK', KEYS[1], ARGV[1]) + 1
