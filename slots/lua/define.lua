-- DefineSlots. args: 1 now, 2 gf, 3 "k:"..key, 4.. pairs of slot,
-- capacity. keys: data, gx, hx, slots.
local function define(keys, args)
  local D = keys[1]
  local now, gf, kf = args[1], args[2], args[3]
  local fs = {kf, '~t'}
  for i = 4, #args, 2 do
    fs[#fs + 1] = 'c:' .. args[i]
    fs[#fs + 1] = args[i]
  end
  fs[#fs + 1] = '~L'
  local v = redis.call('HMGET', D, unpack(fs))
  if v[#fs] then return redis.error_reply(MISLAYOUT) end
  if v[1] then
    local out = recall(v[1], gf, now)
    if out then return out end
  end
  if due(keys, v[2], now, gf) then v = redis.call('HMGET', D, unpack(fs)) end
  -- A slot's bookings and live holds are capacity - free.
  for i = 4, #args, 2 do
    local j = i - 1
    if v[j] and tonumber(args[i + 1]) < tonumber(v[j]) - tonumber(v[j + 1]) then
      return remember(keys, kf, gf, '!INUSE|' .. args[i])
    end
  end
  -- A slot's free places change by as much as its capacity; so do the
  -- campaign's totals "~c" and "~f" (counted from every slot instead if
  -- the campaign has none yet).
  local sets, ids, delta = {}, {}, 0
  for i = 4, #args, 2 do
    local j = i - 1
    local d = tonumber(args[i + 1]) - tonumber(v[j] or 0)
    sets[#sets + 1] = fs[j]
    sets[#sets + 1] = args[i + 1]
    sets[#sets + 1] = fs[j + 1]
    sets[#sets + 1] = d + tonumber(v[j + 1] or 0)
    ids[#ids + 1] = args[i]
    delta = delta + d
  end
  local tot = redis.call('HMGET', D, '~c', '~f')
  if tot[1] then
    sets[#sets + 1] = '~c'
    sets[#sets + 1] = tonumber(tot[1]) + delta
    sets[#sets + 1] = '~f'
    sets[#sets + 1] = tonumber(tot[2]) + delta
  end
  redis.call('HSET', D, unpack(sets))
  redis.call('SADD', keys[4], unpack(ids))
  if not tot[1] then recount(keys) end
  return remember(keys, kf, gf, 'OK')
end
