-- DefineSlots. ARGV: 3 "k:"..key, 4 fingerprint, 5.. pairs of slot,
-- capacity.
local kf, fp = ARGV[3], ARGV[4]
local fields = {kf, '~t'}
for i = 5, #ARGV, 2 do fields[#fields + 1] = 'u:' .. ARGV[i] end
local v = redis.call('HMGET', K_DATA, unpack(fields))
if v[1] then
  local out = lib().recall(v[1], fp)
  if out then return out end
end
if (not v[2] or v[2] <= now) and lib().tidy() then v = redis.call('HMGET', K_DATA, unpack(fields)) end
for i = 5, #ARGV, 2 do
  if tonumber(ARGV[i + 1]) < tonumber(v[(i + 1) / 2] or 0) then
    return lib().remember(kf, fp, '!INUSE|' .. ARGV[i])
  end
end
local caps, ids = {}, {}
for i = 5, #ARGV, 2 do
  caps[#caps + 1] = 'c:' .. ARGV[i]
  caps[#caps + 1] = ARGV[i + 1]
  ids[#ids + 1] = ARGV[i]
end
redis.call('HSET', K_DATA, unpack(caps))
redis.call('SADD', K_SLOTS, unpack(ids))
return lib().remember(kf, fp, 'OK')
