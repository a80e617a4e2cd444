-- done: the person leaves; its active place is freed at once.
-- ARGV[11] place hint (-1: none)  [12] index it is for  [13] E it is for
local S, R, out = person()
if not S then return out end
if R.d == 0 then
  R.d = 1
  if R.p >= 0 then
    S.ac = S.ac - redis.call('ZREM', KEYS[2], R.p)
    if S.rc > 0 then S.rc = S.rc - redis.call('ZREM', KEYS[3], R.p) end
    -- A freed place lets someone in now only under a cap.
    if S.cap > 0 then advance(S) end
  end
end
save(S, R)
return reply(S, R, DONE, 0, 0, 0)
