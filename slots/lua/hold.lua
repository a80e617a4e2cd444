-- Hold. args: 1 now, 2 gf, 3 "k:"..key, 4 "p:"..person, 5 slot,
-- 6 "h:"..slot, 7 expiry (15 digits), 8 the new record (made by the
-- caller; its list names the key). keys: data, gx, hx. One HMGET reads
-- everything the common case needs; one HSET writes the record, its
-- idempotency record, the slot's counts and the campaign's totals; one
-- ZADD indexes the expiry.
local function hold(keys, args)
  local D = keys[1]
  local now, gf, kf, pf, ff, hf, exp = args[1], args[2], args[3], args[4], args[5], args[6], args[7]
  local v = redis.call('HMGET', D, kf, pf, ff, hf, '~t', '~f', '~h', '~L')
  if v[8] then return SUPERSEDED end
  if v[1] then
    local out = recall(v[1], gf, now)
    if out then return out end
  end
  local purged, t = due(keys, v[5], now, gf)
  if purged then v = redis.call('HMGET', D, kf, pf, ff, hf, '~t', '~f', '~h') end
  local free = v[3]
  if not free then return remember(keys, kf, gf, '!NOSLOT|' .. ff) end
  local r = v[2]
  if r then
    local st = string.byte(r)
    if st == 66 or (st == 72 and string.sub(r, 2, 16) > now) then return remember(keys, kf, gf, '!BOOKED') end
    -- The new hold replaces a trace (X or C): the records it lists go to
    -- gx (rare: a person holding again).
    unlist(keys, r, string.sub(gf, 1, 15))
  end
  if free == '0' then return remember(keys, kf, gf, '!FULL|' .. ff) end
  local rec = args[8]
  local tf, th = (v[6] or 0) - 1, (v[7] or 0) + 1
  if exp < t then
    redis.call('HSET', D, pf, rec, kf, gf .. rec, ff, free - 1, hf, (v[4] or 0) + 1, '~f', tf, '~h', th, '~t', exp)
  else
    redis.call('HSET', D, pf, rec, kf, gf .. rec, ff, free - 1, hf, (v[4] or 0) + 1, '~f', tf, '~h', th)
  end
  redis.call('ZADD', keys[3], exp, pf)
  return rec
end
