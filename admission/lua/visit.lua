-- visit: join (ARGV[10] == '1') or status, with claim.
-- ARGV[11] place hint (-1: none)  [12] index it is for  [13] E it is for
local S, err = load()
if not S then return err end
prep(S)
local R = loadRec()
local new = false
if not R then
  if ARGV[10] ~= '1' then
    advance(S)
    save(S)
    return {NOTJOINED}
  end
  R = {i = S.n, p = -1, j = now, c = 0, a = 0, d = 0, r = 0, ja = -1, jc = 0, jb = 0}
  S.n = S.n + 1
  new = true
end
if not resolvePlace(S, R, 11) then
  -- Only an early arrival gets here (a new one is never early once E is
  -- fixed): Go computes the shuffle and calls again. The line does not
  -- move in this run, so the second one is the call.
  save(S)
  return {NEEDPLACE, R.i, S.e}
end

-- Called while away: back to the head of the line, before the line moves.
if S.e >= 0 and R.d == 0 and R.c == 0 and R.p < S.s then
  if not redis.call('ZSCORE', KEYS[2], R.p) and not redis.call('ZSCORE', KEYS[3], R.p) then
    S.rq = S.rq + 1
    redis.call('ZADD', KEYS[3], S.rq, R.p)
    S.rc = nil
    R.r = R.r + 1
  end
end

advance(S)

local state, ahead, claimed, returning = WAITING, 0, 0, 0
if S.e < 0 then
  ahead = -1
elseif R.d == 1 then
  state = DONE
elseif R.c > 0 then
  if now < R.c then state = ADMITTED else state = EXPIRED end
elseif R.p < S.s then
  local sc = tonumber(redis.call('ZSCORE', KEYS[2], R.p))
  if sc then
    R.c = now + ttl
    R.a = sc - claim
    redis.call('ZADD', KEYS[2], R.c, R.p)
    state = ADMITTED
    claimed = 1
  else
    returning = 1
    ahead = redis.call('ZRANK', KEYS[3], R.p)
  end
else
  ahead = returnersCount(S) + (R.p - S.s)
end

if new and state == WAITING and ahead >= 0 then
  R.ja = ahead
  R.jc, R.jb = drain(S)
end
saveRec(R)
save(S)
return reply(S, R, state, ahead, claimed, returning)
