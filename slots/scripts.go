package slots

import "github.com/redis/go-redis/v9"

// The Redis scripts. Every script receives the four keys of one campaign
// (campaignKeys: slots, data, hx, gx) and, as ARGV[1] and ARGV[2], now and
// now+retention in Unix milliseconds, computed by the caller from its own
// clock: no script reads Redis's TIME. Slots, persons and idempotency keys
// arrive base64url-encoded and are used only as hash fields, members and
// record parts, never in key names.
//
// Mutating scripts are idempotent by their request's key: go-redis may run a
// script twice for one call (it retries after a timeout or EOF), and the
// second run finds the first one's record and returns its outcome.
//
// Expiry is lazy and exact. A record says when its hold expires, so a
// script reading one person's record (Confirm, Cancel, Lookup) judges it
// against now itself. The per-slot count "u:"..slot (bookings + live holds)
// is exact once every hold due at now has been expired: scripts that read
// counts (Hold, Move, DefineSlots, Availability, Snapshot) first compare now
// with "~hx", a lower bound of every pending expiry, and run purgeHolds only
// when something may be due. Garbage collection of traces and idempotency
// records works the same way with "~gx", at most 100 records per call.
// A campaign's counts and bounds live in the same hash as its records, so a
// Hold reads everything it needs in one HMGET and writes it back in one
// HSET: in the common case a Hold is four Redis calls, a Confirm four, a
// Lookup one.

// preludeLua is shared by every script.
const preludeLua = `
local now = tonumber(ARGV[1])
local gcat = ARGV[2]
local K_SLOTS, K_DATA, K_HX, K_GX = KEYS[1], KEYS[2], KEYS[3], KEYS[4]

-- parse splits a record "id|S|slot|person|created|expires|confirmed".
local function parse(rec)
  return string.match(rec, '^([^|]*)|(%u)|([^|]*)|([^|]*)|(%d+)|(%d+)|(%d+)$')
end

-- live reports whether a record is a booking or a hold live at now.
local function live(rec)
  local _, st, _, _, _, e = parse(rec)
  return st == 'B' or (st == 'H' and tonumber(e) > now)
end

-- recall returns the recorded outcome of an idempotency record v (a string
-- or false), '!CONFLICT' if it was for a different request, or nil if there
-- is none or it has expired.
local function recall(v, fp)
  if not v then return nil end
  local exp, f, out = string.match(v, '^(%d+)|([^|]*)|(.*)$')
  if tonumber(exp) <= now then return nil end
  if f ~= fp then return '!CONFLICT' end
  return out
end

-- remember records out as key's outcome until now+retention and returns it.
local function remember(key, fp, out)
  redis.call('HSET', K_DATA, 'k:' .. key, gcat .. '|' .. fp .. '|' .. out)
  redis.call('RPUSH', K_GX, gcat .. '|k' .. key)
  return out
end

-- owned reads the outcome recorded for key and person p's record, for a
-- call on p's hold or booking id (Confirm, Cancel). It returns the answer
-- when the call is already decided (the recorded outcome, or a refusal it
-- now remembers: no such record, another id, expired), else nil and the
-- record with its state, slot, created and expires fields.
local function owned(key, fp, id, p)
  local d = redis.call('HMGET', K_DATA, 'k:' .. key, 'p:' .. p)
  local out = recall(d[1], fp)
  if out then return out end
  local rec = d[2]
  if not rec then return remember(key, fp, '!NOTFOUND') end
  local rid, st, s, _, c, e = parse(rec)
  if rid ~= id then return remember(key, fp, '!NOTFOUND') end
  if st == 'X' or (st == 'H' and tonumber(e) <= now) then return remember(key, fp, '!EXPIRED') end
  return nil, rec, st, s, c, e
end

-- purgeHolds expires every hold due at now (all of them: counts must be
-- exact), leaving a trace of each for the retention, and returns the new
-- lower bound of pending expiries (false if none).
local function purgeHolds()
  local due = redis.call('ZRANGEBYSCORE', K_HX, '-inf', ARGV[1])
  for i = 1, #due do
    local p = due[i]
    local rec = redis.call('HGET', K_DATA, 'p:' .. p)
    if rec then
      local id, st, s, pp, c, e, f = parse(rec)
      if st == 'H' and tonumber(e) <= now then
        redis.call('HINCRBY', K_DATA, 'u:' .. s, -1)
        redis.call('HSET', K_DATA, 'p:' .. p, id .. '|X|' .. s .. '|' .. pp .. '|' .. c .. '|' .. e .. '|' .. f)
        redis.call('RPUSH', K_GX, gcat .. '|p' .. p .. '|' .. id)
      end
    end
  end
  if #due > 0 then redis.call('ZREMRANGEBYSCORE', K_HX, '-inf', ARGV[1]) end
  local first = redis.call('ZRANGE', K_HX, 0, 0, 'WITHSCORES')
  if first[2] then
    redis.call('HSET', K_DATA, '~hx', first[2])
    return first[2]
  end
  redis.call('HDEL', K_DATA, '~hx')
  return false
end

-- gc drops up to 100 traces and idempotency records past their retention.
-- K_GX lists them in the order they were made, each as "when|kind name"
-- (kind p: name is "person|hold id"; kind k: name is the key);
-- "when" is now+retention of the call that made it, so the list is in time
-- order (up to the skew between callers' clocks, which only delays a drop).
local function gc()
  local head = redis.call('LRANGE', K_GX, 0, 99)
  local n = 0
  for i = 1, #head do
    local at, kind, name = string.match(head[i], '^(%d+)|(.)(.*)$')
    if tonumber(at) > now then break end
    n = i
    if kind == 'p' then
      -- "person|id": drop the trace only if it is still this hold's (the
      -- person may have held again since, and that hold expired too).
      local p, id = string.match(name, '^([^|]*)|(.*)$')
      local rec = redis.call('HGET', K_DATA, 'p:' .. p)
      if rec and string.sub(rec, 1, #id + 3) == id .. '|X|' then redis.call('HDEL', K_DATA, 'p:' .. p) end
    else
      local v = redis.call('HGET', K_DATA, 'k:' .. name)
      if v and tonumber(string.match(v, '^(%d+)|')) <= now then redis.call('HDEL', K_DATA, 'k:' .. name) end
    end
  end
  if n > 0 then redis.call('LTRIM', K_GX, n, -1) end
  local nxt = ARGV[1]
  if n < 100 then
    nxt = head[n + 1] and string.match(head[n + 1], '^(%d+)|') or gcat
  end
  redis.call('HSET', K_DATA, '~gx', nxt)
end

-- tidy runs purgeHolds and gc if their bounds (the values of ~hx and ~gx,
-- strings or false) say something may be due. It reports whether holds were
-- purged (counts read before must then be read again) and the new ~hx.
local function tidy(hx, gx)
  local purged = false
  if hx and tonumber(hx) <= now then
    hx = purgeHolds()
    purged = true
  end
  if not gx or tonumber(gx) <= now then gc() end
  return purged, hx
end
`

// ARGV: 3 key, 4 fingerprint, 5.. pairs of slot, capacity.
var defineScript = redis.NewScript(preludeLua + `
local key, fp = ARGV[3], ARGV[4]
local fields = {'k:' .. key, '~hx', '~gx'}
for i = 5, #ARGV, 2 do fields[#fields + 1] = 'u:' .. ARGV[i] end
local v = redis.call('HMGET', K_DATA, unpack(fields))
local out = recall(v[1], fp)
if out then return out end
if tidy(v[2], v[3]) then v = redis.call('HMGET', K_DATA, unpack(fields)) end
for i = 5, #ARGV, 2 do
  if tonumber(ARGV[i + 1]) < tonumber(v[(i + 1) / 2 + 1] or 0) then
    return remember(key, fp, '!INUSE|' .. ARGV[i])
  end
end
local caps, ids = {}, {}
for i = 5, #ARGV, 2 do
  caps[#caps + 1] = 'c:' .. ARGV[i]
  caps[#caps + 1] = ARGV[i + 1]
  ids[#ids + 1] = ARGV[i]
end
redis.call('HSET', K_DATA, unpack(caps))
redis.call('SADD', K_SLOTS, unpack(ids))
return remember(key, fp, 'OK')
`)

// ARGV: 3 key, 4 fingerprint, 5 slot, 6 person, 7 new hold id, 8 expiry.
var holdScript = redis.NewScript(preludeLua + `
local key, fp, s, p, id, exp = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local v = redis.call('HMGET', K_DATA, 'k:' .. key, 'p:' .. p, 'c:' .. s, 'u:' .. s, '~hx', '~gx')
local out = recall(v[1], fp)
if out then return out end
local purged, hx = tidy(v[5], v[6])
if purged then v = redis.call('HMGET', K_DATA, 'k:' .. key, 'p:' .. p, 'c:' .. s, 'u:' .. s) end
if not v[3] then return remember(key, fp, '!NOSLOT|' .. s) end
if v[2] and live(v[2]) then return remember(key, fp, '!BOOKED') end
local used = tonumber(v[4] or 0)
if used >= tonumber(v[3]) then return remember(key, fp, '!FULL|' .. s) end
local rec = id .. '|H|' .. s .. '|' .. p .. '|' .. ARGV[1] .. '|' .. exp .. '|0'
local idem = gcat .. '|' .. fp .. '|' .. rec
if not hx or tonumber(exp) < tonumber(hx) then
  redis.call('HSET', K_DATA, 'p:' .. p, rec, 'k:' .. key, idem, 'u:' .. s, used + 1, '~hx', exp)
else
  redis.call('HSET', K_DATA, 'p:' .. p, rec, 'k:' .. key, idem, 'u:' .. s, used + 1)
end
redis.call('ZADD', K_HX, exp, p)
redis.call('RPUSH', K_GX, gcat .. '|k' .. key)
return rec
`)

// ARGV: 3 key, 4 fingerprint, 5 hold id, 6 person.
var confirmScript = redis.NewScript(preludeLua + `
local key, fp, id, p = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local out, rec, st, s, c, e = owned(key, fp, id, p)
if out then return out end
if st == 'B' then return remember(key, fp, rec) end
rec = id .. '|B|' .. s .. '|' .. p .. '|' .. c .. '|' .. e .. '|' .. ARGV[1]
redis.call('HINCRBY', K_DATA, 'b:' .. s, 1)
redis.call('HSET', K_DATA, 'p:' .. p, rec, 'k:' .. key, gcat .. '|' .. fp .. '|' .. rec)
redis.call('RPUSH', K_GX, gcat .. '|k' .. key)
return rec
`)

// ARGV: 3 key, 4 fingerprint, 5 id, 6 person.
var cancelScript = redis.NewScript(preludeLua + `
local key, fp, id, p = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local out, rec, st, s, c, e = owned(key, fp, id, p)
if out then return out end
redis.call('HINCRBY', K_DATA, 'u:' .. s, -1)
if st == 'B' then redis.call('HINCRBY', K_DATA, 'b:' .. s, -1) end
redis.call('HDEL', K_DATA, 'p:' .. p)
return remember(key, fp, rec)
`)

// ARGV: 3 key, 4 fingerprint, 5 booking id, 6 person, 7 target slot.
var moveScript = redis.NewScript(preludeLua + `
local key, fp, id, p, to = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local d = redis.call('HMGET', K_DATA, 'k:' .. key, 'p:' .. p)
local out = recall(d[1], fp)
if out then return out end
local rec = d[2]
if not rec then return remember(key, fp, '!NOTBOOKING') end
local rid, st, s, pp, c, e, f = parse(rec)
if rid ~= id or st ~= 'B' then return remember(key, fp, '!NOTBOOKING') end
if s == to then return remember(key, fp, rec) end
local fields = {'c:' .. to, 'u:' .. to, 'b:' .. to, 'u:' .. s, 'b:' .. s, '~hx', '~gx'}
local v = redis.call('HMGET', K_DATA, unpack(fields))
if tidy(v[6], v[7]) then v = redis.call('HMGET', K_DATA, unpack(fields)) end
if not v[1] then return remember(key, fp, '!NOSLOT|' .. to) end
local used = tonumber(v[2] or 0)
if used >= tonumber(v[1]) then return remember(key, fp, '!FULL|' .. to) end
rec = id .. '|B|' .. to .. '|' .. p .. '|' .. c .. '|' .. e .. '|' .. f
redis.call('HSET', K_DATA, 'p:' .. p, rec, 'k:' .. key, gcat .. '|' .. fp .. '|' .. rec,
  'u:' .. to, used + 1, 'b:' .. to, tonumber(v[3] or 0) + 1,
  'u:' .. s, tonumber(v[4]) - 1, 'b:' .. s, tonumber(v[5]) - 1)
redis.call('RPUSH', K_GX, gcat .. '|k' .. key)
return rec
`)

// ARGV: 3 person. Reads only.
var lookupScript = redis.NewScript(preludeLua + `
local rec = redis.call('HGET', K_DATA, 'p:' .. ARGV[3])
if not rec or not live(rec) then return '!NOTFOUND' end
return rec
`)

// slotLinesLua returns "slot|capacity|booked|held" for the slots ids, or
// {"!NOSLOT|slot"} for the first that is not defined. It reads the counts
// in HMGETs of at most 333 slots: Lua's unpack fails beyond about 8,000
// values, and a campaign may have many thousand slots.
const slotLinesLua = `
local function slotlines(ids)
  local res = {}
  local first = 1
  while first <= #ids do
    local last = math.min(#ids, first + 332)
    local fields = {}
    for i = first, last do
      local s = ids[i]
      fields[#fields + 1] = 'c:' .. s
      fields[#fields + 1] = 'u:' .. s
      fields[#fields + 1] = 'b:' .. s
    end
    local v = redis.call('HMGET', K_DATA, unpack(fields))
    for i = first, last do
      local j = 3 * (i - first) + 1
      if not v[j] then return {'!NOSLOT|' .. ids[i]} end
      local u, b = tonumber(v[j + 1] or 0), tonumber(v[j + 2] or 0)
      res[#res + 1] = ids[i] .. '|' .. v[j] .. '|' .. b .. '|' .. (u - b)
    end
    first = last + 1
  end
  return res
end
`

// ARGV: 3.. slots (none: every slot). Returns slotlines.
var availabilityScript = redis.NewScript(preludeLua + slotLinesLua + `
local b = redis.call('HMGET', K_DATA, '~hx', '~gx')
tidy(b[1], b[2])
if #ARGV == 2 then return slotlines(redis.call('SMEMBERS', K_SLOTS)) end
return slotlines({unpack(ARGV, 3)})
`)

// Returns {slotlines of every slot, flat list of data fields and values}.
var snapshotScript = redis.NewScript(preludeLua + slotLinesLua + `
local b = redis.call('HMGET', K_DATA, '~hx', '~gx')
tidy(b[1], b[2])
return {slotlines(redis.call('SMEMBERS', K_SLOTS)), redis.call('HGETALL', K_DATA)}
`)
