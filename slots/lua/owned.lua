-- owned.lua: the opening Confirm and Cancel share, as straight-line code
-- (a function would cost a closure on every call). ARGV: 3 "k:"..key,
-- 4 fingerprint, 5 hold or booking id, 6 "p:"..person. It returns the
-- recorded outcome of a retry, or not found (remembered) unless the
-- person's record is this id's and visible; else it leaves kf, fp, id, pf,
-- the record rec, its state st and its expiry e (15 digits).
local kf, fp, id, pf = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local d = redis.call('HMGET', K_DATA, kf, pf)
if d[1] then
  local out = lib().recall(d[1], fp)
  if out then return out end
end
local rec = d[2]
local st = rec and string.find(rec, id, 33, true) == 33 and string.byte(rec, 33 + #id) == 124 and string.byte(rec)
if not st or st == 67 then return lib().remember(kf, fp, '!NOTFOUND') end
local e = string.sub(rec, 2, 16)
