-- ARGV: 3 key, 4 fingerprint, 5 id, 6 person.
local key, fp, id, p = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local out, rec, st, s, c, e = owned(key, fp, id, p)
if out then return out end
redis.call('HINCRBY', K_DATA, 'u:' .. s, -1)
if st == 'B' then redis.call('HINCRBY', K_DATA, 'b:' .. s, -1) end
redis.call('HDEL', K_DATA, 'p:' .. p)
return remember(key, fp, rec)
