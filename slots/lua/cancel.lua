-- Cancel, after owned.lua. The record becomes a trace no call can see
-- (state C), which takes this call's idempotency record into its list and
-- is collected a retention later with everything it lists.
if st == 88 or (st == 72 and e <= now) then return lib().remember(kf, fp, lib().gone(e)) end
if #rec > 600 then rec = lib().unlist(rec) end
local j = 34 + #id
local s = string.sub(rec, j, string.find(rec, '|', j, true) - 1)
redis.call('HINCRBY', K_DATA, 'u:' .. s, -1)
if st == 72 then redis.call('HINCRBY', K_DATA, 'h:' .. s, -1) end
redis.call('HSET', K_DATA, pf, 'C' .. string.sub(rec, 2) .. gcat .. kf .. ',', kf, gcat .. fp .. rec)
redis.call('RPUSH', K_GX, gcat .. pf .. '|' .. id)
return rec
