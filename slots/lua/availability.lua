-- Availability. args: 1 now, 2 gcat, 3.. slots (none: every slot). keys:
-- data, gx, hx, slots. Returns slotlines.
local function availability(keys, args)
  local m = redis.call('HMGET', keys[1], '~t', '~L')
  if m[2] then return redis.error_reply(MISLAYOUT) end
  local t = m[1]
  if not t or t <= args[1] then tidy(keys, args[1], args[2]) end
  if #args == 2 then return slotlines(keys[1], redis.call('SMEMBERS', keys[4])) end
  return slotlines(keys[1], {unpack(args, 3)})
end
