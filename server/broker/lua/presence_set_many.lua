-- presence_set_many: presence_set for many members of one group in one call: each
-- member is present with its value until now + ttl (server clock); expired members
-- are dropped. Both keys expire when the last member would.
-- KEYS[1]  expiry times (sorted set: member -> expires at, ms since epoch)
-- KEYS[2]  values (hash: member -> value)
-- ARGV[1]  ttl_ms  integer >= 1
-- ARGV[2..]  member1, value1, member2, value2, ...
-- Returns  the number of live members.
local ttl_ms = tonumber(ARGV[1])
if ttl_ms == nil or ttl_ms % 1 ~= 0 or ttl_ms < 1 then
  return redis.error_reply('ERR presence_set_many: ttl_ms must be an integer >= 1')
end
if #ARGV % 2 ~= 1 then
  return redis.error_reply('ERR presence_set_many: members and values must come in pairs')
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
-- Expired means expires_at <= now (inclusive, as in the memory backend).
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for i = 1, #expired, 500 do
  redis.call('HDEL', KEYS[2], unpack(expired, i, math.min(i + 499, #expired)))
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
-- In chunks of 250 members: unpack() is bounded by Lua's C stack.
local expires_at = now + ttl_ms
for i = 2, #ARGV, 500 do
  local scored, fields = {}, {}
  for j = i, math.min(i + 498, #ARGV - 1), 2 do
    scored[#scored + 1] = expires_at
    scored[#scored + 1] = ARGV[j]
    fields[#fields + 1] = ARGV[j]
    fields[#fields + 1] = ARGV[j + 1]
  end
  redis.call('ZADD', KEYS[1], unpack(scored))
  redis.call('HSET', KEYS[2], unpack(fields))
end
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if #last == 0 then
  return 0
end
redis.call('PEXPIREAT', KEYS[1], last[2])
redis.call('PEXPIREAT', KEYS[2], last[2])
return redis.call('ZCARD', KEYS[1])
