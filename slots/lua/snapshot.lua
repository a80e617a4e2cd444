-- Snapshot. Returns {slotlines of every slot, flat list of data fields and values}.
local b = redis.call('HMGET', K_DATA, '~hx', '~gx')
lib().tidy(b[1], b[2])
return {slotlines(redis.call('SMEMBERS', K_SLOTS)), redis.call('HGETALL', K_DATA)}
