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
// In the common case a Hold is six Redis calls and a Confirm four.

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
  redis.call('ZADD', K_GX, gcat, 'k' .. key)
  return out
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
        redis.call('HINCRBY', K_SLOTS, 'u:' .. s, -1)
        redis.call('HSET', K_DATA, 'p:' .. p, id .. '|X|' .. s .. '|' .. pp .. '|' .. c .. '|' .. e .. '|' .. f)
        redis.call('ZADD', K_GX, gcat, 'p' .. p)
      end
    end
  end
  if #due > 0 then redis.call('ZREMRANGEBYSCORE', K_HX, '-inf', ARGV[1]) end
  local first = redis.call('ZRANGE', K_HX, 0, 0, 'WITHSCORES')
  if first[2] then
    redis.call('HSET', K_SLOTS, '~hx', first[2])
    return first[2]
  end
  redis.call('HDEL', K_SLOTS, '~hx')
  return false
end

-- gc drops up to 100 traces and idempotency records past their retention.
local function gc()
  local old = redis.call('ZRANGEBYSCORE', K_GX, '-inf', ARGV[1], 'LIMIT', 0, 100)
  for i = 1, #old do
    local m = old[i]
    local kind, name = string.sub(m, 1, 1), string.sub(m, 2)
    if kind == 'p' then
      local rec = redis.call('HGET', K_DATA, 'p:' .. name)
      if rec and string.match(rec, '^[^|]*|X|') then redis.call('HDEL', K_DATA, 'p:' .. name) end
    else
      local v = redis.call('HGET', K_DATA, 'k:' .. name)
      if v and tonumber(string.match(v, '^(%d+)|')) <= now then redis.call('HDEL', K_DATA, 'k:' .. name) end
    end
  end
  if #old > 0 then redis.call('ZREM', K_GX, unpack(old)) end
  local nxt = ARGV[1]
  if #old < 100 then
    local first = redis.call('ZRANGE', K_GX, 0, 0, 'WITHSCORES')
    nxt = first[2] or gcat
  end
  redis.call('HSET', K_SLOTS, '~gx', nxt)
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
local out = recall(redis.call('HGET', K_DATA, 'k:' .. key), fp)
if out then return out end
local b = redis.call('HMGET', K_SLOTS, '~hx', '~gx')
tidy(b[1], b[2])
local fields = {}
for i = 5, #ARGV, 2 do fields[#fields + 1] = 'u:' .. ARGV[i] end
local used = redis.call('HMGET', K_SLOTS, unpack(fields))
for i = 5, #ARGV, 2 do
  if tonumber(ARGV[i + 1]) < tonumber(used[(i - 3) / 2] or 0) then
    return remember(key, fp, '!INUSE|' .. ARGV[i])
  end
end
for i = 5, #ARGV, 2 do
  redis.call('HSET', K_SLOTS, 'c:' .. ARGV[i], ARGV[i + 1])
end
return remember(key, fp, 'OK')
`)

// ARGV: 3 key, 4 fingerprint, 5 slot, 6 person, 7 new hold id, 8 expiry.
var holdScript = redis.NewScript(preludeLua + `
local key, fp, s, p, id, exp = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local d = redis.call('HMGET', K_DATA, 'k:' .. key, 'p:' .. p)
local out = recall(d[1], fp)
if out then return out end
local v = redis.call('HMGET', K_SLOTS, 'c:' .. s, 'u:' .. s, '~hx', '~gx')
local purged, hx = tidy(v[3], v[4])
if purged then
  v[2] = redis.call('HGET', K_SLOTS, 'u:' .. s)
  d[2] = redis.call('HGET', K_DATA, 'p:' .. p)
end
if not v[1] then return remember(key, fp, '!NOSLOT|' .. s) end
if d[2] and live(d[2]) then return remember(key, fp, '!BOOKED') end
if tonumber(v[2] or 0) >= tonumber(v[1]) then return remember(key, fp, '!FULL|' .. s) end
local rec = id .. '|H|' .. s .. '|' .. p .. '|' .. ARGV[1] .. '|' .. exp .. '|0'
redis.call('HINCRBY', K_SLOTS, 'u:' .. s, 1)
redis.call('HSET', K_DATA, 'p:' .. p, rec, 'k:' .. key, gcat .. '|' .. fp .. '|' .. rec)
redis.call('ZADD', K_HX, exp, p)
redis.call('ZADD', K_GX, gcat, 'k' .. key)
if not hx or tonumber(exp) < tonumber(hx) then redis.call('HSET', K_SLOTS, '~hx', exp) end
return rec
`)

// ARGV: 3 key, 4 fingerprint, 5 hold id, 6 person.
var confirmScript = redis.NewScript(preludeLua + `
local key, fp, id, p = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local d = redis.call('HMGET', K_DATA, 'k:' .. key, 'p:' .. p)
local out = recall(d[1], fp)
if out then return out end
local rec = d[2]
if not rec then return remember(key, fp, '!NOTFOUND') end
local rid, st, s, pp, c, e = parse(rec)
if rid ~= id then return remember(key, fp, '!NOTFOUND') end
if st == 'X' or (st == 'H' and tonumber(e) <= now) then return remember(key, fp, '!EXPIRED') end
if st == 'B' then return remember(key, fp, rec) end
rec = id .. '|B|' .. s .. '|' .. p .. '|' .. c .. '|' .. e .. '|' .. ARGV[1]
redis.call('HINCRBY', K_SLOTS, 'b:' .. s, 1)
redis.call('HSET', K_DATA, 'p:' .. p, rec, 'k:' .. key, gcat .. '|' .. fp .. '|' .. rec)
redis.call('ZADD', K_GX, gcat, 'k' .. key)
return rec
`)

// ARGV: 3 key, 4 fingerprint, 5 id, 6 person.
var cancelScript = redis.NewScript(preludeLua + `
local key, fp, id, p = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local d = redis.call('HMGET', K_DATA, 'k:' .. key, 'p:' .. p)
local out = recall(d[1], fp)
if out then return out end
local rec = d[2]
if not rec then return remember(key, fp, '!NOTFOUND') end
local rid, st, s, pp, c, e = parse(rec)
if rid ~= id then return remember(key, fp, '!NOTFOUND') end
if st == 'X' or (st == 'H' and tonumber(e) <= now) then return remember(key, fp, '!EXPIRED') end
redis.call('HINCRBY', K_SLOTS, 'u:' .. s, -1)
if st == 'B' then redis.call('HINCRBY', K_SLOTS, 'b:' .. s, -1) end
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
local v = redis.call('HMGET', K_SLOTS, 'c:' .. to, 'u:' .. to, '~hx', '~gx')
if tidy(v[3], v[4]) then v[2] = redis.call('HGET', K_SLOTS, 'u:' .. to) end
if not v[1] then return remember(key, fp, '!NOSLOT|' .. to) end
if tonumber(v[2] or 0) >= tonumber(v[1]) then return remember(key, fp, '!FULL|' .. to) end
rec = id .. '|B|' .. to .. '|' .. p .. '|' .. c .. '|' .. e .. '|' .. f
redis.call('HINCRBY', K_SLOTS, 'u:' .. s, -1)
redis.call('HINCRBY', K_SLOTS, 'b:' .. s, -1)
redis.call('HINCRBY', K_SLOTS, 'u:' .. to, 1)
redis.call('HINCRBY', K_SLOTS, 'b:' .. to, 1)
redis.call('HSET', K_DATA, 'p:' .. p, rec, 'k:' .. key, gcat .. '|' .. fp .. '|' .. rec)
redis.call('ZADD', K_GX, gcat, 'k' .. key)
return rec
`)

// ARGV: 3 person. Reads only.
var lookupScript = redis.NewScript(preludeLua + `
local rec = redis.call('HGET', K_DATA, 'p:' .. ARGV[3])
if not rec or not live(rec) then return '!NOTFOUND' end
return rec
`)

// allSlotsLua lists every slot as "slot|capacity|booked|held".
const allSlotsLua = `
local function allslots()
  local flat = redis.call('HGETALL', K_SLOTS)
  local cap, used, booked = {}, {}, {}
  for i = 1, #flat, 2 do
    local f, v = flat[i], flat[i + 1]
    local kind, s = string.sub(f, 1, 2), string.sub(f, 3)
    if kind == 'c:' then cap[s] = v elseif kind == 'u:' then used[s] = v elseif kind == 'b:' then booked[s] = v end
  end
  local res = {}
  for s, c in pairs(cap) do
    local u, b = tonumber(used[s] or 0), tonumber(booked[s] or 0)
    res[#res + 1] = s .. '|' .. c .. '|' .. b .. '|' .. (u - b)
  end
  return res
end
`

// ARGV: 3.. slots (none: every slot). Returns "slot|capacity|booked|held"
// per slot, or {"!NOSLOT|slot"}.
var availabilityScript = redis.NewScript(preludeLua + allSlotsLua + `
local fields = {'~hx', '~gx'}
for i = 3, #ARGV do
  local s = ARGV[i]
  fields[#fields + 1] = 'c:' .. s
  fields[#fields + 1] = 'u:' .. s
  fields[#fields + 1] = 'b:' .. s
end
local v = redis.call('HMGET', K_SLOTS, unpack(fields))
if tidy(v[1], v[2]) and #ARGV > 2 then v = redis.call('HMGET', K_SLOTS, unpack(fields)) end
if #ARGV == 2 then return allslots() end
local res = {}
for i = 3, #ARGV do
  local j = 3 * (i - 3) + 3
  if not v[j] then return {'!NOSLOT|' .. ARGV[i]} end
  local u, b = tonumber(v[j + 1] or 0), tonumber(v[j + 2] or 0)
  res[#res + 1] = ARGV[i] .. '|' .. v[j] .. '|' .. b .. '|' .. (u - b)
end
return res
`)

// Returns {slots as in availability, flat list of data fields and values}.
var snapshotScript = redis.NewScript(preludeLua + allSlotsLua + `
local b = redis.call('HMGET', K_SLOTS, '~hx', '~gx')
tidy(b[1], b[2])
return {allslots(), redis.call('HGETALL', K_DATA)}
`)
