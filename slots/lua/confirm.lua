-- ARGV: 3 key, 4 fingerprint, 5 hold id, 6 person.
local key, fp, id, p = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local out, rec, st, s, c, e = owned(key, fp, id, p)
if out then return out end
if st == 'B' then return remember(key, fp, rec) end
rec = id .. '|B|' .. s .. '|' .. p .. '|' .. c .. '|' .. e .. '|' .. ARGV[1]
redis.call('HINCRBY', K_DATA, 'b:' .. s, 1)
redis.call('HSET', K_DATA, 'p:' .. p, rec, 'k:' .. key, gcat .. '|' .. fp .. '|' .. rec)
redis.call('RPUSH', K_GX, gcat .. '|k' .. key)
return rec
