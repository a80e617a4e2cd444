-- owned is the opening Confirm and Cancel share. args: 1 now, 2 gf,
-- 3 "k:"..key, 4 "p:"..person, 5 hold or booking id. It returns the
-- recorded outcome of a retry, or not found (remembered) unless the
-- person's record is this id's and visible; else nil, the record, its
-- state and its expiry (15 digits).
local function owned(keys, args)
  local now, gf, kf, id = args[1], args[2], args[3], args[5]
  local d = redis.call('HMGET', keys[1], kf, args[4], '~L')
  if d[3] then return SUPERSEDED end
  if d[1] then
    local out = recall(d[1], gf, now)
    if out then return out end
  end
  local rec = d[2]
  local st = rec and string.find(rec, id, 33, true) == 33 and string.byte(rec, 33 + #id) == 124 and string.byte(rec)
  if not st or st == 67 then return remember(keys, kf, gf, '!NOTFOUND') end
  return nil, rec, st, string.sub(rec, 2, 16)
end

-- Confirm. args as owned's. keys: data, gx.
local function confirm(keys, args)
  local out, rec, st, e = owned(keys, args)
  if out then return out end
  local now, gf, kf = args[1], args[2], args[3]
  if st == 66 then return remember(keys, kf, gf, rec) end
  if st ~= 72 or e <= now then return remember(keys, kf, gf, gone(e, gf, now)) end
  if #rec > 600 then rec = unlist(keys, rec, string.sub(gf, 1, 15)) end
  local j = 34 + #args[5]
  redis.call('HINCRBY', keys[1], string.sub(rec, j, string.find(rec, '|', j, true) - 1), '-1')
  redis.call('HINCRBY', keys[1], '~h', '-1')
  rec = 'B' .. e .. now .. string.sub(rec, 32) .. kf .. ','
  redis.call('HSET', keys[1], args[4], rec, kf, gf .. rec)
  return rec
end
