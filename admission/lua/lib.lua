#!lua name=__LIB__
-- The waiting room's Redis functions (FUNCTION LOAD once per server, then
-- FCALL): the library is loaded once, so a call builds no helper function
-- and no table beyond its own; it passes its numbers packed in one
-- argument and gets its answer packed in one string.
--
-- go-redis may send a call twice (it retries after a timeout), so every
-- function is idempotent at a given now: a second run at the same instant
-- finds the tokens spent and the record written, and admits nobody more.
--
-- keys[1] room (hash): the room's state, and one field per identity
-- keys[2] active leases (zset: place -> lease deadline, Unix ms)
-- keys[3] returners (zset: place -> return sequence)
-- All keys share the room's hash tag, so a Cluster runs them on one shard.
--
-- args[1] packed little-endian: the room's check (16 bytes), then doubles:
-- now, opening (Unix ms), claim window ms, session ttl ms, drain window ms,
-- rate, burst, cap (the limits a room starts with), then the function's
-- own numbers; args[2] the identity hash (join, status, done). A reply is
-- an array: a code, then for OK the room's state and the identity's
-- record as stored (the packed strings; Go reads them) and the call's own
-- figures.
--
-- Times are integers of milliseconds (exact in Lua's doubles up to 2^53).
-- The line is a function of time: advance brings it from the instant the
-- previous call left it to now as if a call had come every millisecond
-- (see the Store contract in store.go). The bucket is
-- golang.org/x/time/rate's token bucket, step for step: tokens at t are
-- min(burst, tk + elapsed.Seconds() * limit) with Seconds() computed as
-- whole seconds plus nanoseconds/1e9 as Go does, and limit = rate / 60;
-- (tk, tl) change only where tokens are spent (AllowN) and where the
-- limits change (SetLimitAt, SetBurstAt), so that the memory store and
-- these functions take the same decisions at the same instants.
--
-- Numbers are kept packed as little-endian doubles (struct.pack '<d', the
-- same bytes on every architecture a replica may run on): exact, and far
-- cheaper than formatting and parsing decimal strings.

-- The call's keys and arguments, set by start; S and R are the room's
-- state and the identity's record, tables made once and refilled by each
-- call (a function runs alone: Redis runs one at a time).
local K1, K2, K3, field
local chk, now, opening, claim, ttl, window, irate, iburst, icap
local hp, hi, he = -1, -1, -1
local S, R = {}, {}

-- CFMT is the arguments' common part.
local CFMT = '<c16dddddddd'

-- start reads a call's keys and arguments (f: CFMT and the function's own
-- numbers, returned).
local function start(keys, args, f)
  K1, K2, K3, field = keys[1], keys[2], keys[3], args[2]
  hp, hi, he = -1, -1, -1
  local x1, x2, x3, x4, x5, x6
  chk, now, opening, claim, ttl, window, irate, iburst, icap, x1, x2, x3, x4, x5, x6 = struct.unpack(f, args[1])
  return x1, x2, x3, x4, x5, x6
end

-- Room state: the hash K1 has one field per identity (its raw 32-byte
-- identity hash; see RFMT) and v: the room's check (16 bytes: the seed
-- commitment's start) and opening, fixed by the first call, then these
-- numbers, all packed:
--   lt latest now seen; la the instant the line was brought to; tl, tk the
--   bucket's last update and tokens then; n arrivals; e E (-1 until
--   fixed); s serving counter; ad admissions; rq returners' sequence;
--   rate, burst, cap the limits in force; ac active leases; nd a lower
--   bound of the earliest lease deadline (0 when ac is 0); rc returners;
--   and the drain measurement: bz someone waiting right before la (0/1),
--   mb/mc busy ms and admissions of the current window, pb/pc those of the
--   previous window; mn, mx the pacing bounds of the limits; lc when the
--   limits last changed (0: never); and the supply: sk a reading was given
--   (0/1), sf, sh its free and held places, sb the budget left.
local SFMT = '<c16dddddddddddddddddddddddddddd'

-- load reads the room state; it returns nil and an error reply when the
-- caller's opening or seed differ from the ones the room was created with.
local function load()
  local v
  if field then
    v = redis.call('HMGET', K1, 'v', field)
  else
    v = {redis.call('HGET', K1, 'v')}
  end
  local rv = v[2]
  v = v[1]
  if not v then
    S.fresh, S.packed = true, nil
    S.lt, S.la, S.tl, S.tk, S.n, S.e, S.s, S.ad, S.rq = now, now, now, 0, 0, -1, 0, 0, 0
    S.rate, S.burst, S.cap = irate, iburst, icap
    S.ac, S.nd, S.rc, S.bz, S.mb, S.mc, S.pb, S.pc = 0, 0, 0, 0, 0, 0, 0, 0
    S.mn, S.mx, S.lc, S.sk, S.sf, S.sh, S.sb = 0, 0, 0, 0, 0, 0, 0
  else
    local c, op
    c, op, S.lt, S.la, S.tl, S.tk, S.n, S.e, S.s, S.ad, S.rq, S.rate, S.burst, S.cap,
      S.ac, S.nd, S.rc, S.bz, S.mb, S.mc, S.pb, S.pc,
      S.mn, S.mx, S.lc, S.sk, S.sf, S.sh, S.sb = struct.unpack(SFMT, v)
    if c ~= chk or op ~= opening then
      return nil, redis.error_reply('GATEHOUSE_MISCONFIGURED room was first called with another opening or seed')
    end
    S.fresh, S.packed = false, v
  end
  S.recv = rv
  -- Time never goes back within a room.
  if now < S.lt then now = S.lt end
  S.lt = now
  return S
end

-- Identity record (the field named by the identity hash), these numbers
-- packed:
--   i arrival index; p place (-1 until known); j joined; c session
--   deadline once claimed (0 before); a latest admission (0: never);
--   d done (0/1); r returns; ja people ahead at join (-1: unknown);
--   jc/jb drain measurement at join.
local RFMT = '<dddddddddd'

local function loadRec(S)
  local v = S.recv
  if not v then return nil end
  R.packed = v
  R.i, R.p, R.j, R.c, R.a, R.d, R.r, R.ja, R.jc, R.jb = struct.unpack(RFMT, v)
  return R
end

-- newRec makes R the record of a newcomer with arrival index i.
local function newRec(i)
  R.packed = nil
  R.i, R.p, R.j, R.c, R.a, R.d, R.r, R.ja, R.jc, R.jb = i, -1, now, 0, 0, 0, 0, -1, 0, 0
  return R
end

-- save writes the room's state and the identity record R (if given) in
-- one HSET, each only if it changed.
local function save(S, R)
  local v = struct.pack(SFMT, chk, opening, S.lt, S.la, S.tl, S.tk, S.n, S.e, S.s, S.ad, S.rq, S.rate, S.burst, S.cap,
    S.ac, S.nd, S.rc, S.bz, S.mb, S.mc, S.pb, S.pc, S.mn, S.mx, S.lc, S.sk, S.sf, S.sh, S.sb)
  S.out = v
  if v == S.packed then v = nil end
  local rv
  if R then
    rv = struct.pack(RFMT, R.i, R.p, R.j, R.c, R.a, R.d, R.r, R.ja, R.jc, R.jb)
    R.out = rv
    if rv == R.packed then rv = nil end
  end
  if v and rv then
    redis.call('HSET', K1, 'v', v, field, rv)
  elseif v then
    redis.call('HSET', K1, 'v', v)
  elseif rv then
    redis.call('HSET', K1, field, rv)
  end
end

-- prep fixes E at the first call at or after the opening: the line starts
-- at the opening with a full bucket.
local function prep(S)
  if now < opening or S.e >= 0 then return end
  S.e = S.n
  S.tk = S.burst
  S.tl = opening
  S.la = opening
  S.bz = 0
end

-- tokensAt is x/time/rate's advance: the bucket's tokens at t.
local function tokensAt(S, t)
  local elapsed = t - S.tl
  if elapsed < 0 then elapsed = 0 end
  local sec = math.floor(elapsed / 1000)
  local nsec = (elapsed % 1000) * 1000000
  local tokens = S.tk + (sec + nsec / 1e9) * (S.rate / 60)
  if tokens > S.burst then tokens = S.burst end
  return tokens
end

-- nextToken is the first instant after t at which the bucket holds a whole
-- token (memoryStore's nextToken, the same search).
local function nextToken(S, t)
  local d = math.ceil((1 - tokensAt(S, t)) / (S.rate / 60) * 1000)
  if d < 1 then d = 1 end
  local c = t + d
  while tokensAt(S, c) < 1 do c = c + 1 end
  while c - 1 > t and tokensAt(S, c - 1) >= 1 do c = c - 1 end
  return c
end

-- addBusy adds d ms of busy time, starting a new drain window each time
-- the current one reaches the drain window.
local function addBusy(S, d)
  while d > 0 do
    local take = math.min(d, window - S.mb)
    S.mb = S.mb + take
    d = d - take
    if S.mb >= window then
      S.pb, S.pc, S.mb, S.mc = S.mb, S.mc, 0, 0
    end
  end
end

-- zaddMany adds members with their scores, in chunks that unpack can take.
local function zaddMany(key, args)
  local i = 1
  while i <= #args do
    local j = math.min(#args, i + 999)
    redis.call('ZADD', key, unpack(args, i, j))
    i = j + 1
  end
end

-- expire removes the leases whose deadline is <= now, only when the
-- earliest might be, and keeps S.nd.
local function expire(S)
  if S.ac > 0 and S.nd <= now then
    S.ac = S.ac - redis.call('ZREMRANGEBYSCORE', K2, '-inf', now)
    S.nd = 0
    if S.ac > 0 then
      S.nd = tonumber(redis.call('ZRANGE', K2, 0, 0, 'WITHSCORES')[2])
    end
  end
end

-- lease adds or moves a lease (a claim), keeping S.ac and S.nd.
local function lease(S, place, deadline)
  local added = redis.call('ZADD', K2, deadline, place)
  if S.ac == 0 or deadline < S.nd then S.nd = deadline end
  S.ac = S.ac + added
end

-- advance brings the line from S.la to now: at each instant t, leases
-- whose deadline is <= t end, then min(whole tokens, cap room, supply
-- budget, waiting) people are admitted at t, returners first, each with
-- the lease deadline t + claim. With the supply budget spent the line
-- stands still (no busy time) until the next reading.
local function advance(S)
  if S.e < 0 or now < S.la then return end
  local t = S.la
  local capped = S.cap > 0
  -- Leases ending by now, oldest first (only the cap needs them one by
  -- one), and those the loop grants that end by now.
  local ending, ei = {}, 1
  local granted, gi = {}, 1
  if capped and S.rc + (S.n - S.s) > 0 and S.ac > 0 and S.nd <= now then
    ending = redis.call('ZRANGE', K2, '-inf', now, 'BYSCORE', 'WITHSCORES')
  end
  local adds = {}
  -- live counts the leases at t; S.ac counts the set's members.
  local live = S.ac
  while true do
    if capped then
      while ending[ei + 1] and tonumber(ending[ei + 1]) <= t do
        live = live - 1
        ei = ei + 2
      end
      while granted[gi] and granted[gi] <= t do
        live = live - 1
        gi = gi + 1
      end
    end
    local waiting = S.rc + (S.n - S.s)
    local blocked = false
    if waiting > 0 then
      local tokens = tokensAt(S, t)
      local k = math.min(math.floor(tokens), waiting)
      if capped then
        local free = S.cap - live
        blocked = free <= k
        if free < k then k = free end
      end
      if S.sk == 1 and S.sb < k then k = S.sb end
      if k > 0 then
        -- AllowN(t, k)
        S.tk = tokens - k
        S.tl = t
        local deadline = t + claim
        local left = k
        if S.rc > 0 then
          local popped = redis.call('ZPOPMIN', K3, left)
          for i = 1, #popped, 2 do
            adds[#adds + 1] = deadline
            adds[#adds + 1] = popped[i]
          end
          left = left - #popped / 2
          S.rc = S.rc - #popped / 2
        end
        for p = S.s, S.s + left - 1 do
          adds[#adds + 1] = deadline
          adds[#adds + 1] = p
        end
        S.s = S.s + left
        if S.ac == 0 or deadline < S.nd then S.nd = deadline end
        S.ac = S.ac + k
        live = live + k
        S.ad = S.ad + k
        if S.sk == 1 then S.sb = S.sb - k end
        if S.bz == 1 then S.mc = S.mc + k end
        if capped and deadline <= now then granted[#granted + 1] = deadline end
        waiting = waiting - k
      end
    end
    local stuck = S.sk == 1 and S.sb <= 0
    local nxt = -1
    if waiting > 0 and not stuck then
      if blocked then
        local a, b = ending[ei + 1], granted[gi]
        if a then nxt = tonumber(a) end
        if b and (nxt < 0 or b < nxt) then nxt = b end
      else
        nxt = nextToken(S, t)
      end
    end
    local stop = now
    if nxt >= 0 and nxt < now then stop = nxt end
    if waiting > 0 and not stuck then
      addBusy(S, stop - t)
      S.bz = 1
    else
      S.bz = 0
    end
    if nxt < 0 or nxt > now then break end
    t = nxt
  end
  if #adds > 0 then zaddMany(K2, adds) end
  expire(S)
  S.la = now
end

-- setLimits applies new limits at now, as x/time/rate's SetLimitAt then
-- SetBurstAt.
local function setLimits(S, rate, burst, cap, mn, mx)
  S.mn, S.mx, S.lc = mn, mx, now
  if S.e >= 0 then
    S.tk = tokensAt(S, now)
    S.tl = now
    S.rate = rate
    S.tk = tokensAt(S, now)
    S.burst = burst
  else
    S.rate, S.burst = rate, burst
  end
  S.cap = cap
end

local function drain(S)
  if S.pb <= 0 then return 0, 0 end
  return S.pc + S.mc, S.pb + S.mb
end

-- Reply codes.
local OK, NOTJOINED, NEEDPLACE = 0, 1, 2
-- States.
local WAITING, ADMITTED, EXPIRED, DONE = 0, 1, 2, 3

-- resolvePlace fixes R.p once E is known: the index for a later arrival,
-- or the caller's hint (hp for index hi and E he, computed in Go by the
-- shuffle). It returns false when Go must compute it first.
local function resolvePlace(S, R)
  if R.p >= 0 or S.e < 0 then return true end
  if R.i >= S.e then
    R.p = R.i
  elseif hi == R.i and he == S.e and hp >= 0 then
    R.p = hp
  else
    return false
  end
  return true
end

-- The replies: OK, the room's state as saved (the hash's v) and the
-- record as saved, then state, ahead, claimed, returning; Go reads the
-- figures and the record from the two strings, which the call has packed
-- anyway, instead of the function packing them again.
local function reply(S, R, state, ahead, claimed, returning)
  return {OK, S.out, R.out, state, ahead, claimed, returning}
end

-- moved loads the room and brings its line to now; it returns nil and an
-- error reply for a caller whose opening or seed differ.
local function moved()
  local S, err = load()
  if not S then return nil, err end
  prep(S)
  advance(S)
  return S
end

-- person starts a status or done: the room brought to now and the
-- person's record with its place fixed; or nil and the reply to send (not
-- joined; or the place that Go must compute first, for an early arrival
-- without a hint).
local function person()
  local S, err = moved()
  if not S then return nil, nil, err end
  local R = loadRec(S)
  if not R then
    save(S)
    return nil, nil, {NOTJOINED}
  end
  if not resolvePlace(S, R) then
    save(S)
    return nil, nil, {NEEDPLACE, R.i, S.e}
  end
  return S, R
end

-- join: give the identity the next arrival index if it has none; no claim.
local function join(keys, args)
  start(keys, args, CFMT)
  local S, err = moved()
  if not S then return err end
  local R = loadRec(S)
  local new = false
  if not R then
    -- With people already waiting the line cannot take the newcomer at
    -- once (no whole token or no room left): no need to move it again.
    local waited = S.rc + (S.n - S.s) > 0
    R = newRec(S.n)
    S.n = S.n + 1
    new = true
    if not waited then advance(S) end
  end
  resolvePlace(S, R)
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
end

-- status: the person's standing, with claim. Its own numbers: the place
-- hint (-1: none), the index and the E it is for.
local HFMT = '<c16dddddddd' .. 'ddd'
local function status(keys, args)
  hp, hi, he = start(keys, args, HFMT)
  local S, R, out = person()
  if not S then return out end

  -- Called while away: back to the head of the line.
  local sc = nil
  if S.e >= 0 and R.d == 0 and R.c == 0 and R.p < S.s then
    sc = redis.call('ZSCORE', K2, R.p)
    if not sc and not redis.call('ZSCORE', K3, R.p) then
      S.rq = S.rq + 1
      redis.call('ZADD', K3, S.rq, R.p)
      S.rc = S.rc + 1
      R.r = R.r + 1
      advance(S)
      sc = redis.call('ZSCORE', K2, R.p)
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
      ahead = redis.call('ZRANK', K3, R.p)
    end
  else
    ahead = S.rc + (R.p - S.s)
  end
  save(S, R)
  return reply(S, R, state, ahead, claimed, returning)
end

-- done: the person leaves; its active place is freed at once. Its own
-- numbers: the place hint, as status.
local function done(keys, args)
  hp, hi, he = start(keys, args, HFMT)
  local S, R, out = person()
  if not S then return out end
  if R.d == 0 then
    R.d = 1
    if R.p >= 0 then
      S.ac = S.ac - redis.call('ZREM', K2, R.p)
      if S.rc > 0 then S.rc = S.rc - redis.call('ZREM', K3, R.p) end
      -- A freed place lets someone in now only under a cap.
      if S.cap > 0 then advance(S) end
    end
  end
  save(S, R)
  return reply(S, R, DONE, 0, 0, 0)
end

-- line answers a function that brings the line to now with the room's
-- state, from which Go reads the figures.
local function line(S)
  save(S)
  return {OK, S.out}
end

-- advance: bring the line to now and return the figures.
local function fadvance(keys, args)
  start(keys, args, CFMT)
  local S, err = moved()
  if not S then return err end
  return line(S)
end

-- limits: bring the line to now under the limits in force, then change
-- them. Its own numbers: rate, burst, cap, min rate, max rate, since (Unix
-- ms; -1: unconditional): change them only if they were last changed
-- before it.
local LFMT = CFMT .. 'dddddd'
local function limits(keys, args)
  local rate, burst, cap, mn, mx, since = start(keys, args, LFMT)
  local S, err = moved()
  if not S then return err end
  if since < 0 or S.lc < since then
    setLimits(S, rate, burst, cap, mn, mx)
    advance(S)
  end
  return line(S)
end

-- supply: bring the line to now, then record a supply reading. Its own
-- numbers: free, held, allowance.
local PFMT = CFMT .. 'ddd'
local function supply(keys, args)
  local free, held, allowance = start(keys, args, PFMT)
  local S, err = moved()
  if not S then return err end
  S.sk, S.sf, S.sh = 1, free, held
  S.sb = math.max(0, allowance - S.ac)
  advance(S)
  return line(S)
end

redis.register_function('__LIB___join', join)
redis.register_function('__LIB___status', status)
redis.register_function('__LIB___done', done)
redis.register_function('__LIB___advance', fadvance)
redis.register_function('__LIB___limits', limits)
redis.register_function('__LIB___supply', supply)
