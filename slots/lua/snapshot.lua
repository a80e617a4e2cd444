-- Snapshot. args: 1 now, 2 gcat. keys: data, gx, hx, slots. Returns
-- {slotlines of every slot, flat list of data fields and values}.
local function snapshot(keys, args)
  local m = redis.call('HMGET', keys[1], '~t', '~L')
  if m[2] then return redis.error_reply(MISLAYOUT) end
  local t = m[1]
  if not t or t <= args[1] then tidy(keys, args[1], args[2]) end
  return {slotlines(keys[1], redis.call('SMEMBERS', keys[4])), redis.call('HGETALL', keys[1])}
end
