-- address_sockets_renew: a node still holds its sockets of a client address.
-- KEYS[1]  node expiry (sorted set: node id -> expires at, ms since epoch)
-- KEYS[2]  sockets (hash: node id -> the address's open sockets on that node)
-- ARGV[1]  node id
-- ARGV[2]  ttl_ms  integer >= 1
-- Returns  1 if renewed, 0 if the node holds none there (or was forgotten).
local ttl_ms = tonumber(ARGV[2])
if ttl_ms == nil or ttl_ms % 1 ~= 0 or ttl_ms < 1 then
  return redis.error_reply('ERR address_sockets_renew: ttl_ms must be an integer >= 1')
end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then
  return 0
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZADD', KEYS[1], now + ttl_ms, ARGV[1])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], last[2])
redis.call('PEXPIREAT', KEYS[2], last[2])
return 1
