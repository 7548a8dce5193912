-- take_slot: count one more chat for an agent if below capacity (transfers to an agent).
-- KEYS[1]  agent load (hash: agent id -> number of chats held)
-- ARGV[1]  agent id
-- ARGV[2]  capacity  integer >= 0
-- Returns  the new load, or -1 when the agent is at capacity (nothing changes).
local capacity = tonumber(ARGV[2])
if capacity == nil or capacity % 1 ~= 0 or capacity < 0 then
  return redis.error_reply('ERR take_slot: capacity must be an integer >= 0')
end
local load = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if load >= capacity then
  return -1
end
return redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
