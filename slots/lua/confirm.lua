-- Confirm, after owned.lua.
if st == 66 then return lib().remember(kf, fp, rec) end
if st ~= 72 or e <= now then return lib().remember(kf, fp, lib().gone(e)) end
if #rec > 600 then rec = lib().unlist(rec) end
local j = 34 + #id
local s = string.sub(rec, j, string.find(rec, '|', j, true) - 1)
rec = 'B' .. e .. now .. string.sub(rec, 32) .. gcat .. kf .. ','
redis.call('HINCRBY', K_DATA, 'h:' .. s, -1)
redis.call('HSET', K_DATA, pf, rec, kf, gcat .. fp .. rec)
return rec
