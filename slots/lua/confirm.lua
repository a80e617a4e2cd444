-- Confirm. ARGV: 3 "k:"..key, 4 fingerprint, 5 hold id, 6 "p:"..person,
-- 7 "q:"..person.
local kf, fp, id, pf, qf = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local d = redis.call('HMGET', K_DATA, kf, pf, qf)
if d[1] then
  local out = recall(d[1], fp)
  if out then return out end
end
local rec = d[2]
if not rec or not mine(rec, id) then return remember(kf, fp, '!NOTFOUND') end
local st = string.byte(rec)
if st == 66 then return remember(kf, fp, rec) end
local e = string.sub(rec, 2, 16)
if st ~= 72 or e <= now then return remember(kf, fp, gone(e)) end
local j = 19 + #id
local s = string.sub(rec, j, string.find(rec, '|', j, true) - 1)
-- A hold's record ends in "|0": the booking's ends in its confirmation.
rec = 'B' .. string.sub(rec, 2, -2) .. now
redis.call('HINCRBY', K_DATA, 'h:' .. s, -1)
redis.call('HSET', K_DATA, pf, rec, kf, gcat .. fp .. rec, qf, listed(d[3], kf))
return rec
