-- Shared prelude of the waiting room's scripts. Each script is this file
-- followed by its own body. go-redis may run a script twice for one call
-- (it retries after a timeout), so every body is idempotent at a given now:
-- a second run at the same instant finds the tokens spent and the record
-- written, and admits nobody more.
--
-- KEYS[1] room state (hash)
-- KEYS[2] active leases (zset: place -> lease deadline, Unix ms)
-- KEYS[3] returners (zset: place -> return sequence)
-- KEYS[4] identity record (string), for visit and done
-- All keys share the room's hash tag, so a Cluster runs them on one shard.
--
-- ARGV[1] now (Unix ms)  [2] opening (Unix ms)  [3] limit (tokens per second,
-- a float64 written exactly)  [4] burst  [5] cap (0: none)  [6] claim window ms
-- [7] session ttl ms  [8] drain window ms  [9] seed commitment
--
-- Times are integers of milliseconds (exact in Lua's doubles up to 2^53).
-- The limiter is golang.org/x/time/rate's token bucket, step for step:
-- tokens = min(burst, tokens + elapsed.Seconds() * limit), with Seconds()
-- computed as whole seconds plus nanoseconds/1e9 as Go does, so that the
-- memory store and this script take the same decisions.
--
-- Numbers are kept packed as little-endian doubles (struct.pack '<d', the
-- same bytes on every architecture a replica may run on):
-- exact, and far cheaper than formatting and parsing decimal strings, which
-- is most of a script's cost otherwise.
local now = tonumber(ARGV[1])
local opening = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local burst = tonumber(ARGV[4])
local cap = tonumber(ARGV[5])
local claim = tonumber(ARGV[6])
local ttl = tonumber(ARGV[7])
local window = tonumber(ARGV[8])
local commitment = ARGV[9]

-- Room state: the hash KEYS[1] has cm (seed commitment) and op (opening),
-- fixed by the first call, and v, these numbers packed:
--   lt latest now seen; tl the limiter's last update (the last call at or
--   after the opening); tk tokens; n arrivals; e E (-1 until fixed);
--   s serving counter; ad admissions; rq returners' sequence; and the drain
--   measurement: bs start of the current busy spell (-1: nobody waiting),
--   mb/mc busy ms and admissions of the current window before bs, pb/pc
--   those of the previous window.
local SFMT = '<ddddddddddddd'

-- load reads the room state; it returns nil and an error reply when the
-- caller's opening or seed differ from the ones the room was created with.
local function load()
  local v = redis.call('HMGET', KEYS[1], 'cm', 'op', 'v')
  local S = {}
  if not v[1] then
    S.fresh = true
    S.lt, S.tl, S.tk, S.n, S.e, S.s, S.ad, S.rq, S.bs, S.mb, S.mc, S.pb, S.pc =
      now, now, burst, 0, -1, 0, 0, 0, -1, 0, 0, 0, 0
  elseif v[1] ~= commitment or tonumber(v[2]) ~= opening then
    return nil, redis.error_reply('GATEHOUSE_MISCONFIGURED room was first called with another opening or seed')
  else
    S.packed = v[3]
    S.lt, S.tl, S.tk, S.n, S.e, S.s, S.ad, S.rq, S.bs, S.mb, S.mc, S.pb, S.pc = struct.unpack(SFMT, v[3])
  end
  -- Time never goes back within a room.
  if now < S.lt then now = S.lt end
  S.lt = now
  return S
end

local function save(S)
  local v = struct.pack(SFMT, S.lt, S.tl, S.tk, S.n, S.e, S.s, S.ad, S.rq, S.bs, S.mb, S.mc, S.pb, S.pc)
  if S.fresh then
    redis.call('HSET', KEYS[1], 'cm', commitment, 'op', ARGV[2], 'v', v)
  elseif v ~= S.packed then
    redis.call('HSET', KEYS[1], 'v', v)
  end
end

-- timeArg is now as the caller wrote it, when it was not clamped: passing
-- a string to redis.call spares formatting a number.
local function timeArg()
  if now == tonumber(ARGV[1]) then return ARGV[1] end
  return now
end

-- prep fixes E at the first call at or after the opening (the limiter
-- starts full) and expires the leases whose deadline is <= now.
local function prep(S)
  if now < opening then return end
  if S.e < 0 then
    S.e = S.n
    S.tk = burst
    S.tl = now
    S.bs = -1
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', timeArg())
end

-- Sizes of the returners and active sets, read once per call and kept up
-- to date by the call's own changes.
local function returnersCount(S)
  if not S.rc then S.rc = redis.call('ZCARD', KEYS[3]) end
  return S.rc
end

local function activeCount(S)
  if not S.ac then S.ac = redis.call('ZCARD', KEYS[2]) end
  return S.ac
end

-- zaddMany adds members with one score, in chunks that unpack can take.
local function zaddMany(key, score, members)
  local i = 1
  while i <= #members do
    local args = {}
    local j = i
    while j <= #members and j < i + 500 do
      args[#args + 1] = score
      args[#args + 1] = members[j]
      j = j + 1
    end
    redis.call('ZADD', key, unpack(args))
    i = j
  end
end

-- advance moves the line at now: admit k = min(whole tokens, cap room,
-- waiting) people, returners first, then places S, S+1, ...
local function advance(S)
  if now < opening then return 0 end
  local elapsed = now - S.tl
  if elapsed < 0 then elapsed = 0 end
  local sec = math.floor(elapsed / 1000)
  local nsec = (elapsed % 1000) * 1000000
  local tokens = S.tk + (sec + nsec / 1e9) * limit
  if tokens > burst then tokens = burst end
  local returners = returnersCount(S)
  local waiting = returners + (S.n - S.s)
  local k = math.min(math.floor(tokens), waiting)
  if k > 0 and cap > 0 then
    k = math.min(k, cap - activeCount(S))
  end
  if k < 0 then k = 0 end
  S.tk = tokens - k
  S.tl = now
  local deadline = now + claim
  local left = k
  if left > 0 and returners > 0 then
    local popped = redis.call('ZPOPMIN', KEYS[3], left)
    local members = {}
    for i = 1, #popped, 2 do members[#members + 1] = popped[i] end
    zaddMany(KEYS[2], deadline, members)
    left = left - #members
    S.rc = returners - #members
  end
  if left > 0 then
    local members = {}
    for p = S.s, S.s + left - 1 do members[#members + 1] = p end
    zaddMany(KEYS[2], deadline, members)
    S.s = S.s + left
  end
  if k > 0 then S.ac = nil end
  S.ad = S.ad + k
  -- Drain: admissions over busy time (someone waiting after the previous
  -- call), in windows of at least the drain window.
  local cur = S.mb
  if S.bs >= 0 then
    cur = S.mb + (now - S.bs)
    S.mc = S.mc + k
  end
  local busy = waiting - k > 0
  if cur >= window then
    S.pb, S.pc, S.mb, S.mc = cur, S.mc, 0, 0
    if busy then S.bs = now else S.bs = -1 end
  elseif S.bs >= 0 and not busy then
    S.mb, S.bs = cur, -1
  elseif S.bs < 0 and busy then
    S.bs = now
  end
  return k
end

local function drain(S)
  if S.pb <= 0 then return 0, 0 end
  local cur = S.mb
  if S.bs >= 0 then cur = S.mb + (now - S.bs) end
  return S.pc + S.mc, S.pb + cur
end

-- figures: opened, N, E (-1), S, active, returners, admitted, drain count, drain ms
local function figures(S)
  local dc, dm = drain(S)
  local opened = 0
  if S.e >= 0 then opened = 1 end
  return {opened, S.n, S.e, S.s, activeCount(S), returnersCount(S), S.ad, dc, dm}
end

-- Reply codes.
local OK, NOTJOINED, NEEDPLACE = 0, 1, 2
-- States.
local WAITING, ADMITTED, EXPIRED, DONE = 0, 1, 2, 3

-- Identity record (the string KEYS[4]), these numbers packed:
--   i arrival index; p place (-1 until known); j joined; c session
--   deadline once claimed (0 before); a latest admission (0: never);
--   d done (0/1); r returns; ja people ahead at join (-1: unknown);
--   jc/jb drain measurement at join.
local RFMT = '<dddddddddd'

local function loadRec()
  local v = redis.call('GET', KEYS[4])
  if not v then return nil end
  local R = {packed = v}
  R.i, R.p, R.j, R.c, R.a, R.d, R.r, R.ja, R.jc, R.jb = struct.unpack(RFMT, v)
  return R
end

local function saveRec(R)
  local v = struct.pack(RFMT, R.i, R.p, R.j, R.c, R.a, R.d, R.r, R.ja, R.jc, R.jb)
  if v ~= R.packed then redis.call('SET', KEYS[4], v) end
end

-- resolvePlace fixes R.p once E is known: the index for a later arrival,
-- or the caller's hint (ARGV[hint], computed in Go by the shuffle, for
-- this index and this E). It returns false when Go must compute it first.
local function resolvePlace(S, R, hint)
  if R.p >= 0 or S.e < 0 then return true end
  if R.i >= S.e then
    R.p = R.i
  elseif tonumber(ARGV[hint + 1]) == R.i and tonumber(ARGV[hint + 2]) == S.e and tonumber(ARGV[hint]) >= 0 then
    R.p = tonumber(ARGV[hint])
  else
    return false
  end
  return true
end

-- reply: code, index, place, E, state, ahead, joined, admitted, deadline,
-- claimed, returning, returns, join ahead, join drain count, join drain ms,
-- then the figures.
local function reply(S, R, state, ahead, claimed, returning)
  local dc, dm = drain(S)
  local opened = 0
  if S.e >= 0 then opened = 1 end
  return {OK, R.i, R.p, S.e, state, ahead, R.j, R.a, R.c, claimed, returning, R.r, R.ja, R.jc, R.jb,
    opened, S.n, S.e, S.s, activeCount(S), returnersCount(S), S.ad, dc, dm}
end
