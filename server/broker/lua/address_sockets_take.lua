-- address_sockets_take: count one more open socket of a client address on a node,
-- unless the address's sockets on every live node would pass the limit. A node that
-- stops renewing (it died) is forgotten after ttl_ms, with its sockets.
-- KEYS[1]  node expiry (sorted set: node id -> expires at, ms since epoch)
-- KEYS[2]  sockets (hash: node id -> the address's open sockets on that node)
-- ARGV[1]  node id
-- ARGV[2]  limit   integer >= 0: the most sockets the address may hold
-- ARGV[3]  ttl_ms  integer >= 1
-- Returns  the address's sockets after the take, or -1 at the limit (nothing changes).
local limit, ttl_ms = tonumber(ARGV[2]), tonumber(ARGV[3])
if limit == nil or limit % 1 ~= 0 or limit < 0 then
  return redis.error_reply('ERR address_sockets_take: limit must be an integer >= 0')
end
if ttl_ms == nil or ttl_ms % 1 ~= 0 or ttl_ms < 1 then
  return redis.error_reply('ERR address_sockets_take: ttl_ms must be an integer >= 1')
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
-- Expired means expires_at <= now (inclusive, as in the memory backend).
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for i = 1, #expired, 500 do
  redis.call('HDEL', KEYS[2], unpack(expired, i, math.min(i + 499, #expired)))
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local total = 0
for _, count in ipairs(redis.call('HVALS', KEYS[2])) do
  total = total + tonumber(count)
end
if total + 1 > limit then
  return -1
end
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
redis.call('ZADD', KEYS[1], now + ttl_ms, ARGV[1])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], last[2])
redis.call('PEXPIREAT', KEYS[2], last[2])
return total + 1
