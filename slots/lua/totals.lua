-- Totals. args: 1 now, 2 gcat. keys: data, gx, hx, slots. Returns
-- {capacity, free, held} summed over the campaign's slots at now: the
-- totals every function keeps ("~c", "~f", "~h"), read in one HMGET once
-- the holds due are expired, whatever the number of slots; or, for a
-- campaign written before they were kept, counted once from every slot.
local function totals(keys, args)
  local D = keys[1]
  local v = redis.call('HMGET', D, '~t', '~c', '~f', '~h', '~L')
  if v[5] then return redis.error_reply(MISLAYOUT) end
  if not v[1] or v[1] <= args[1] then
    if tidy(keys, args[1], args[2]) then v = redis.call('HMGET', D, '~t', '~c', '~f', '~h') end
  end
  if not v[2] then return recount(keys) end
  return {tonumber(v[2]), tonumber(v[3]), tonumber(v[4])}
end
