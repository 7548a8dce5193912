-- hash_set: set one field of a hash to an exact value; 0 deletes the field.
-- Used to re-derive agent loads from the Store after the broker lost them.
-- KEYS[1]  hash
-- ARGV[1]  field
-- ARGV[2]  value  integer >= 0
-- Returns  the value set
local value = tonumber(ARGV[2])
if value == nil or value % 1 ~= 0 or value < 0 then
  return redis.error_reply('ERR hash_set: value must be an integer >= 0')
end
if value == 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], value)
end
return value
