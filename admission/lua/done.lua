-- done: the person leaves; its active place is freed at once.
-- ARGV[10] place hint (-1: none)  [11] index it is for  [12] E it is for
local S, err = load()
if not S then return err end
prep(S)
advance(S)
local R = loadRec()
if not R then
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
    S.ac = S.ac - redis.call('ZREM', KEYS[2], R.p)
    S.rc = S.rc - redis.call('ZREM', KEYS[3], R.p)
    advance(S)
  end
end
saveRec(R)
save(S)
return reply(S, R, DONE, 0, 0, 0)
