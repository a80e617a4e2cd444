-- Cancel. ARGV: 3 key, 4 fingerprint, 5 id, 6 person.
local key, fp, id, p = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local kf, pf, qf = 'k:' .. key, 'p:' .. p, 'q:' .. p
local d = redis.call('HMGET', K_DATA, kf, pf, qf)
if d[1] then
  local out = recall(d[1], fp)
  if out then return out end
end
local rec = d[2]
if not rec or string.sub(rec, 18, 18 + #id) ~= id .. '|' then return remember(key, fp, '!NOTFOUND') end
local st = string.byte(rec)
local e = tonumber(string.sub(rec, 2, 16))
if st == 88 or (st == 72 and e <= now) then return remember(key, fp, gone(e)) end
local j = 19 + #id
local s = string.sub(rec, j, string.find(rec, '|', j, true) - 1)
redis.call('HINCRBY', K_DATA, 'u:' .. s, -1)
if st == 72 then redis.call('HINCRBY', K_DATA, 'h:' .. s, -1) end
-- The record goes, and with it the list of its idempotency records, which
-- are queued in K_GX with this call's own.
redis.call('HDEL', K_DATA, pf, qf)
redis.call('HSET', K_DATA, kf, gcat .. fp .. rec)
local e = entries(d[3])
e[#e + 1] = gcat .. 'k' .. key
redis.call('RPUSH', K_GX, unpack(e))
return rec
