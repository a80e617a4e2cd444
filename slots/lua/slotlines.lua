-- slotlines returns "slot|capacity|booked|held" for the slots ids, or
-- {"!NOSLOT|slot"} for the first that is not defined. It reads the counts
-- in HMGETs of at most 333 slots: Lua's unpack fails beyond about 8,000
-- values, and a campaign may have many thousand slots.
local function slotlines(D, ids)
  local res = {}
  local first = 1
  while first <= #ids do
    local last = math.min(#ids, first + 332)
    local fs = {}
    for i = first, last do
      local s = ids[i]
      fs[#fs + 1] = 'c:' .. s
      fs[#fs + 1] = s
      fs[#fs + 1] = 'h:' .. s
    end
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
