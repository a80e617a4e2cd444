-- join: give the identity the next arrival index if it has none; no claim.
local S, err = load()
if not S then return err end
prep(S)
advance(S)
local R = loadRec(S)
local new = false
if not R then
  -- With people already waiting the line cannot take the newcomer at
  -- once (no whole token or no room left): no need to move it again.
  local waited = S.rc + (S.n - S.s) > 0
  R = {i = S.n, p = -1, j = now, c = 0, a = 0, d = 0, r = 0, ja = -1, jc = 0, jb = 0}
  S.n = S.n + 1
  new = true
  if not waited then advance(S) end
end
resolvePlace(S, R, nil)
local state, ahead = WAITING, -1
if R.d == 1 then
  state, ahead = DONE, 0
elseif R.c > 0 then
  ahead = 0
  if now < R.c then state = ADMITTED else state = EXPIRED end
elseif R.p >= 0 and R.p >= S.s then
  ahead = S.rc + (R.p - S.s)
end
if new and ahead >= 0 then
  R.ja = ahead
  R.jc, R.jb = drain(S)
end
save(S, R)
return reply(S, R, state, ahead, 0, 0)
