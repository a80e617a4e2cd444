-- Shared prelude of every slots script; each script is this file followed
-- by its own body (and tidy.lua, slotlines.lua where it needs them). See
-- scripts.go for the layout and the rules every script keeps.
--
-- KEYS: 1 slots (set), 2 data (hash), 3 hx (zset), 4 gx (list).
-- ARGV[1] now, Unix ms; ARGV[2] gcat: now + retention, 15 digits.
--
-- A person's record (field "p:"..person) is
--   state (1 byte: H hold, B booking, X expired hold) .. expires (15 digits)
--   .. "|" .. id .. "|" .. slot .. "|" .. created .. "|" .. confirmed
-- so the state, the expiry and the id sit at fixed offsets (1, 2-16, 18)
-- and a script reads them without parsing the whole record.
-- An idempotency record (field "k:"..key) is
--   gcat (15 digits) .. fingerprint (24 characters) .. outcome
-- where the outcome is a record or a refusal "!CODE" or "!CODE|slot".
-- A refusal's record is queued for garbage collection in K_GX. A success's
-- is written by the same HSET as the person's record and listed, as
-- gcat .. key .. ",", in the person's field "q:"..person: it goes with the
-- record (its trace collected, the booking cancelled, the trace replaced
-- by a new hold), which lives at least as long. The hot paths thus make
-- no call for garbage collection.
local now = tonumber(ARGV[1])
local gcat = ARGV[2]
local K_SLOTS, K_DATA, K_HX, K_GX = KEYS[1], KEYS[2], KEYS[3], KEYS[4]

-- recall returns the outcome recorded in v (an idempotency record, or
-- false) for a request with fingerprint fp: that outcome, '!CONFLICT' if it
-- was for another request, or nil if there is none or it has expired.
local function recall(v, fp)
  if not v or tonumber(string.sub(v, 1, 15)) <= now then return nil end
  if string.sub(v, 16, 39) ~= fp then return '!CONFLICT' end
  return string.sub(v, 40)
end

-- entries returns the K_GX entries of the idempotency records a person's
-- "q:" field q (a string or false) lists, each at its own time.
local function entries(q)
  local e = {}
  if q then
    for at, key in string.gmatch(q, '(%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d)([^,]*),') do
      e[#e + 1] = at .. 'k' .. key
    end
  end
  return e
end

-- listed returns the person's "q:" field q with key's record added; when
-- q has grown long (a booking moved many times), its older records are
-- queued in K_GX instead.
local function listed(q, key)
  if not q then return gcat .. key .. ',' end
  if #q > 400 then
    redis.call('RPUSH', K_GX, unpack(entries(q)))
    return gcat .. key .. ','
  end
  return q .. gcat .. key .. ','
end

-- gone returns the answer about a hold that expired at e (its record an
-- expired hold or its trace): expired while its trace is kept, for the
-- retention (gcat - now) from e; then not found, as if the trace, which
-- garbage collection drops a little later, had already gone.
local function gone(e)
  if e + tonumber(gcat) - now <= now then return '!NOTFOUND' end
  return '!EXPIRED'
end

-- remember records out as key's outcome until gcat, queues the record for
-- garbage collection, and returns out.
local function remember(key, fp, out)
  redis.call('HSET', K_DATA, 'k:' .. key, gcat .. fp .. out)
  redis.call('RPUSH', K_GX, gcat .. 'k' .. key)
  return out
end
