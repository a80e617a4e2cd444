-- Snapshot. args: 1 now, 2 gcat. keys: data, gx, hx, slots. Returns
-- {slotlines of every slot, flat list of data fields and values}.
local function snapshot(keys, args)
  local t = redis.call('HGET', keys[1], '~t')
  if not t or t <= args[1] then tidy(keys, args[1], args[2]) end
  return {slotlines(keys[1], redis.call('SMEMBERS', keys[4])), redis.call('HGETALL', keys[1])}
end
