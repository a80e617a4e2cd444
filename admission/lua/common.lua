-- Shared prelude of the waiting room's scripts. Each script is this file
-- followed by its own body; go-redis may run a script twice for one call
-- (it retries after a timeout), so every body is idempotent at a given now.
--
-- KEYS[1] room state (hash)      KEYS[2] active leases (zset: place -> deadline ms)
-- KEYS[3] returners (zset: place -> return sequence)
-- KEYS[4] identity record (hash), for visit and done
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
-- memory store and this script take the same decisions. Floats are passed
-- to redis.call as numbers (Redis writes them with 17 significant digits),
-- never through tostring (14 digits).
local now = tonumber(ARGV[1])
local opening = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local burst = tonumber(ARGV[4])
local cap = tonumber(ARGV[5])
local claim = tonumber(ARGV[6])
local ttl = tonumber(ARGV[7])
local window = tonumber(ARGV[8])
local commitment = ARGV[9]

local FIELDS = {'cm', 'op', 'lt', 'n', 'e', 's', 'tk', 'tl', 'ad', 'rq', 'lc', 'bz', 'mb', 'mc', 'pb', 'pc'}

-- load reads the room state; it returns nil and an error reply when the
-- caller's opening or seed differ from the ones the room was created with.
local function load()
  local v = redis.call('HMGET', KEYS[1], unpack(FIELDS))
  local S = {}
  if not v[1] then
    S.cm = commitment
    S.op = opening
  else
    S.cm = v[1]
    S.op = tonumber(v[2])
    if S.cm ~= commitment or S.op ~= opening then
      return nil, redis.error_reply('GATEHOUSE_MISCONFIGURED room was first called with another opening or seed')
    end
  end
  S.lt = tonumber(v[3]) or now
  S.n = tonumber(v[4]) or 0
  S.e = tonumber(v[5]) -- nil until fixed
  S.s = tonumber(v[6]) or 0
  S.tk = tonumber(v[7]) or burst
  S.tl = tonumber(v[8]) or now
  S.ad = tonumber(v[9]) or 0
  S.rq = tonumber(v[10]) or 0
  S.lc = tonumber(v[11]) or now
  S.bz = tonumber(v[12]) or 0
  S.mb = tonumber(v[13]) or 0
  S.mc = tonumber(v[14]) or 0
  S.pb = tonumber(v[15]) or 0
  S.pc = tonumber(v[16]) or 0
  -- Time never goes back within a room.
  if now < S.lt then now = S.lt end
  S.lt = now
  return S
end

local function save(S)
  local args = {'cm', S.cm, 'op', S.op, 'lt', S.lt, 'n', S.n, 's', S.s, 'tk', S.tk, 'tl', S.tl,
    'ad', S.ad, 'rq', S.rq, 'lc', S.lc, 'bz', S.bz, 'mb', S.mb, 'mc', S.mc, 'pb', S.pb, 'pc', S.pc}
  if S.e then
    args[#args + 1] = 'e'
    args[#args + 1] = S.e
  end
  redis.call('HSET', KEYS[1], unpack(args))
end

-- prep fixes E at the first call at or after the opening (the limiter
-- starts full) and expires the leases whose deadline is <= now.
local function prep(S)
  if now < opening then return end
  if not S.e then
    S.e = S.n
    S.tk = burst
    S.tl = now
    S.lc = now
    S.bz = 0
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
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
  local returners = redis.call('ZCARD', KEYS[3])
  local waiting = returners + (S.n - S.s)
  local k = math.min(math.floor(tokens), waiting)
  if cap > 0 then
    k = math.min(k, cap - redis.call('ZCARD', KEYS[2]))
  end
  if k < 0 then k = 0 end
  S.tk = tokens - k
  S.tl = now
  if S.bz == 1 then
    S.mb = S.mb + (now - S.lc)
    S.mc = S.mc + k
  end
  local deadline = now + claim
  local left = k
  if left > 0 and returners > 0 then
    local popped = redis.call('ZPOPMIN', KEYS[3], left)
    local members = {}
    for i = 1, #popped, 2 do members[#members + 1] = popped[i] end
    zaddMany(KEYS[2], deadline, members)
    left = left - #members
  end
  if left > 0 then
    local members = {}
    for p = S.s, S.s + left - 1 do members[#members + 1] = p end
    zaddMany(KEYS[2], deadline, members)
    S.s = S.s + left
  end
  S.ad = S.ad + k
  S.lc = now
  if waiting - k > 0 then S.bz = 1 else S.bz = 0 end
  if S.mb >= window then
    S.pb, S.pc, S.mb, S.mc = S.mb, S.mc, 0, 0
  end
  return k
end

local function drain(S)
  if S.pb <= 0 then return 0, 0 end
  return S.pc + S.mc, S.pb + S.mb
end

-- figures: opened, N, E (-1), S, active, returners, admitted, drain count, drain ms
local function figures(S)
  local dc, dm = drain(S)
  local opened = 0
  local e = -1
  if S.e then opened = 1; e = S.e end
  return {opened, S.n, e, S.s, redis.call('ZCARD', KEYS[2]), redis.call('ZCARD', KEYS[3]), S.ad, dc, dm}
end

-- Reply codes.
local OK, NOTJOINED, NEEDPLACE = 0, 1, 2
-- States.
local WAITING, ADMITTED, EXPIRED, DONE = 0, 1, 2, 3

-- resolvePlace returns the place of the record R (index idx) once E is
-- fixed: kept in R, the index for a later arrival, or the caller's hint
-- (ARGV[hint], computed in Go by the shuffle, for this index and this E).
-- It returns nil when Go must compute it first.
local function resolvePlace(S, R, idx, hint)
  local p = tonumber(R[2])
  if p or not S.e then return p end
  if idx >= S.e then
    p = idx
  elseif tonumber(ARGV[hint + 1]) == idx and tonumber(ARGV[hint + 2]) == S.e and tonumber(ARGV[hint]) >= 0 then
    p = tonumber(ARGV[hint])
  else
    return nil
  end
  redis.call('HSET', KEYS[4], 'p', p)
  return p
end

-- Record fields: i index, p place, j joined ms, c session deadline (claim),
-- a admitted ms, d done, r returns, ja ahead at join (-1), jc/jb drain at join.
local RFIELDS = {'i', 'p', 'j', 'c', 'a', 'd', 'r', 'ja', 'jc', 'jb'}

-- reply: code, index, place, E, state, ahead, joined, admitted, deadline,
-- claimed, returning, returns, join ahead, join drain count, join drain ms,
-- then the figures.
local function reply(S, idx, p, R, state, ahead, claimed, returning)
  local out = {OK, idx, p or -1, S.e or -1, state, ahead,
    tonumber(R[3]) or 0, tonumber(R[5]) or 0, tonumber(R[4]) or 0,
    claimed, returning, tonumber(R[7]) or 0,
    tonumber(R[8]) or -1, tonumber(R[9]) or 0, tonumber(R[10]) or 0}
  for _, v in ipairs(figures(S)) do out[#out + 1] = v end
  return out
end
