-- ARGV: 3 key, 4 fingerprint, 5 slot, 6 person, 7 new hold id, 8 expiry.
local key, fp, s, p, id, exp = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local v = redis.call('HMGET', K_DATA, 'k:' .. key, 'p:' .. p, 'c:' .. s, 'u:' .. s, '~hx', '~gx')
local out = recall(v[1], fp)
if out then return out end
local purged, hx = tidy(v[5], v[6])
if purged then v = redis.call('HMGET', K_DATA, 'k:' .. key, 'p:' .. p, 'c:' .. s, 'u:' .. s) end
if not v[3] then return remember(key, fp, '!NOSLOT|' .. s) end
if v[2] and live(v[2]) then return remember(key, fp, '!BOOKED') end
local used = tonumber(v[4] or 0)
if used >= tonumber(v[3]) then return remember(key, fp, '!FULL|' .. s) end
local rec = id .. '|H|' .. s .. '|' .. p .. '|' .. ARGV[1] .. '|' .. exp .. '|0'
local idem = gcat .. '|' .. fp .. '|' .. rec
if not hx or tonumber(exp) < tonumber(hx) then
  redis.call('HSET', K_DATA, 'p:' .. p, rec, 'k:' .. key, idem, 'u:' .. s, used + 1, '~hx', exp)
else
  redis.call('HSET', K_DATA, 'p:' .. p, rec, 'k:' .. key, idem, 'u:' .. s, used + 1)
end
redis.call('ZADD', K_HX, exp, p)
redis.call('RPUSH', K_GX, gcat .. '|k' .. key)
return rec
