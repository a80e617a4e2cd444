-- done: the person leaves; its active place is freed at once.
-- ARGV[10] place hint (-1: none)  [11] index it is for  [12] E it is for
local S, err = load()
if not S then return err end
prep(S)
local R = loadRec()
if not R then
  advance(S)
  save(S)
  return {NOTJOINED}
end
if not resolvePlace(S, R, 10) then
  save(S)
  return {NEEDPLACE, R.i, S.e}
end
if R.d == 0 then
  R.d = 1
  if R.p >= 0 then
    redis.call('ZREM', KEYS[2], R.p)
    redis.call('ZREM', KEYS[3], R.p)
    S.ac, S.rc = nil, nil
  end
end
advance(S)
saveRec(R)
save(S)
return reply(S, R, DONE, 0, 0, 0)
