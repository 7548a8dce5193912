-- login_attempt: count one sign-in attempt against two fixed-window limits at once.
-- Both counters are checked before either is written, so concurrent attempts on any
-- number of nodes can never take either above its limit: the attempt takes its slot
-- before the password is verified, and a successful sign-in gives it back (decr_floor).
-- KEYS[1]  the account's counter (a string holding an integer)
-- KEYS[2]  the client address's counter
-- ARGV[1]  account_limit  integer >= 1: attempts one account may have in a window
-- ARGV[2]  address_limit  integer >= 1: attempts one client address may have in a window
-- ARGV[3]  window_ms      integer >= 1: a counter expires window_ms after it was created
-- Returns  0 when the attempt is counted (both counters + 1); otherwise the milliseconds
--          until the full counter's window ends (>= 1), and nothing changes.
local function is_int(n, min)
  return n ~= nil and n % 1 == 0 and n >= min
end
local limits = {tonumber(ARGV[1]), tonumber(ARGV[2])}
local window_ms = tonumber(ARGV[3])
if not is_int(limits[1], 1) then
  return redis.error_reply('ERR login_attempt: account_limit must be an integer >= 1')
end
if not is_int(limits[2], 1) then
  return redis.error_reply('ERR login_attempt: address_limit must be an integer >= 1')
end
if not is_int(window_ms, 1) then
  return redis.error_reply('ERR login_attempt: window_ms must be an integer >= 1')
end

local wait = 0
for i = 1, 2 do
  local count = tonumber(redis.call('GET', KEYS[i]) or '0')
  if count >= limits[i] then
    local ttl = redis.call('PTTL', KEYS[i])
    if ttl < 1 then ttl = window_ms end
    wait = math.max(wait, ttl)
  end
end
if wait > 0 then
  return wait
end
for i = 1, 2 do
  redis.call('INCR', KEYS[i])
  if redis.call('PTTL', KEYS[i]) < 0 then
    redis.call('PEXPIRE', KEYS[i], window_ms)
  end
end
return 0
