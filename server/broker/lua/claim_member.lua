-- claim_member: give one named queued member to an agent if the agent has room.
-- Used when an agent accepts a specific chat (or an offer): the same atomic check as
-- claim_from_queue, so capacity holds however many nodes accept at once.
-- KEYS[1]  queue (sorted set)
-- KEYS[2]  agent load (hash: agent id -> number of chats held)
-- ARGV[1]  agent id
-- ARGV[2]  capacity  integer >= 0: the most chats the agent may hold
-- ARGV[3]  member to claim
-- Returns  1 claimed (removed from the queue, load + 1); 0 not in the queue (someone
--          else has it); -1 the agent is at capacity (nothing changes).
local capacity = tonumber(ARGV[2])
if capacity == nil or capacity % 1 ~= 0 or capacity < 0 then
  return redis.error_reply('ERR claim_member: capacity must be an integer >= 0')
end
local load = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if redis.call('ZSCORE', KEYS[1], ARGV[3]) == false then
  return 0
end
if load >= capacity then
  return -1
end
redis.call('ZREM', KEYS[1], ARGV[3])
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
return 1
