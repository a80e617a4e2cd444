-- Cancel. ARGV: 3 "k:"..key, 4 fingerprint, 5 id, 6 "p:"..person. The
-- record becomes a trace no call can see (state C), which takes this
-- call's idempotency record into its list and is collected a retention
-- later with everything it lists.
local kf, fp, id, pf = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local d = redis.call('HMGET', K_DATA, kf, pf)
if d[1] then
  local out = lib().recall(d[1], fp)
  if out then return out end
end
local rec = d[2]
local st = rec and string.find(rec, id, 33, true) == 33 and string.byte(rec, 33 + #id) == 124 and string.byte(rec)
if not st or st == 67 then return lib().remember(kf, fp, '!NOTFOUND') end
local e = string.sub(rec, 2, 16)
if st == 88 or (st == 72 and e <= now) then return lib().remember(kf, fp, lib().gone(e)) end
if #rec > 600 then rec = lib().unlist(rec) end
local j = 34 + #id
local s = string.sub(rec, j, string.find(rec, '|', j, true) - 1)
redis.call('HINCRBY', K_DATA, 'u:' .. s, -1)
if st == 72 then redis.call('HINCRBY', K_DATA, 'h:' .. s, -1) end
redis.call('HSET', K_DATA, pf, 'C' .. string.sub(rec, 2) .. gcat .. kf .. ',', kf, gcat .. fp .. rec)
redis.call('RPUSH', K_GX, gcat .. pf .. '|' .. id)
return rec
