-- Move. ARGV: 3 "k:"..key, 4 fingerprint, 5 booking id, 6 "p:"..person,
-- 7 "q:"..person, 8 target slot. A booking counts in "u:" of its slot
-- only (not in "h:"), so a move changes two counts.
local kf, fp, id, pf, qf, to = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local ut = 'u:' .. to
local d = redis.call('HMGET', K_DATA, kf, pf, 'c:' .. to, ut, '~hx', '~gx', qf)
if d[1] then
  local out = recall(d[1], fp)
  if out then return out end
end
local rec = d[2]
if not rec or string.byte(rec) ~= 66 or not mine(rec, id) then return remember(kf, fp, '!NOTBOOKING') end
local j = 19 + #id
local k = string.find(rec, '|', j, true)
local s = string.sub(rec, j, k - 1)
if s == to then return remember(kf, fp, rec) end
if (d[5] and d[5] <= now) or not d[6] or d[6] <= now then
  if tidy(d[5], d[6]) then d = redis.call('HMGET', K_DATA, kf, pf, 'c:' .. to, ut, '~hx', '~gx', qf) end
end
local cap = d[3]
if not cap then return remember(kf, fp, '!NOSLOT|' .. to) end
local used = d[4] or '0'
if #used > #cap or (#used == #cap and used >= cap) then return remember(kf, fp, '!FULL|' .. to) end
rec = string.sub(rec, 1, j - 1) .. to .. string.sub(rec, k)
redis.call('HINCRBY', K_DATA, 'u:' .. s, -1)
redis.call('HSET', K_DATA, pf, rec, kf, gcat .. fp .. rec, qf, listed(d[7], kf), ut, used + 1)
return rec
