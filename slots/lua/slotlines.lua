-- countfields returns the count fields ("c:"..slot, slot, "h:"..slot) of
-- ids[first], ids[first + 1], ... for one HMGET, at most 333 slots (Lua's
-- unpack fails beyond about 8,000 values, and a campaign may have many
-- thousand slots), and the index of the last slot it took.
local function countfields(ids, first)
  local last = math.min(#ids, first + 332)
  local fs = {}
  for i = first, last do
    local s = ids[i]
    fs[#fs + 1] = 'c:' .. s
    fs[#fs + 1] = s
    fs[#fs + 1] = 'h:' .. s
  end
  return fs, last
end

-- slotlines returns "slot|capacity|booked|held" for the slots ids, or
-- {"!NOSLOT|slot"} for the first that is not defined.
local function slotlines(D, ids)
  local res = {}
  local first = 1
  while first <= #ids do
    local fs, last = countfields(ids, first)
    local v = redis.call('HMGET', D, unpack(fs))
    for i = first, last do
      local j = 3 * (i - first) + 1
      if not v[j] then return {'!NOSLOT|' .. ids[i]} end
      local c, f, h = tonumber(v[j]), tonumber(v[j + 1]), tonumber(v[j + 2] or 0)
      res[#res + 1] = ids[i] .. '|' .. v[j] .. '|' .. (c - f - h) .. '|' .. h
    end
    first = last + 1
  end
  return res
end

-- recount counts the campaign's totals "~c", "~f" and "~h" from every
-- slot, stores them and returns them as {capacity, free, held}: once, for
-- a campaign whose data was written by a version of this library that did
-- not keep them. Every hold due must have been expired first. keys: data,
-- gx, hx, slots.
local function recount(keys)
  local D = keys[1]
  local ids = redis.call('SMEMBERS', keys[4])
  if #ids == 0 then return {0, 0, 0} end -- no campaign: nothing to store
  local c, f, h = 0, 0, 0
  local first = 1
  while first <= #ids do
    local fs, last = countfields(ids, first)
    local v = redis.call('HMGET', D, unpack(fs))
    for j = 1, #fs, 3 do
      c = c + tonumber(v[j] or 0)
      f = f + tonumber(v[j + 1] or 0)
      h = h + tonumber(v[j + 2] or 0)
    end
    first = last + 1
  end
  redis.call('HSET', D, '~c', c, '~f', f, '~h', h)
  return {c, f, h}
end
