-- Hold. ARGV: 3 "k:"..key, 4 fingerprint, 5 slot, 6 "p:"..person, 7 new
-- hold id, 8 expiry (15 digits). One HMGET reads everything the common
-- case needs; one HSET writes the record, its idempotency record and the
-- counts; one ZADD indexes the expiry.
local kf, fp, s, pf, id, exp = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local uf, hf = 'u:' .. s, 'h:' .. s
local v = redis.call('HMGET', K_DATA, kf, pf, 'c:' .. s, uf, hf, '~t')
if v[1] then
  local out = lib().recall(v[1], fp)
  if out then return out end
end
local t = v[6]
if not t or t <= now then
  local purged
  purged, t = lib().tidy()
  if purged then v = redis.call('HMGET', K_DATA, kf, pf, 'c:' .. s, uf, hf) end
end
local cap = v[3]
if not cap then return lib().remember(kf, fp, '!NOSLOT|' .. s) end
local r = v[2]
if r then
  local st = string.byte(r)
  if st == 66 or (st == 72 and string.sub(r, 2, 16) > now) then return lib().remember(kf, fp, '!BOOKED') end
  -- The new hold replaces a trace (X or C): the records it lists go to
  -- K_GX (rare: a person holding again).
  lib().unlist(r)
end
-- used >= capacity, compared as decimal strings.
local used = v[4] or '0'
if #used > #cap or (#used == #cap and used >= cap) then return lib().remember(kf, fp, '!FULL|' .. s) end
local rec = 'H' .. exp .. '000000000000000|' .. id .. '|' .. s .. '|' .. now .. '#' .. gcat .. kf .. ','
if exp < t then
  redis.call('HSET', K_DATA, pf, rec, kf, gcat .. fp .. rec, uf, used + 1, hf, (v[5] or 0) + 1, '~t', exp)
else
  redis.call('HSET', K_DATA, pf, rec, kf, gcat .. fp .. rec, uf, used + 1, hf, (v[5] or 0) + 1)
end
redis.call('ZADD', K_HX, exp, pf)
return rec
