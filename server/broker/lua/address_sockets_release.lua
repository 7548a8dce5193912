-- address_sockets_release: one socket of a client address on a node closed.
-- KEYS[1]  node expiry (sorted set: node id -> expires at, ms since epoch)
-- KEYS[2]  sockets (hash: node id -> the address's open sockets on that node)
-- ARGV[1]  node id
-- Returns  the address's sockets left on that node (>= 0); the node is dropped at 0.
local count = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if count <= 1 then
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 0
end
return redis.call('HINCRBY', KEYS[2], ARGV[1], -1)
