-- incr_capped: add to a counter unless that would take it above a limit.
-- Used for rate limits and capacity pacing.
-- KEYS[1]  counter (a string holding an integer)
-- ARGV[1]  limit   integer >= 0: the highest value the counter may reach
-- ARGV[2]  ttl_ms  integer >= 0: when the counter is created it expires after ttl_ms
--                  milliseconds (a fixed window); 0 = it never expires
-- ARGV[3]  amount  integer >= 1 to add
-- Returns  the new value, or -1 when current + amount > limit (nothing changes).
local function is_int(n, min)
  return n ~= nil and n % 1 == 0 and n >= min
end
local limit, ttl_ms, amount = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if not is_int(limit, 0) then
  return redis.error_reply('ERR incr_capped: limit must be an integer >= 0')
end
if not is_int(ttl_ms, 0) then
  return redis.error_reply('ERR incr_capped: ttl_ms must be an integer >= 0')
end
if not is_int(amount, 1) then
  return redis.error_reply('ERR incr_capped: amount must be an integer >= 1')
end

local raw = redis.call('GET', KEYS[1])
local current = 0
if raw then current = tonumber(raw) end
if current + amount > limit then
  return -1
end
local value = redis.call('INCRBY', KEYS[1], amount)
if not raw and ttl_ms > 0 then
  redis.call('PEXPIRE', KEYS[1], ttl_ms)
end
return value
