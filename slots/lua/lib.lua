-- The slots function library: this file, then the per-operation files
-- (slotlines.lua, define.lua, hold.lua, confirm.lua, cancel.lua, move.lua,
-- availability.lua, snapshot.lua, totals.lua, batch.lua), then the registrations scripts.go writes.
-- It is loaded once per server with FUNCTION LOAD and run with FCALL, so
-- every helper below is made once, when the library loads, not per call.
--
-- Every function receives keys = {data (hash), gx (list), hx (zset),
-- slots (set)} (the first ones it uses) and args[1] = now (15-digit Unix
-- ms); the caller passes everything it can build itself ready made: field
-- names ("k:"..key, "p:"..person, slot, "h:"..slot), gf = gcat
-- (now + retention, 15 digits) .. fingerprint (24 characters), and for Hold
-- the new record itself.
--
-- The costs that shape these functions, counted with callgrind on Redis 7.0
-- (instructions per call; a no-op EVALSHA is about 14,500 with its round
-- trip, a no-op FCALL 10,800): each argument about 1,200, a redis.call
-- about 5,000, a field it reads 1,500-2,500, a Lua number passed to Redis
-- 1,400 (Redis formats it with %.17g), a string made in Lua (string.sub, a
-- concatenation) 1,500-2,000. So the hot paths make few calls and few
-- strings, compare instants as strings, and pass counts' increments as
-- strings ('1', '-1').
--
-- Fields of data:
--   "c:"..slot  capacity;  slot (the encoded slot alone)  free places
--   (capacity - bookings - live holds);  "h:"..slot  live holds;
--   "p:"..person  the person's record;  "k:"..key  an idempotency record;
--   "~t"  no hold expires and no record may be dropped before this instant
--   (15 digits);  "~c", "~f", "~h"  the campaign's totals: capacity, free
--   places and live holds summed over its slots, kept by every function
--   that changes a count (so that a waiting room reads the places left in
--   one field read, not one per slot; see totals.lua);  "~L"  the layout
--   mark: absent in this layout's data. A version that stores campaigns in
--   another layout sets it in this layout's data hash before it books a
--   campaign there, and every function of this version then refuses the
--   campaign (SUPERSEDED, MISLAYOUT) rather than book places the other
--   version does not count.
-- A person's record is
--   state (1 byte) .. expires (15 digits) .. confirmed (15 digits, zeros
--   for a hold) .. "|" .. id .. "|h:" .. slot .. "|" .. created .. "#" .. list
-- with state H (hold), B (booking), X (expired hold's trace) or C
-- (cancelled: a trace no call can see), so the state, the instants and the
-- id sit at fixed offsets (1, 2-16, 17-31, 33), and the names of its slot's
-- count fields are substrings: one string.sub each. list names the idempotency
-- records of the record's successes, each "k:"..key .. ",": they go with
-- the record (its trace collected, or replaced by a new hold), which lives
-- at least as long, so no success makes a call for garbage collection. An
-- idempotency record is
--   gcat (15 digits) .. fingerprint (24 characters) .. outcome
-- where the outcome is a record or a refusal "!CODE" or "!CODE|slot"; a
-- refusal's is queued for garbage collection in gx.

-- recall returns the outcome recorded in v (an idempotency record) for a
-- request with gf (gcat .. fingerprint) at now: that outcome, '!CONFLICT'
-- if it was for another request, or nil if it has expired.
-- SUPERSEDED is a writer's outcome when the campaign's data carries the
-- layout mark "~L" (Go: ErrMisconfigured); never remembered: nothing
-- happened. MISLAYOUT is the error the other functions answer then.
local SUPERSEDED = '!SUPERSEDED'
local MISLAYOUT = 'GATEHOUSE_MISCONFIGURED campaign taken over by another layout of gatehouse'

local function recall(v, gf, now)
  if string.sub(v, 1, 15) <= now then return nil end
  if string.sub(v, 16, 39) ~= string.sub(gf, 16) then return '!CONFLICT' end
  return string.sub(v, 40)
end

-- remember records out as the outcome of the request with idempotency
-- field kf and gf until gcat, queues the record for garbage collection,
-- and returns out.
local function remember(keys, kf, gf, out)
  redis.call('HSET', keys[1], kf, gf .. out)
  redis.call('RPUSH', keys[2], string.sub(gf, 1, 15) .. kf)
  return out
end

-- fields returns the idempotency fields rec's list names, and the position
-- of its '#'.
local function fields(rec)
  local h = string.find(rec, '#', 33, true)
  local ks = {}
  for kf in string.gmatch(string.sub(rec, h + 1), '([^,]+),') do ks[#ks + 1] = kf end
  return ks, h
end

-- unlist queues the records rec's list names in gx, as due at gcat (later
-- than their own time, so never dropped early: garbage collection checks
-- each record's own time), and returns rec with an empty list: for a
-- record whose list has grown long (a booking moved many times) or that is
-- about to be replaced.
local function unlist(keys, rec, gcat)
  local ks, h = fields(rec)
  if #ks > 0 then
    for i = 1, #ks do ks[i] = gcat .. ks[i] end
    redis.call('RPUSH', keys[2], unpack(ks))
  end
  return string.sub(rec, 1, h)
end

-- gone returns the answer about a hold that expired at e (15 digits; its
-- record an expired hold or its trace): expired while its trace is kept,
-- for the retention (gcat - now) from e; then not found, as if the trace,
-- which garbage collection drops a little later, had already gone.
local function gone(e, gf, now)
  if tonumber(e) + tonumber(string.sub(gf, 1, 15)) - tonumber(now) <= tonumber(now) then return '!NOTFOUND' end
  return '!EXPIRED'
end

-- pad writes a whole number of milliseconds as 15 digits.
local function pad(ms)
  return string.format('%015d', ms)
end

-- tidy expires every hold due at now and drops up to 100 traces and
-- idempotency records past their retention (gcat - now). Functions call it
-- only when the bound "~t" is due or missing. It sets the new bound and
-- returns whether holds were expired (counts read before must then be read
-- again) and the bound. keys: data, gx, hx.
local function tidy(keys, now, gcat)
  local D, GX, HX = keys[1], keys[2], keys[3]
  -- Every hold due at now, all of them: counts must be exact. Each leaves
  -- a trace (state X) until a retention after it expired, so that a late
  -- Confirm is told the hold expired. hx holds one entry per person (ZADD
  -- replaces it); entries of holds since confirmed or cancelled are
  -- skipped.
  local keep = tonumber(gcat) - tonumber(now)
  local due = redis.call('ZRANGEBYSCORE', HX, '-inf', now)
  local expired = 0
  for i = 1, #due do
    local pf = due[i]
    local rec = redis.call('HGET', D, pf)
    if rec and string.byte(rec) == 72 and string.sub(rec, 2, 16) <= now then
      local j = string.find(rec, '|', 33, true)
      local k = string.find(rec, '|', j + 1, true) - 1
      redis.call('HINCRBY', D, string.sub(rec, j + 3, k), '1')
      redis.call('HINCRBY', D, string.sub(rec, j + 1, k), '-1')
      redis.call('HSET', D, pf, 'X' .. string.sub(rec, 2))
      redis.call('RPUSH', GX, pad(tonumber(string.sub(rec, 2, 16)) + keep) .. pf .. '|' .. string.sub(rec, 33, j - 1))
      expired = expired + 1
    end
  end
  if expired > 0 then
    redis.call('HINCRBY', D, '~f', expired)
    redis.call('HINCRBY', D, '~h', -expired)
  end
  if #due > 0 then redis.call('ZREMRANGEBYSCORE', HX, '-inf', now) end
  -- gx lists what may go, in the order it was queued, each entry "when"
  -- (15 digits; the list is in time order up to the skew between callers'
  -- clocks and the late queuing of listed records, which only delays a
  -- drop) .. the field: "p:"..person.."|"..hold id for the trace of that
  -- hold, "k:"..key for an idempotency record.
  local head = redis.call('LRANGE', GX, 0, 99)
  local n = 0
  local requeue = {}
  for i = 1, #head do
    local e = head[i]
    if string.sub(e, 1, 15) > now then break end
    n = i
    if string.byte(e, 16) == 112 then
      -- Drop the trace only if it is still this hold's: the person may
      -- have held again since, and that hold ended too.
      local j = string.find(e, '|', 17, true)
      local pf, id = string.sub(e, 16, j - 1), string.sub(e, j + 1)
      local rec = redis.call('HGET', D, pf)
      local st = rec and string.byte(rec)
      if (st == 88 or st == 67) and string.find(rec, id, 33, true) == 33 and string.byte(rec, 33 + #id) == 124 then
        -- The idempotency records the trace lists date from before it
        -- ended, so their time has come too, up to clock skew: one whose
        -- time has not come (or that was reused since) is queued again
        -- for its own time.
        local del, ks = {pf}, fields(rec)
        if #ks > 0 then
          local v = redis.call('HMGET', D, unpack(ks))
          for i = 1, #ks do
            if v[i] then
              local at = string.sub(v[i], 1, 15)
              if at <= now then del[#del + 1] = ks[i] else requeue[#requeue + 1] = at .. ks[i] end
            end
          end
        end
        redis.call('HDEL', D, unpack(del))
      end
    else
      local kf = string.sub(e, 16)
      local v = redis.call('HGET', D, kf)
      if v and string.sub(v, 1, 15) <= now then redis.call('HDEL', D, kf) end
    end
  end
  if n > 0 then redis.call('LTRIM', GX, n, -1) end
  if #requeue > 0 then redis.call('RPUSH', GX, unpack(requeue)) end
  -- The new bound: now if more garbage is due, else the earlier of the
  -- next gc entry (or gcat, as no entry queued from now on is earlier, up
  -- to skew) and the first pending expiry.
  local t = now
  if n < 100 then
    t = head[n + 1] and string.sub(head[n + 1], 1, 15) or gcat
    local first = redis.call('ZRANGE', HX, 0, 0, 'WITHSCORES')
    if first[2] then t = math.min(t, first[2]) end
    t = pad(t)
  end
  redis.call('HSET', D, '~t', t)
  return #due > 0, t
end

-- due runs tidy if the bound t (the "~t" field; nil if missing) is due at
-- now, and returns whether holds were expired and the bound.
local function due(keys, t, now, gf)
  if t and t > now then return false, t end
  return tidy(keys, now, string.sub(gf, 1, 15))
end
