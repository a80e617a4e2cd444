package slots

import "github.com/redis/go-redis/v9"

// The Redis scripts. Every script receives the six keys of one campaign
// (campaignKeys: slots, recs, people, hx, gx, idem) and, as ARGV[1] and
// ARGV[2], now and now+retention in Unix milliseconds, computed by the
// caller from its own clock: no script reads Redis's TIME. Every script
// first expires the holds due at now (purge), so the counts it reads are
// exact. Slots, persons and idempotency keys arrive base64url-encoded and are
// used only as hash fields, members and record parts, never in key names.
//
// Mutating scripts are idempotent by their request's key: go-redis may run a
// script twice for one call (it retries after a timeout or EOF), and the
// second run finds the first one's record and returns its outcome.

// preludeLua is shared by every script.
const preludeLua = `
local now = tonumber(ARGV[1])
local gcat = ARGV[2]
local retention = tonumber(gcat) - now
local K_SLOTS, K_RECS, K_PEOPLE, K_HX, K_GX, K_IDEM = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]

-- parse splits a record "S|slot|person|created|expires|confirmed".
local function parse(rec)
  return string.match(rec, '^(%u)|([^|]*)|([^|]*)|(%d+)|(%d+)|(%d+)$')
end

-- purge expires every hold due at now (all of them: the counts must be
-- exact), keeping a trace of each until its expiry + retention, then drops up to 100 traces and idempotency records past their
-- retention (a bounded amount of garbage collection per call).
local function purge()
  local due = redis.call('ZRANGEBYSCORE', K_HX, '-inf', ARGV[1])
  if #due > 0 then
    for i = 1, #due do
      local id = due[i]
      local rec = redis.call('HGET', K_RECS, id)
      if rec and string.byte(rec, 1) == 72 then -- 'H'
        local st, s, p = parse(rec)
        redis.call('HINCRBY', K_SLOTS, 'h:' .. s, -1)
        if redis.call('HGET', K_PEOPLE, p) == id then
          redis.call('HDEL', K_PEOPLE, p)
        end
        redis.call('HSET', K_RECS, id, 'X' .. string.sub(rec, 2))
        redis.call('ZADD', K_GX, tonumber(string.match(rec, '|(%d+)|%d+$')) + retention, 'r' .. id)
      end
    end
    redis.call('ZREMRANGEBYSCORE', K_HX, '-inf', ARGV[1])
  end
  local old = redis.call('ZRANGEBYSCORE', K_GX, '-inf', ARGV[1], 'LIMIT', 0, 100)
  for i = 1, #old do
    local m = old[i]
    local name = string.sub(m, 2)
    if string.byte(m, 1) == 114 then -- 'r': trace of an expired hold
      local rec = redis.call('HGET', K_RECS, name)
      if rec and string.byte(rec, 1) == 88 then -- 'X'
        redis.call('HDEL', K_RECS, name)
      end
    else -- 'i': idempotency record
      local v = redis.call('HGET', K_IDEM, name)
      if v and tonumber(string.match(v, '^(%d+)|')) <= now then
        redis.call('HDEL', K_IDEM, name)
      end
    end
    redis.call('ZREM', K_GX, m)
  end
end

-- recall returns the recorded outcome for key, '!CONFLICT' if key was used
-- for a different request, or nil if key is unused (or its record expired).
local function recall(key, fp)
  local v = redis.call('HGET', K_IDEM, key)
  if not v then return nil end
  local exp, f, out = string.match(v, '^(%d+)|([^|]*)|(.*)$')
  if tonumber(exp) <= now then return nil end
  if f ~= fp then return '!CONFLICT' end
  return out
end

-- remember records out as key's outcome until now+retention and returns it.
local function remember(key, fp, out)
  redis.call('HSET', K_IDEM, key, gcat .. '|' .. fp .. '|' .. out)
  redis.call('ZADD', K_GX, gcat, 'i' .. key)
  return out
end

-- room reports whether slot s exists ('nil' if not) and has a free place.
local function room(s)
  local v = redis.call('HMGET', K_SLOTS, 'c:' .. s, 'b:' .. s, 'h:' .. s)
  if not v[1] then return nil end
  return tonumber(v[2] or 0) + tonumber(v[3] or 0) < tonumber(v[1])
end
`

// ARGV: 3 key, 4 fingerprint, 5.. pairs of slot, capacity.
var defineScript = redis.NewScript(preludeLua + `
purge()
local key, fp = ARGV[3], ARGV[4]
local out = recall(key, fp)
if out then return out end
for i = 5, #ARGV, 2 do
  local s = ARGV[i]
  local v = redis.call('HMGET', K_SLOTS, 'b:' .. s, 'h:' .. s)
  if tonumber(ARGV[i + 1]) < tonumber(v[1] or 0) + tonumber(v[2] or 0) then
    return remember(key, fp, '!INUSE|' .. s)
  end
end
for i = 5, #ARGV, 2 do
  redis.call('HSET', K_SLOTS, 'c:' .. ARGV[i], ARGV[i + 1])
end
return remember(key, fp, 'OK')
`)

// ARGV: 3 key, 4 fingerprint, 5 slot, 6 person, 7 new hold id, 8 expiry.
var holdScript = redis.NewScript(preludeLua + `
purge()
local key, fp = ARGV[3], ARGV[4]
local out = recall(key, fp)
if out then return out end
local s, p, id = ARGV[5], ARGV[6], ARGV[7]
local free = room(s)
if free == nil then return remember(key, fp, '!NOSLOT|' .. s) end
if redis.call('HEXISTS', K_PEOPLE, p) == 1 then return remember(key, fp, '!BOOKED') end
if not free then return remember(key, fp, '!FULL|' .. s) end
local rec = 'H|' .. s .. '|' .. p .. '|' .. ARGV[1] .. '|' .. ARGV[8] .. '|0'
redis.call('HINCRBY', K_SLOTS, 'h:' .. s, 1)
redis.call('HSET', K_RECS, id, rec)
redis.call('HSET', K_PEOPLE, p, id)
redis.call('ZADD', K_HX, ARGV[8], id)
return remember(key, fp, id .. '|' .. rec)
`)

// ARGV: 3 key, 4 fingerprint, 5 hold id, 6 person.
var confirmScript = redis.NewScript(preludeLua + `
purge()
local key, fp = ARGV[3], ARGV[4]
local out = recall(key, fp)
if out then return out end
local id = ARGV[5]
local rec = redis.call('HGET', K_RECS, id)
if not rec then return remember(key, fp, '!NOTFOUND') end
local st, s, p, c, e = parse(rec)
if p ~= ARGV[6] then return remember(key, fp, '!NOTFOUND') end
if st == 'X' then return remember(key, fp, '!EXPIRED') end
if st == 'H' then
  rec = 'B|' .. s .. '|' .. p .. '|' .. c .. '|' .. e .. '|' .. ARGV[1]
  redis.call('HINCRBY', K_SLOTS, 'h:' .. s, -1)
  redis.call('HINCRBY', K_SLOTS, 'b:' .. s, 1)
  redis.call('HSET', K_RECS, id, rec)
  redis.call('ZREM', K_HX, id)
end
return remember(key, fp, id .. '|' .. rec)
`)

// ARGV: 3 key, 4 fingerprint, 5 id, 6 person.
var cancelScript = redis.NewScript(preludeLua + `
purge()
local key, fp = ARGV[3], ARGV[4]
local out = recall(key, fp)
if out then return out end
local id = ARGV[5]
local rec = redis.call('HGET', K_RECS, id)
if not rec then return remember(key, fp, '!NOTFOUND') end
local st, s, p = parse(rec)
if p ~= ARGV[6] then return remember(key, fp, '!NOTFOUND') end
if st == 'X' then return remember(key, fp, '!EXPIRED') end
if st == 'H' then
  redis.call('HINCRBY', K_SLOTS, 'h:' .. s, -1)
  redis.call('ZREM', K_HX, id)
else
  redis.call('HINCRBY', K_SLOTS, 'b:' .. s, -1)
end
redis.call('HDEL', K_RECS, id)
if redis.call('HGET', K_PEOPLE, p) == id then
  redis.call('HDEL', K_PEOPLE, p)
end
return remember(key, fp, id .. '|' .. rec)
`)

// ARGV: 3 key, 4 fingerprint, 5 booking id, 6 person, 7 target slot.
var moveScript = redis.NewScript(preludeLua + `
purge()
local key, fp = ARGV[3], ARGV[4]
local out = recall(key, fp)
if out then return out end
local id, to = ARGV[5], ARGV[7]
local rec = redis.call('HGET', K_RECS, id)
if not rec then return remember(key, fp, '!NOTBOOKING') end
local st, s, p, c, e, f = parse(rec)
if p ~= ARGV[6] or st ~= 'B' then return remember(key, fp, '!NOTBOOKING') end
if s == to then return remember(key, fp, id .. '|' .. rec) end
local free = room(to)
if free == nil then return remember(key, fp, '!NOSLOT|' .. to) end
if not free then return remember(key, fp, '!FULL|' .. to) end
rec = 'B|' .. to .. '|' .. p .. '|' .. c .. '|' .. e .. '|' .. f
redis.call('HINCRBY', K_SLOTS, 'b:' .. s, -1)
redis.call('HINCRBY', K_SLOTS, 'b:' .. to, 1)
redis.call('HSET', K_RECS, id, rec)
return remember(key, fp, id .. '|' .. rec)
`)

// ARGV: 3 person.
var lookupScript = redis.NewScript(preludeLua + `
purge()
local id = redis.call('HGET', K_PEOPLE, ARGV[3])
if not id then return '!NOTFOUND' end
local rec = redis.call('HGET', K_RECS, id)
if not rec then return '!NOTFOUND' end
return id .. '|' .. rec
`)

// allSlotsLua lists every slot as "slot|capacity|booked|held".
const allSlotsLua = `
local function allslots()
  local flat = redis.call('HGETALL', K_SLOTS)
  local cap, bk, hd = {}, {}, {}
  for i = 1, #flat, 2 do
    local f, v = flat[i], flat[i + 1]
    local kind, s = string.sub(f, 1, 1), string.sub(f, 3)
    if kind == 'c' then cap[s] = v elseif kind == 'b' then bk[s] = v else hd[s] = v end
  end
  local res = {}
  for s, c in pairs(cap) do
    res[#res + 1] = s .. '|' .. c .. '|' .. (bk[s] or '0') .. '|' .. (hd[s] or '0')
  end
  return res
end
`

// ARGV: 3.. slots (none: every slot). Returns "slot|capacity|booked|held"
// per slot, or {"!NOSLOT|slot"}.
var availabilityScript = redis.NewScript(preludeLua + allSlotsLua + `
purge()
if #ARGV == 2 then return allslots() end
local res = {}
for i = 3, #ARGV do
  local s = ARGV[i]
  local v = redis.call('HMGET', K_SLOTS, 'c:' .. s, 'b:' .. s, 'h:' .. s)
  if not v[1] then return {'!NOSLOT|' .. s} end
  res[#res + 1] = s .. '|' .. v[1] .. '|' .. (v[2] or '0') .. '|' .. (v[3] or '0')
end
return res
`)

// Returns {slots as in availability, flat list of id, record}.
var snapshotScript = redis.NewScript(preludeLua + allSlotsLua + `
purge()
return {allslots(), redis.call('HGETALL', K_RECS)}
`)
