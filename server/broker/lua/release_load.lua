-- release_load: an agent gave back one chat (closed or transferred it).
-- KEYS[1]  agent load (hash: agent id -> number of chats held)
-- ARGV[1]  agent id
-- Returns  the agent's new load (>= 0, never below 0); the field is deleted at 0.
local load = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if load <= 1 then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 0
end
return redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
