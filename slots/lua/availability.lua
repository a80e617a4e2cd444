-- Availability. ARGV: 3.. slots (none: every slot). Returns slotlines.
local t = redis.call('HGET', K_DATA, '~t')
if not t or t <= now then lib().tidy() end
if #ARGV == 2 then return slotlines(redis.call('SMEMBERS', K_SLOTS)) end
return slotlines({unpack(ARGV, 3)})
