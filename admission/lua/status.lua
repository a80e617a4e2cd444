-- status: the person's standing, with claim.
-- ARGV[11] place hint (-1: none)  [12] index it is for  [13] E it is for
local S, R, out = person()
if not S then return out end

-- Called while away: back to the head of the line.
local sc = nil
if S.e >= 0 and R.d == 0 and R.c == 0 and R.p < S.s then
  sc = redis.call('ZSCORE', KEYS[2], R.p)
  if not sc and not redis.call('ZSCORE', KEYS[3], R.p) then
    S.rq = S.rq + 1
    redis.call('ZADD', KEYS[3], S.rq, R.p)
    S.rc = S.rc + 1
    R.r = R.r + 1
    advance(S)
    sc = redis.call('ZSCORE', KEYS[2], R.p)
  end
end

local state, ahead, claimed, returning = WAITING, 0, 0, 0
if S.e < 0 then
  ahead = -1
elseif R.d == 1 then
  state = DONE
elseif R.c > 0 then
  if now < R.c then state = ADMITTED else state = EXPIRED end
elseif R.p < S.s then
  if sc then
    R.c = now + ttl
    R.a = tonumber(sc) - claim
    lease(S, R.p, R.c)
    state = ADMITTED
    claimed = 1
  else
    returning = 1
    ahead = redis.call('ZRANK', KEYS[3], R.p)
  end
else
  ahead = S.rc + (R.p - S.s)
end
save(S, R)
return reply(S, R, state, ahead, claimed, returning)
