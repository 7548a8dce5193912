-- hash_all: read a whole hash (agent loads) in one round trip.
-- KEYS[1]  hash
-- Returns  flat list field, value, field, value ... (empty when missing)
return redis.call('HGETALL', KEYS[1])
