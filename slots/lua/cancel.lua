-- Cancel, after owned: the record becomes a trace no call can see
-- (state C), which takes this call's idempotency record into its list and
-- is collected a retention later with everything it lists. args as
-- owned's. keys: data, gx.
local function cancel(keys, args)
  local out, rec, st, e = owned(keys, args)
  if out then return out end
  local now, gf, kf, pf, id = args[1], args[2], args[3], args[4], args[5]
  if st == 88 or (st == 72 and e <= now) then return remember(keys, kf, gf, gone(e, gf, now)) end
  local gcat = string.sub(gf, 1, 15)
  if #rec > 600 then rec = unlist(keys, rec, gcat) end
  local j = 34 + #id
  local k = string.find(rec, '|', j, true) - 1
  redis.call('HINCRBY', keys[1], string.sub(rec, j + 2, k), '1')
  redis.call('HINCRBY', keys[1], '~f', '1')
  if st == 72 then
    redis.call('HINCRBY', keys[1], string.sub(rec, j, k), '-1')
    redis.call('HINCRBY', keys[1], '~h', '-1')
  end
  redis.call('HSET', keys[1], pf, 'C' .. string.sub(rec, 2) .. kf .. ',', kf, gf .. rec)
  redis.call('RPUSH', keys[2], gcat .. pf .. '|' .. id)
  return rec
end
