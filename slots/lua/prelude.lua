-- Shared prelude of every slots script; each script is this file followed
-- by its own body (and slotlines.lua for availability and snapshot).
-- See scripts.go for the layout and the rules every script keeps.
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
