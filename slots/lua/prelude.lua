-- Shared prelude of every slots script; each script is this file followed
-- by its own body (and tidy.lua, slotlines.lua where it needs them). See
-- scripts.go for the layout and the rules every script keeps.
--
-- KEYS: 1 data (hash), 2 gx (list), 3 hx (zset), 4 slots (set); a script
-- gets only the first ones it uses.
-- ARGV[1] now and ARGV[2] gcat (now + retention): Unix ms, 15 digits.
--
-- Instants are kept as 15-digit strings and compared as strings: Lua's
-- tonumber costs Redis more than a redis.call's own work on a short hash,
-- so the hot paths convert nothing they only compare.
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
-- gcat .. "k:" .. key .. ",", in the person's field "q:"..person: it goes
-- with the record (its trace collected, the booking cancelled, the trace
-- replaced by a new hold), which lives at least as long. The hot paths thus
-- make no call for garbage collection.
-- The caller passes field names ("k:"..key, "p:"..person, "q:"..person)
-- ready made.
local now, gcat = ARGV[1], ARGV[2]
local K_DATA, K_GX, K_HX, K_SLOTS = KEYS[1], KEYS[2], KEYS[3], KEYS[4]

-- recall returns the outcome recorded in v (an idempotency record) for a
-- request with fingerprint fp: that outcome, '!CONFLICT' if it was for
-- another request, or nil if it has expired.
local function recall(v, fp)
  if string.sub(v, 1, 15) <= now then return nil end
  if string.sub(v, 16, 39) ~= fp then return '!CONFLICT' end
  return string.sub(v, 40)
end

-- remember records out as the outcome of the request with idempotency
-- field kf and fingerprint fp until gcat, queues the record for garbage
-- collection, and returns out.
local function remember(kf, fp, out)
  redis.call('HSET', K_DATA, kf, gcat .. fp .. out)
  redis.call('RPUSH', K_GX, gcat .. kf)
  return out
end
