-- visit: join (ARGV[10] == '1') or status, with claim.
-- ARGV[11] place hint (-1: none)  [12] index it is for  [13] E it is for
local S, err = load()
if not S then return err end
prep(S)
local R = redis.call('HMGET', KEYS[4], unpack(RFIELDS))
local idx = tonumber(R[1])
local new = false
if not idx then
  if ARGV[10] ~= '1' then
    advance(S)
    save(S)
    return {NOTJOINED}
  end
  idx = S.n
  S.n = S.n + 1
  new = true
  R[1] = idx
  R[3] = now
end
local p = resolvePlace(S, R, idx, 11)
if S.e and not p then
  -- Only an early arrival gets here (a new one is never early once E is
  -- fixed): Go computes the shuffle and calls again.
  save(S)
  return {NEEDPLACE, idx, S.e}
end

local done = R[6]
local c = tonumber(R[4])
-- Called while away: back to the head of the line, before the line moves.
if S.e and not done and not c and p < S.s then
  if not redis.call('ZSCORE', KEYS[2], p) and not redis.call('ZSCORE', KEYS[3], p) then
    S.rq = S.rq + 1
    redis.call('ZADD', KEYS[3], S.rq, p)
    R[7] = redis.call('HINCRBY', KEYS[4], 'r', 1)
  end
end

advance(S)

local state, ahead, claimed, returning = WAITING, 0, 0, 0
if not S.e then
  ahead = -1
elseif done then
  state = DONE
elseif c then
  if now < c then state = ADMITTED else state = EXPIRED end
elseif p < S.s then
  local sc = tonumber(redis.call('ZSCORE', KEYS[2], p))
  if sc then
    c = now + ttl
    local a = sc - claim
    redis.call('ZADD', KEYS[2], c, p)
    redis.call('HSET', KEYS[4], 'c', c, 'a', a)
    R[4] = c
    R[5] = a
    state = ADMITTED
    claimed = 1
  else
    returning = 1
    ahead = redis.call('ZRANK', KEYS[3], p)
  end
else
  ahead = redis.call('ZCARD', KEYS[3]) + (p - S.s)
end

if new then
  local ja = -1
  if state == WAITING and ahead >= 0 then ja = ahead end
  local dc, dm = drain(S)
  redis.call('HSET', KEYS[4], 'i', idx, 'j', now, 'ja', ja, 'jc', dc, 'jb', dm)
  R[8], R[9], R[10] = ja, dc, dm
end
save(S)
return reply(S, idx, p, R, state, ahead, claimed, returning)
