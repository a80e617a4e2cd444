-- done: the person leaves; its active place is freed at once.
-- ARGV[10] place hint (-1: none)  [11] index it is for  [12] E it is for
local S, err = load()
if not S then return err end
prep(S)
local R = redis.call('HMGET', KEYS[4], unpack(RFIELDS))
local idx = tonumber(R[1])
if not idx then
  advance(S)
  save(S)
  return {NOTJOINED}
end
local p = resolvePlace(S, R, idx, 10)
if S.e and not p then
  save(S)
  return {NEEDPLACE, idx, S.e}
end
if not R[6] then
  redis.call('HSET', KEYS[4], 'd', 1)
  if p then
    redis.call('ZREM', KEYS[2], p)
    redis.call('ZREM', KEYS[3], p)
  end
end
advance(S)
save(S)
return reply(S, idx, p, R, DONE, 0, 0, 0)
