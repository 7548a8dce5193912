-- presence_members: drop expired members (server clock), then list the live ones.
-- KEYS[1]  expiry times (sorted set: member -> expires at, ms since epoch)
-- KEYS[2]  values (hash: member -> value)
-- Returns  a flat list member1, value1, member2, value2, ... (any order).
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for i = 1, #expired, 500 do
  redis.call('HDEL', KEYS[2], unpack(expired, i, math.min(i + 499, #expired)))
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('HGETALL', KEYS[2])
