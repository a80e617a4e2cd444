-- ARGV: 3 person. Reads only.
local rec = redis.call('HGET', K_DATA, 'p:' .. ARGV[3])
if not rec or not live(rec) then return '!NOTFOUND' end
return rec
