-- Hold. ARGV: 3 key, 4 fingerprint, 5 slot, 6 person, 7 new hold id,
-- 8 expiry (15 digits). One HMGET reads everything the common case needs;
-- one HSET writes the record, its idempotency record and the counts; one
-- ZADD indexes the expiry.
local key, fp, s, p, id, exp = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local kf, pf, qf, uf, hf = 'k:' .. key, 'p:' .. p, 'q:' .. p, 'u:' .. s, 'h:' .. s
local v = redis.call('HMGET', K_DATA, kf, pf, 'c:' .. s, uf, hf, '~hx', '~gx', qf)
if v[1] then
  local out = recall(v[1], fp)
  if out then return out end
end
local hx = v[6]
if (hx and tonumber(hx) <= now) or not v[7] or tonumber(v[7]) <= now then
  local purged
  purged, hx = tidy(hx, v[7])
  if purged then v = redis.call('HMGET', K_DATA, kf, pf, 'c:' .. s, uf, hf, '~hx', '~gx', qf) end
end
if not v[3] then return remember(key, fp, '!NOSLOT|' .. s) end
local r = v[2]
if r then
  local st = string.byte(r)
  if st == 66 or (st == 72 and tonumber(string.sub(r, 2, 16)) > now) then
    return remember(key, fp, '!BOOKED')
  end
end
local used = tonumber(v[4] or 0)
if used >= tonumber(v[3]) then return remember(key, fp, '!FULL|' .. s) end
-- The new hold replaces the trace of an expired one: the records that
-- trace listed go to K_GX (rare: a person holding again).
if v[8] then
  local e = entries(v[8])
  if #e > 0 then redis.call('RPUSH', K_GX, unpack(e)) end
end
local rec = 'H' .. exp .. '|' .. id .. '|' .. s .. '|' .. ARGV[1] .. '|0'
local q = gcat .. key .. ','
if not hx or tonumber(exp) < tonumber(hx) then
  redis.call('HSET', K_DATA, pf, rec, kf, gcat .. fp .. rec, qf, q, uf, used + 1, hf, tonumber(v[5] or 0) + 1, '~hx', exp)
else
  redis.call('HSET', K_DATA, pf, rec, kf, gcat .. fp .. rec, qf, q, uf, used + 1, hf, tonumber(v[5] or 0) + 1)
end
redis.call('ZADD', K_HX, exp, p)
return rec
