-- presence_set: mark a member present until now + ttl (server clock), and drop
-- members that have expired. Both keys expire when the last member would.
-- KEYS[1]  expiry times (sorted set: member -> expires at, ms since epoch)
-- KEYS[2]  values (hash: member -> value)
-- ARGV[1]  member
-- ARGV[2]  value
-- ARGV[3]  ttl_ms  integer >= 1
-- Returns  the number of live members.
local ttl_ms = tonumber(ARGV[3])
if ttl_ms == nil or ttl_ms % 1 ~= 0 or ttl_ms < 1 then
  return redis.error_reply('ERR presence_set: ttl_ms must be an integer >= 1')
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
-- Expired means expires_at <= now (inclusive, as in the memory backend).
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for i = 1, #expired, 500 do
  redis.call('HDEL', KEYS[2], unpack(expired, i, math.min(i + 499, #expired)))
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + ttl_ms, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], last[2])
redis.call('PEXPIREAT', KEYS[2], last[2])
return redis.call('ZCARD', KEYS[1])
