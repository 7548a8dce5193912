-- decr_floor: subtract from a counter, never going below 0.
-- KEYS[1]  counter (a string holding an integer)
-- ARGV[1]  amount  integer >= 1 to subtract
-- Returns  the new value (>= 0). A missing counter stays missing and returns 0;
--          an existing one keeps its TTL.
local amount = tonumber(ARGV[1])
if amount == nil or amount % 1 ~= 0 or amount < 1 then
  return redis.error_reply('ERR decr_floor: amount must be an integer >= 1')
end
local raw = redis.call('GET', KEYS[1])
if not raw then
  return 0
end
local current = tonumber(raw)
if current <= 0 then
  return current
end
return redis.call('DECRBY', KEYS[1], math.min(current, amount))
