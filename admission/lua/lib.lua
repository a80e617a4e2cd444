#!lua name=__LIB__
-- The waiting room's Redis functions (FUNCTION LOAD once per server, then
-- FCALL): the library is loaded once, so a call builds no helper function
-- and no table beyond its own; it passes its numbers packed in one
-- argument and gets its answer packed in one string.
--
-- go-redis may send a call twice (it retries after a timeout), so every
-- function is idempotent at a given now: a second run at the same instant
-- finds the tokens spent and the record written, and admits nobody more.
-- A batch sent twice runs its calls twice, in order, as their own
-- functions sent twice would run: nobody is admitted twice.
--
-- keys[1] room (hash): the room's state, and one field per identity
-- keys[2] active leases (zset: place -> lease deadline, Unix ms)
-- keys[3] returners (zset: place -> return sequence)
-- All keys share the room's hash tag, so a Cluster runs them on one shard.
--
-- args[1] packed little-endian: the room's check (16 bytes), then doubles:
-- now, opening (Unix ms), claim window ms, session ttl ms, drain window ms,
-- then the function's own numbers, and last rate, burst, cap (the limits a
-- room starts with); args[2] the identity hash (join, status, done). A
-- call that succeeds answers one string: the room's state as stored (v
-- then h, see enter), for join, status and done followed by the identity's
-- record as stored and one double packing the call's own figures (see
-- reply); Go reads them. Other answers are arrays of integers: a code
-- (NOTJOINED, NEEDPLACE) and its numbers.
--
-- batch runs several calls of one room in one FCALL (the store's group
-- commit, redis_batch.go): its args are, for each call in order, its
-- args[1] behind one byte naming its function (see OPS), or when its
-- check, opening, windows and limits are the call before's, that byte
-- plus SHORT then now and its own numbers; and for join, status and done
-- its identity hash. It reads the room's state and every
-- record the batch names in one HMGET, runs each call in turn on them
-- exactly as the call's own function would (its own now, arguments and
-- reply; time never goes back within the room), and writes the state and
-- every record that changed in one HSET at the end. Its answer is an
-- array of the calls' answers, in order, an error among them as the call
-- would have failed alone (GATEHOUSE_MISCONFIGURED). The sets (keys[2],
-- keys[3]) are changed call by call as alone, and nothing reads the hash
-- in between, so a batch leaves the room as the calls one after another
-- would have.

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

-- The call's keys and arguments, set by start, and the room's state and
-- the identity's record, read by open and loadRec: chunk locals (upvalues
-- of the functions, much cheaper in Lua than table fields), each set anew
-- by every FCALL (the room's state) or call (its arguments and record)
-- before it is read, so nothing outlives an FCALL (a function runs alone:
-- Redis runs one at a time).
local K1, K2, K3, field, a1, ofs, short, alim, inb
local chk, now, opening, claim, ttl, window
local hp, hi, he = -1, -1, -1
-- math's and string's functions, as upvalues (the library's load cannot
-- read them).
local floor, ceil, byte
-- NONE is an empty table never written to.
local NONE = {}

-- CFMT is the arguments' common part: the room's check, now, opening,
-- claim window, session ttl, drain window; then come the function's own
-- numbers, and last the limits a room starts with (rate, burst, cap), read
-- only by a room's first call.
local CFMT = '<c16ddddd'

-- start reads a call's arguments from a1 at ofs (f: CFMT and the
-- function's own numbers, returned). In a batch, a call whose check,
-- opening, windows and limits are the call before's comes short: now and
-- its own numbers (sf) only, the rest left as the call before set it.
-- alim is the latest whole arguments (the limits a room starts with).
local function start(f, sf)
  hp, hi, he = -1, -1, -1
  local x1, x2, x3, x4, x5, x6
  if short then
    now, x1, x2, x3, x4, x5, x6 = struct.unpack(sf, a1, 2)
  else
    chk, now, opening, claim, ttl, window, x1, x2, x3, x4, x5, x6 = struct.unpack(f, a1, ofs)
    alim = a1
  end
  return x1, x2, x3, x4, x5, x6
end

-- Room state: the hash K1 has one field per identity (its raw 32-byte
-- identity hash; see RFMT), and the room's numbers, packed, in two
-- fields: v, what changes seldom (written only when it does), and h, what
-- most calls change.
--
-- v: the room's check (16 bytes: the layout's stamp, then the seed
-- commitment's start; a room of another stamp is refused, MISVERSION) and
-- opening, fixed by the first call, then e E (-1 until fixed); rc
-- returners; rate, burst, cap the limits in force; pb/pc busy ms and
-- admissions of the previous drain window; sk a supply reading was given
-- (0/1); and its tail, which most calls do not read (see tail): rq
-- returners' sequence; mn, mx the pacing bounds of the limits; lc when
-- the limits last changed (0: never); sf, sh the supply reading's free and
-- held places.
local VFMT = '<c16ddddddddddddddd'
local VLEN = 16 + 15 * 8
local HEADFMT, TFMT, TPOS = '<c16ddddddddd', '<dddddd', 16 + 9 * 8 + 1
local rchk, rop, e, rc, rate, burst, cap, pb, pc, sk, rq, mn, mx, lc, sf, sh
-- h: lt latest now seen; la the instant the line was brought to; tl, tk
-- the bucket's last update and tokens then; n arrivals; s serving
-- counter; ad admissions; ac active leases; nd a lower bound of the
-- earliest lease deadline (0 when ac is 0); bz someone waiting right
-- before la (0/1); mb/mc busy ms and admissions of the current drain
-- window; sb the supply budget left.
local HFMT = '<ddddddddddddd'
local lt, la, tl, tk, n, s, ad, ac, nd, bz, mb, mc, sb
-- vin, hin: v and h as read (nil for a new room); vout, hout: as after
-- the latest call; vdirty: v changed since vout was packed (every change
-- to a number of v sets it); exists: the room has a state (read, or made
-- by an earlier call of the FCALL); recv: the identity's record before
-- the call (false: none).
-- vtail: rq, mn, mx, lc, sf, sh hold v's tail.
local vin, hin, vout, hout, vdirty, exists, recv, vtail

-- In a batch (inb), the room's numbers as the latest advance of this
-- FCALL left them (sLa nil: none yet), and whether people were waiting
-- then: see moved.
local sLa, sTk, sTl, sN, sS, sRc, sAc, sNd, sSb, sSk, sCap, sRate, sBurst, sE, sWait

-- tail reads v's tail, once an FCALL: before any of its numbers is read
-- or changed, and before v is packed (until then they are vin's).
local function tail()
  if vtail then return end
  rq, mn, mx, lc, sf, sh = struct.unpack(TFMT, vin, TPOS)
  vtail = true
end

-- MISVERSION is the answer for a room whose state another version of
-- this library wrote.
local MISVERSION = 'GATEHOUSE_MISCONFIGURED room was created by another version of gatehouse'

-- open reads the room's state from v and h as read (nil: no room yet);
-- it returns false for a state of another layout.
local function open(v, h)
  vin, hin, vout, hout = v, h, v, h
  vdirty = false
  sLa = nil
  if not v then
    exists = false
    return true
  end
  if #v ~= VLEN or not h then return false end
  rchk, rop, e, rc, rate, burst, cap, pb, pc, sk = struct.unpack(HEADFMT, v)
  vtail = false
  lt, la, tl, tk, n, s, ad, ac, nd, bz, mb, mc, sb = struct.unpack(HFMT, h)
  exists = true
  return true
end

-- enter starts a call on the room: a room's first call makes its state;
-- a caller whose opening or seed differ from the room's gets false and an
-- error reply (and changes nothing). Time never goes back within a room.
local function enter()
  if not exists then
    local irate, iburst, icap = struct.unpack('<ddd', alim, #alim - 23)
    rchk, rop = chk, opening
    e, rc, rate, burst, cap, pb, pc, sk = -1, 0, irate, iburst, icap, 0, 0, 0
    rq, mn, mx, lc, sf, sh = 0, 0, 0, 0, 0, 0
    vtail = true
    lt, la, tl, tk, n, s, ad, ac, nd, bz, mb, mc, sb = now, now, now, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
    vdirty = true
    exists = true
  elseif chk ~= rchk or opening ~= rop then
    if string.byte(chk) ~= string.byte(rchk) then return false, redis.error_reply(MISVERSION) end
    return false, redis.error_reply('GATEHOUSE_MISCONFIGURED room was first called with another opening or seed')
  end
  if now < lt then now = lt end
  lt = now
  return true
end

-- Identity record (the field named by the identity hash), these numbers
-- packed:
--   i arrival index; p place (-1 until known); j joined; c session
--   deadline once claimed (0 before); a latest admission (0: never);
--   d done (0/1); r returns; ja people ahead at join (-1: unknown);
--   jc/jb drain measurement at join.
local RFMT = '<dddddddddd'
local ri, rp, rj, rcl, ra, rd, rr, rja, rjc, rjb
-- rout: the record as after the call; rdirty: the record changed (every
-- change to one of its numbers sets it); rset: the call set rout.
local rout, rdirty, rset

-- loadRec reads the identity's record; false if it has none.
local function loadRec()
  if not recv then return false end
  rdirty = false
  ri, rp, rj, rcl, ra, rd, rr, rja, rjc, rjb = struct.unpack(RFMT, recv)
  return true
end

-- newRec makes the record that of a newcomer with arrival index i.
local function newRec(i)
  rdirty = true
  ri, rp, rj, rcl, ra, rd, rr, rja, rjc, rjb = i, -1, now, 0, 0, 0, 0, -1, 0, 0
end

-- finish ends a call: vout and hout become the room's state after it and
-- (withRec) rout the identity's record, each packed anew only if it
-- changed. Nothing is written: see write and batch.
local function finish(withRec)
  if vdirty then
    tail()
    vout = struct.pack(VFMT, rchk, rop, e, rc, rate, burst, cap, pb, pc, sk, rq, mn, mx, lc, sf, sh)
    vdirty = false
  end
  hout = struct.pack(HFMT, lt, la, tl, tk, n, s, ad, ac, nd, bz, mb, mc, sb)
  if withRec then
    if rdirty then
      rout = struct.pack(RFMT, ri, rp, rj, rcl, ra, rd, rr, rja, rjc, rjb)
    else
      rout = recv
    end
    rset = true
  end
end

-- write saves what a call alone changed (the room's state and its
-- identity's record) in one HSET, each only if it differs from what was
-- read.
local function write()
  local v, h, r
  if vout ~= vin then v = vout end
  if hout ~= hin then h = hout end
  if rset and rout ~= recv then r = rout end
  if v then
    if h and r then
      redis.call('HSET', K1, 'v', v, 'h', h, field, r)
    elseif h then
      redis.call('HSET', K1, 'v', v, 'h', h)
    elseif r then
      redis.call('HSET', K1, 'v', v, field, r)
    else
      redis.call('HSET', K1, 'v', v)
    end
  elseif h and r then
    redis.call('HSET', K1, 'h', h, field, r)
  elseif h then
    redis.call('HSET', K1, 'h', h)
  elseif r then
    redis.call('HSET', K1, field, r)
  end
end

-- prep fixes E at the first call at or after the opening: the line starts
-- at the opening with a full bucket.
local function prep()
  if now < opening or e >= 0 then return end
  e = n
  vdirty = true
  tk = burst
  tl = opening
  la = opening
  bz = 0
end

-- tokensAt is x/time/rate's advance: the bucket's tokens at t.
local function tokensAt(t)
  local elapsed = t - tl
  if elapsed < 0 then elapsed = 0 end
  local sec = floor(elapsed / 1000)
  local nsec = (elapsed % 1000) * 1000000
  local tokens = tk + (sec + nsec / 1e9) * (rate / 60)
  if tokens > burst then tokens = burst end
  return tokens
end

-- nextToken is the first instant after t at which the bucket holds a whole
-- token (memoryStore's nextToken, the same search); cur is tokensAt(t).
local function nextToken(t, cur)
  local d = ceil((1 - cur) / (rate / 60) * 1000)
  if d < 1 then d = 1 end
  local c = t + d
  while tokensAt(c) < 1 do c = c + 1 end
  while c - 1 > t and tokensAt(c - 1) >= 1 do c = c - 1 end
  return c
end

-- addBusy adds d ms of busy time, starting a new drain window each time
-- the current one reaches the drain window.
local function addBusy(d)
  while d > 0 do
    local take = window - mb
    if d < take then take = d end
    mb = mb + take
    d = d - take
    if mb >= window then
      pb, pc, mb, mc = mb, mc, 0, 0
      vdirty = true
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
-- earliest might be, and keeps nd.
local function expire()
  if ac > 0 and nd <= now then
    ac = ac - redis.call('ZREMRANGEBYSCORE', K2, '-inf', now)
    nd = 0
    if ac > 0 then
      nd = tonumber(redis.call('ZRANGE', K2, 0, 0, 'WITHSCORES')[2])
    end
  end
end

-- lease adds or moves a lease (a claim), keeping ac and nd.
local function lease(place, deadline)
  local added = redis.call('ZADD', K2, deadline, place)
  if ac == 0 or deadline < nd then nd = deadline end
  ac = ac + added
end

-- advance brings the line from la to now: at each instant t, leases
-- whose deadline is <= t end, then min(whole tokens, cap room, supply
-- budget, waiting) people are admitted at t, returners first, each with
-- the lease deadline t + claim. With the supply budget spent the line
-- stands still (no busy time) until the next reading.
local function advance()
  if e < 0 or now < la then return end
  local t = la
  local capped = cap > 0
  -- Leases ending by now, oldest first (only the cap needs them one by
  -- one), and those the loop grants that end by now.
  local ending, ei = NONE, 1
  local granted, gi, ng = NONE, 1, 0
  if capped and rc + (n - s) > 0 and ac > 0 and nd <= now then
    ending = redis.call('ZRANGE', K2, '-inf', now, 'BYSCORE', 'WITHSCORES')
  end
  local adds, na = nil, 0
  -- live counts the leases at t; ac counts the set's members.
  local live = ac
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
    local waiting = rc + (n - s)
    local blocked = false
    -- cur: tokensAt(t), kept through the spending below.
    local cur = 0
    if waiting > 0 then
      local tokens = tokensAt(t)
      cur = tokens
      local k = floor(tokens)
      if waiting < k then k = waiting end
      if capped then
        local free = cap - live
        blocked = free <= k
        if free < k then k = free end
      end
      if sk == 1 and sb < k then k = sb end
      if k > 0 then
        -- AllowN(t, k)
        tk = tokens - k
        tl = t
        cur = tk
        local deadline = t + claim
        local left = k
        if not adds then adds = {} end
        if rc > 0 then
          local popped = redis.call('ZPOPMIN', K3, left)
          for i = 1, #popped, 2 do
            adds[na + 1] = deadline
            adds[na + 2] = popped[i]
            na = na + 2
          end
          left = left - #popped / 2
          rc = rc - #popped / 2
          vdirty = true
        end
        for p = s, s + left - 1 do
          adds[na + 1] = deadline
          adds[na + 2] = p
          na = na + 2
        end
        s = s + left
        if ac == 0 or deadline < nd then nd = deadline end
        ac = ac + k
        live = live + k
        ad = ad + k
        if sk == 1 then sb = sb - k end
        if bz == 1 then mc = mc + k end
        if capped and deadline <= now then
          if ng == 0 then granted = {} end
          ng = ng + 1
          granted[ng] = deadline
        end
        waiting = waiting - k
      end
    end
    local stuck = sk == 1 and sb <= 0
    local nxt = -1
    if waiting > 0 and not stuck then
      if blocked then
        local a, b = ending[ei + 1], granted[gi]
        if a then nxt = tonumber(a) end
        if b and (nxt < 0 or b < nxt) then nxt = b end
      else
        nxt = nextToken(t, cur)
      end
    end
    local stop = now
    if nxt >= 0 and nxt < now then stop = nxt end
    if waiting > 0 and not stuck then
      addBusy(stop - t)
      bz = 1
    else
      bz = 0
    end
    if nxt < 0 or nxt > now then break end
    t = nxt
  end
  if na > 0 then zaddMany(K2, adds) end
  expire()
  la = now
  -- What the line was left at (see moved).
  if not inb then return end
  sLa, sTk, sTl, sN, sS, sRc, sAc, sNd, sSb, sSk, sCap, sRate, sBurst, sE = la, tk, tl, n, s, rc, ac, nd, sb, sk, cap, rate, burst, e
  sWait = rc + (n - s) > 0
end

-- setLimits applies new limits at now, as x/time/rate's SetLimitAt then
-- SetBurstAt.
local function setLimits(nrate, nburst, ncap, nmn, nmx)
  tail()
  mn, mx, lc = nmn, nmx, now
  vdirty = true
  if e >= 0 then
    tk = tokensAt(now)
    tl = now
    rate = nrate
    tk = tokensAt(now)
    burst = nburst
  else
    rate, burst = nrate, nburst
  end
  cap = ncap
end

local function drain()
  if pb <= 0 then return 0, 0 end
  return pc + mc, pb + mb
end

-- Reply codes.
local NOTJOINED, NEEDPLACE = 1, 2
-- States.
local WAITING, ADMITTED, EXPIRED, DONE = 0, 1, 2, 3

-- resolvePlace fixes rp once E is known: the index for a later arrival,
-- or the caller's hint (hp for index hi and E he, computed in Go by the
-- shuffle). It returns false when Go must compute it first.
local function resolvePlace()
  if rp >= 0 or e < 0 then return true end
  if ri >= e then
    rp = ri
  elseif hi == ri and he == e and hp >= 0 then
    rp = hp
  else
    return false
  end
  rdirty = true
  return true
end

-- reply is the answer of join, status and done: v, h and the record as
-- saved (Go reads the figures and the record from them: the call has
-- packed them anyway), then one double: ((ahead + 1) * 4 + state) * 4 +
-- claimed * 2 + returning. One string is the cheapest answer to make.
local function reply(state, ahead, claimed, returning)
  return vout .. hout .. rout .. struct.pack('<d', ((ahead + 1) * 4 + state) * 4 + claimed * 2 + returning)
end

-- moved starts a call on the room and brings its line to now; it returns
-- false and an error reply for a caller whose opening or seed differ.
--
-- In a batch, calls often come at the instant the call before left the
-- line at. Bringing it there again changes nothing when nothing it reads
-- has changed since (the bucket, the counters, the leases, the budget,
-- the limits): the last instant it looked at was now, or one before it
-- from which no token, lease end or budget is due until after now; so
-- it admits nobody, adds no busy time, sets bz as it was, and expires
-- nothing. Nor when the only changes are newcomers joining a line where
-- people were waiting already (join does not move it then either: what
-- held the line back, no whole token, no room under the cap or no
-- budget, still does), leases leaving a room without a cap (done; the
-- count of leases matters only under a cap) or a lease moved to a
-- deadline after now (a claim; the earliest deadline matters only once
-- it is reached). moved then skips it.
local function moved()
  local ok, err = enter()
  if not ok then return false, err end
  prep()
  if not (now == sLa and la == sLa and tk == sTk and tl == sTl and s == sS and rc == sRc and
      (ac == sAc or cap == 0) and (nd == sNd or nd > now) and sb == sSb and sk == sSk and cap == sCap and
      rate == sRate and burst == sBurst and e == sE and (n == sN or (sWait and n > sN))) then
    advance()
  end
  return true
end

-- person starts a status or done: the room brought to now and the
-- person's record with its place fixed; or false and the reply to send
-- (not joined; or the place that Go must compute first, for an early
-- arrival without a hint).
local function person()
  local ok, err = moved()
  if not ok then return false, err end
  if not loadRec() then
    finish(false)
    return false, {NOTJOINED}
  end
  if not resolvePlace() then
    finish(false)
    return false, {NEEDPLACE, ri, e}
  end
  return true
end

-- The calls, each run on the room's state in the upvalues (open first)
-- with its arguments in a1 from ofs and its identity's record in recv;
-- each returns its reply and leaves the state and record changed in
-- vout, hout, rout (finish), unwritten.

-- join: give the identity the next arrival index if it has none; if its
-- place is called and its lease live, claim it as status would (a
-- newcomer at a line with nobody ahead gets its pass from this one call).
local function join()
  start(CFMT, '<d')
  local ok, err = moved()
  if not ok then return err end
  local new = false
  if not loadRec() then
    -- With people already waiting the line cannot take the newcomer at
    -- once (no whole token or no room left): no need to move it again.
    local waited = rc + (n - s) > 0
    newRec(n)
    n = n + 1
    new = true
    if not waited then advance() end
  end
  resolvePlace()
  local state, ahead = WAITING, -1
  if rd == 1 then
    state, ahead = DONE, 0
  elseif rcl > 0 then
    ahead = 0
    if now < rcl then state = ADMITTED else state = EXPIRED end
  elseif rp >= 0 and rp >= s then
    ahead = rc + (rp - s)
  end
  if new and ahead >= 0 then
    rja = ahead
    rjc, rjb = drain()
  end
  local claimed = 0
  if state == WAITING and e >= 0 and rp >= 0 and rp < s then
    local sc = redis.call('ZSCORE', K2, rp)
    if sc then
      rcl = now + ttl
      ra = tonumber(sc) - claim
      rdirty = true
      lease(rp, rcl)
      state, ahead, claimed = ADMITTED, 0, 1
    end
  end
  finish(true)
  return reply(state, ahead, claimed, 0)
end

-- status: the person's standing, with claim. Its own numbers: the place
-- hint (-1: none), the index and the E it is for.
local XFMT, XSFMT = CFMT .. 'ddd', '<dddd'
local function status()
  hp, hi, he = start(XFMT, XSFMT)
  local ok, out = person()
  if not ok then return out end

  -- Called while away: back to the head of the line.
  local sc = nil
  if e >= 0 and rd == 0 and rcl == 0 and rp < s then
    sc = redis.call('ZSCORE', K2, rp)
    if not sc and not redis.call('ZSCORE', K3, rp) then
      tail()
      rq = rq + 1
      vdirty = true
      redis.call('ZADD', K3, rq, rp)
      rc = rc + 1
      rr = rr + 1
      rdirty = true
      advance()
      sc = redis.call('ZSCORE', K2, rp)
    end
  end

  local state, ahead, claimed, returning = WAITING, 0, 0, 0
  if e < 0 then
    ahead = -1
  elseif rd == 1 then
    state = DONE
  elseif rcl > 0 then
    if now < rcl then state = ADMITTED else state = EXPIRED end
  elseif rp < s then
    if sc then
      rcl = now + ttl
      ra = tonumber(sc) - claim
      rdirty = true
      lease(rp, rcl)
      state = ADMITTED
      claimed = 1
    else
      returning = 1
      ahead = redis.call('ZRANK', K3, rp)
    end
  else
    ahead = rc + (rp - s)
  end
  finish(true)
  return reply(state, ahead, claimed, returning)
end

-- done: the person leaves; its active place is freed at once. Its own
-- numbers: the place hint, as status.
local function done()
  hp, hi, he = start(XFMT, XSFMT)
  local ok, out = person()
  if not ok then return out end
  if rd == 0 then
    rd = 1
    rdirty = true
    if rp >= 0 then
      ac = ac - redis.call('ZREM', K2, rp)
      if rc > 0 then
        rc = rc - redis.call('ZREM', K3, rp)
        vdirty = true
      end
      -- A freed place lets someone in now only under a cap.
      if cap > 0 then advance() end
    end
  end
  finish(true)
  return reply(DONE, 0, 0, 0)
end

-- line answers a function that brings the line to now with the room's
-- state, from which Go reads the figures.
local function line()
  finish(false)
  return vout .. hout
end

-- advance: bring the line to now and return the figures.
local function fadvance()
  start(CFMT, '<d')
  local ok, err = moved()
  if not ok then return err end
  return line()
end

-- limits: bring the line to now under the limits in force, then change
-- them. Its own numbers: rate, burst, cap, min rate, max rate, since (Unix
-- ms; -1: unconditional): change them only if they were last changed
-- before it.
local LFMT = CFMT .. 'dddddd'
local function limits()
  local nrate, nburst, ncap, nmn, nmx, since = start(LFMT, '<ddddddd')
  local ok, err = moved()
  if not ok then return err end
  tail()
  if since < 0 or lc < since then
    setLimits(nrate, nburst, ncap, nmn, nmx)
    advance()
  end
  return line()
end

-- supply: bring the line to now, then record a supply reading. Its own
-- numbers: free, held, allowance.
local PFMT = CFMT .. 'ddd'
local function supply()
  local free, held, allowance = start(PFMT, '<dddd')
  local ok, err = moved()
  if not ok then return err end
  tail()
  sk, sf, sh = 1, free, held
  vdirty = true
  sb = allowance - ac
  if sb < 0 then sb = 0 end
  advance()
  return line()
end

-- OPS are the calls by the byte that names them in a batch (Go's op
-- codes); the first NAMED of them take an identity hash.
local OPS = {join, status, done, fadvance, limits, supply}
local NAMED = 3
-- SHORT is added to the byte of a call that comes short (see start).
local SHORT = 128

-- alone runs call f as a function of its own: keys, args[1] its numbers
-- and args[2] (NAMED calls) its identity hash; one HMGET, the call, one
-- HSET of what changed.
local function alone(f, keys, args)
  if not floor then floor, ceil, byte = math.floor, math.ceil, string.byte end
  K1, K2, K3, a1, field, ofs, short, inb = keys[1], keys[2], keys[3], args[1], args[2], 1, false, false
  local r
  if field then
    r = redis.call('HMGET', K1, 'v', 'h', field)
  else
    r = redis.call('HMGET', K1, 'v', 'h')
  end
  recv = r[3]
  if not open(r[1], r[2]) then return redis.error_reply(MISVERSION) end
  rset = false
  local out = f()
  write()
  return out
end

-- batch runs several calls of one room in order (see the top of this
-- file): one HMGET of v, h and every identity the calls name, each call
-- on the state the ones before it left, one HSET of what changed.
local function batch(keys, args)
  if not floor then floor, ceil, byte = math.floor, math.ceil, string.byte end
  K1, K2, K3, ofs, inb = keys[1], keys[2], keys[3], 2, true
  -- The identities, each once: names[k] and its index at[name].
  local names, at, nn = {}, {}, 0
  local i, na = 1, #args
  while i <= na do
    if byte(args[i], 1) % SHORT <= NAMED then
      local f = args[i + 1]
      if not at[f] then
        nn = nn + 1
        names[nn] = f
        at[f] = nn
      end
      i = i + 2
    else
      i = i + 1
    end
  end
  local r = redis.call('HMGET', K1, 'v', 'h', unpack(names, 1, nn))
  if not open(r[1], r[2]) then return redis.error_reply(MISVERSION) end
  -- cur[k]: identity k's record as the calls so far left it.
  local cur = {}
  for k = 1, nn do cur[k] = r[k + 2] end
  local out, no = {}, 0
  i = 1
  while i <= na do
    a1 = args[i]
    local op = byte(a1, 1)
    short = op > SHORT
    if short then op = op - SHORT end
    local k = nil
    if op <= NAMED then
      field = args[i + 1]
      k = at[field]
      recv = cur[k]
      i = i + 2
    else
      field, recv = nil, false
      i = i + 1
    end
    rset = false
    no = no + 1
    out[no] = OPS[op]()
    if rset then cur[k] = rout end
  end
  -- One HSET of the state and the records that changed.
  local w, nw = {'HSET', K1}, 2
  if vout ~= vin then w[nw + 1], w[nw + 2], nw = 'v', vout, nw + 2 end
  if hout ~= hin then w[nw + 1], w[nw + 2], nw = 'h', hout, nw + 2 end
  for k = 1, nn do
    if cur[k] ~= r[k + 2] then w[nw + 1], w[nw + 2], nw = names[k], cur[k], nw + 2 end
  end
  if nw > 2 then redis.call(unpack(w, 1, nw)) end
  return out
end

redis.register_function('__LIB___join', function(keys, args) return alone(join, keys, args) end)
redis.register_function('__LIB___status', function(keys, args) return alone(status, keys, args) end)
redis.register_function('__LIB___done', function(keys, args) return alone(done, keys, args) end)
redis.register_function('__LIB___advance', function(keys, args) return alone(fadvance, keys, args) end)
redis.register_function('__LIB___limits', function(keys, args) return alone(limits, keys, args) end)
redis.register_function('__LIB___supply', function(keys, args) return alone(supply, keys, args) end)
redis.register_function('__LIB___batch', batch)
