-- counter_get: read a counter written by incr_capped / decr_floor.
-- KEYS[1]  counter (a string holding an integer)
-- Returns  its value, 0 when missing
return tonumber(redis.call('GET', KEYS[1]) or '0')
