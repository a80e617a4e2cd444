-- Cancel. ARGV: 3 "k:"..key, 4 fingerprint, 5 id, 6 "p:"..person,
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
local e = string.sub(rec, 2, 16)
if st == 88 or (st == 72 and e <= now) then return remember(kf, fp, gone(e)) end
local j = 19 + #id
local s = string.sub(rec, j, string.find(rec, '|', j, true) - 1)
redis.call('HINCRBY', K_DATA, 'u:' .. s, -1)
if st == 72 then redis.call('HINCRBY', K_DATA, 'h:' .. s, -1) end
-- The record goes, and with it the list of its idempotency records, which
-- are queued in K_GX with this call's own.
redis.call('HDEL', K_DATA, pf, qf)
redis.call('HSET', K_DATA, kf, gcat .. fp .. rec)
local q = entries(d[3])
q[#q + 1] = gcat .. kf
redis.call('RPUSH', K_GX, unpack(q))
return rec
