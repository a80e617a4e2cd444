-- Move. ARGV: 3 "k:"..key, 4 fingerprint, 5 booking id, 6 "p:"..person,
-- 7 target slot. A booking counts in "u:" of its slot only (not in "h:"),
-- so a move changes two counts.
local kf, fp, id, pf, to = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local ut = 'u:' .. to
local d = redis.call('HMGET', K_DATA, kf, pf, 'c:' .. to, ut, '~t')
if d[1] then
  local out = lib().recall(d[1], fp)
  if out then return out end
end
local rec = d[2]
if not (rec and string.byte(rec) == 66 and string.find(rec, id, 33, true) == 33 and string.byte(rec, 33 + #id) == 124) then
  return lib().remember(kf, fp, '!NOTBOOKING')
end
local j = 34 + #id
local k = string.find(rec, '|', j, true)
local s = string.sub(rec, j, k - 1)
if s == to then return lib().remember(kf, fp, rec) end
if not d[5] or d[5] <= now then
  if lib().tidy() then d = redis.call('HMGET', K_DATA, kf, pf, 'c:' .. to, ut) end
end
local cap = d[3]
if not cap then return lib().remember(kf, fp, '!NOSLOT|' .. to) end
local used = d[4] or '0'
if #used > #cap or (#used == #cap and used >= cap) then return lib().remember(kf, fp, '!FULL|' .. to) end
if #rec > 600 then
  rec = lib().unlist(rec)
  k = string.find(rec, '|', j, true)
end
rec = string.sub(rec, 1, j - 1) .. to .. string.sub(rec, k) .. gcat .. kf .. ','
redis.call('HINCRBY', K_DATA, 'u:' .. s, -1)
redis.call('HSET', K_DATA, pf, rec, kf, gcat .. fp .. rec, ut, used + 1)
return rec
