-- slotlines returns "slot|capacity|booked|held" for the slots ids, or
-- {"!NOSLOT|slot"} for the first that is not defined. It reads the counts
-- in HMGETs of at most 333 slots: Lua's unpack fails beyond about 8,000
-- values, and a campaign may have many thousand slots.
local function slotlines(ids)
  local res = {}
  local first = 1
  while first <= #ids do
    local last = math.min(#ids, first + 332)
    local fields = {}
    for i = first, last do
      local s = ids[i]
      fields[#fields + 1] = 'c:' .. s
      fields[#fields + 1] = 'u:' .. s
      fields[#fields + 1] = 'h:' .. s
    end
    local v = redis.call('HMGET', K_DATA, unpack(fields))
    for i = first, last do
      local j = 3 * (i - first) + 1
      if not v[j] then return {'!NOSLOT|' .. ids[i]} end
      local u, h = tonumber(v[j + 1] or 0), tonumber(v[j + 2] or 0)
      res[#res + 1] = ids[i] .. '|' .. v[j] .. '|' .. (u - h) .. '|' .. h
    end
    first = last + 1
  end
  return res
end
