-- Snapshot. Returns {slotlines of every slot, flat list of data fields and values}.
local t = redis.call('HGET', K_DATA, '~t')
if not t or t <= now then lib().tidy() end
return {slotlines(redis.call('SMEMBERS', K_SLOTS)), redis.call('HGETALL', K_DATA)}
