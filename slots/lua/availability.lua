-- Availability. ARGV: 3.. slots (none: every slot). Returns slotlines.
local b = redis.call('HMGET', K_DATA, '~hx', '~gx')
lib().tidy(b[1], b[2])
if #ARGV == 2 then return slotlines(redis.call('SMEMBERS', K_SLOTS)) end
return slotlines({unpack(ARGV, 3)})
