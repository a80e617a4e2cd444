-- Move. args: 1 now, 2 gf, 3 "k:"..key, 4 "p:"..person, 5 booking id,
-- 6 "h:"..target slot, 7 target slot. keys: data, gx, hx. A booking counts
-- in the free places of its slot only (not in "h:"), so a move changes two
-- counts.
local function move(keys, args)
  local D = keys[1]
  local now, gf, kf, pf, id, ht, to = args[1], args[2], args[3], args[4], args[5], args[6], args[7]
  local d = redis.call('HMGET', D, kf, pf, to, '~t', '~L')
  if d[5] then return SUPERSEDED end
  if d[1] then
    local out = recall(d[1], gf, now)
    if out then return out end
  end
  local rec = d[2]
  if not (rec and string.byte(rec) == 66 and string.find(rec, id, 33, true) == 33 and string.byte(rec, 33 + #id) == 124) then
    return remember(keys, kf, gf, '!NOTBOOKING')
  end
  local j = 34 + #id
  local k = string.find(rec, '|', j, true)
  if k == j + #ht and string.find(rec, ht, j, true) == j then return remember(keys, kf, gf, rec) end
  if due(keys, d[4], now, gf) then d = redis.call('HMGET', D, kf, pf, to) end
  local free = d[3]
  if not free then return remember(keys, kf, gf, '!NOSLOT|' .. to) end
  if free == '0' then return remember(keys, kf, gf, '!FULL|' .. to) end
  if #rec > 600 then
    rec = unlist(keys, rec, string.sub(gf, 1, 15))
    k = string.find(rec, '|', j, true)
  end
  redis.call('HINCRBY', D, string.sub(rec, j + 2, k - 1), '1')
  rec = string.sub(rec, 1, j - 1) .. ht .. string.sub(rec, k) .. kf .. ','
  redis.call('HSET', D, pf, rec, kf, gf .. rec, to, free - 1)
  return rec
end
