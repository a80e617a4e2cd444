-- ARGV: 3 key, 4 fingerprint, 5 booking id, 6 person, 7 target slot.
local key, fp, id, p, to = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local d = redis.call('HMGET', K_DATA, 'k:' .. key, 'p:' .. p)
local out = recall(d[1], fp)
if out then return out end
local rec = d[2]
if not rec then return remember(key, fp, '!NOTBOOKING') end
local rid, st, s, pp, c, e, f = parse(rec)
if rid ~= id or st ~= 'B' then return remember(key, fp, '!NOTBOOKING') end
if s == to then return remember(key, fp, rec) end
local fields = {'c:' .. to, 'u:' .. to, 'b:' .. to, 'u:' .. s, 'b:' .. s, '~hx', '~gx'}
local v = redis.call('HMGET', K_DATA, unpack(fields))
if tidy(v[6], v[7]) then v = redis.call('HMGET', K_DATA, unpack(fields)) end
if not v[1] then return remember(key, fp, '!NOSLOT|' .. to) end
local used = tonumber(v[2] or 0)
if used >= tonumber(v[1]) then return remember(key, fp, '!FULL|' .. to) end
rec = id .. '|B|' .. to .. '|' .. p .. '|' .. c .. '|' .. e .. '|' .. f
redis.call('HSET', K_DATA, 'p:' .. p, rec, 'k:' .. key, gcat .. '|' .. fp .. '|' .. rec,
  'u:' .. to, used + 1, 'b:' .. to, tonumber(v[3] or 0) + 1,
  'u:' .. s, tonumber(v[4]) - 1, 'b:' .. s, tonumber(v[5]) - 1)
redis.call('RPUSH', K_GX, gcat .. '|k' .. key)
return rec
