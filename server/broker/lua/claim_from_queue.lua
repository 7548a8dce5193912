-- claim_from_queue: give the head of a queue to an agent if the agent has room.
-- The check and both writes happen atomically, so concurrent claims from any
-- number of nodes never take an agent above its capacity nor hand a member twice.
-- KEYS[1]  queue (sorted set, lowest score first)
-- KEYS[2]  agent load (hash: agent id -> number of chats held)
-- ARGV[1]  agent id
-- ARGV[2]  capacity  integer >= 0: the most chats the agent may hold
-- Returns  the claimed member (removed from the queue, agent load + 1), or nil when
--          the queue is empty or load >= capacity (nothing changes).
local capacity = tonumber(ARGV[2])
if capacity == nil or capacity % 1 ~= 0 or capacity < 0 then
  return redis.error_reply('ERR claim_from_queue: capacity must be an integer >= 0')
end
local load = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if load >= capacity then
  return false
end
local head = redis.call('ZPOPMIN', KEYS[1])
if #head == 0 then
  return false
end
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
return head[1]
