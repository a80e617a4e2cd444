-- pad writes a whole number of milliseconds as 15 digits.
local function pad(ms)
  return string.format('%015d', ms)
end

-- tidy expires every hold due at now and drops up to 100 traces and
-- idempotency records past their retention, if hx and gx (the values of
-- "~hx", a lower bound of every pending hold expiry, and "~gx", the same
-- for garbage, 15 digits) say something may be due. It returns whether
-- holds were expired (counts read before must then be read again) and the
-- new ~hx. Scripts call it only when a bound is due, so the common case
-- pays one comparison of each.
local function tidy(hx, gx)
  local purged = false
  if hx and hx <= now then
    -- Every hold due at now, all of them: counts must be exact. Each
    -- leaves a trace (state X) until a retention after it expired, so
    -- that a late Confirm is told the hold expired. hx holds one entry per
    -- person (ZADD replaces it); entries of holds since confirmed or
    -- cancelled are skipped.
    purged = true
    local keep = tonumber(gcat) - tonumber(now)
    local due = redis.call('ZRANGEBYSCORE', K_HX, '-inf', now)
    for i = 1, #due do
      local pf = due[i]
      local rec = redis.call('HGET', K_DATA, pf)
      if rec and string.byte(rec) == 72 and string.sub(rec, 2, 16) <= now then
        local j = string.find(rec, '|', 18, true)
        local s = string.sub(rec, j + 1, string.find(rec, '|', j + 1, true) - 1)
        redis.call('HINCRBY', K_DATA, 'u:' .. s, -1)
        redis.call('HINCRBY', K_DATA, 'h:' .. s, -1)
        redis.call('HSET', K_DATA, pf, 'X' .. string.sub(rec, 2))
        redis.call('RPUSH', K_GX, pad(tonumber(string.sub(rec, 2, 16)) + keep) .. pf .. '|' .. string.sub(rec, 18, j - 1))
      end
    end
    if #due > 0 then redis.call('ZREMRANGEBYSCORE', K_HX, '-inf', now) end
    local first = redis.call('ZRANGE', K_HX, 0, 0, 'WITHSCORES')
    if first[2] then
      hx = pad(tonumber(first[2]))
      redis.call('HSET', K_DATA, '~hx', hx)
    else
      hx = false
      redis.call('HDEL', K_DATA, '~hx')
    end
  end
  if not gx or gx <= now then
    -- K_GX lists what may go, in the order it was made, each entry
    -- "when" (15 digits; the list is in time order up to the skew between
    -- callers' clocks and the late queuing of listed records, which only
    -- delays a drop) .. the field: "p:"..person.."|"..hold id for the
    -- trace of that hold, "k:"..key for an idempotency record.
    local head = redis.call('LRANGE', K_GX, 0, 99)
    local n = 0
    for i = 1, #head do
      local e = head[i]
      if string.sub(e, 1, 15) > now then break end
      n = i
      if string.byte(e, 16) == 112 then
        -- Drop the trace only if it is still this hold's: the person may
        -- have held again since, and that hold expired too.
        local j = string.find(e, '|', 17, true)
        local pf, id = string.sub(e, 16, j - 1), string.sub(e, j + 1)
        local qf = 'q' .. string.sub(pf, 2)
        local d = redis.call('HMGET', K_DATA, pf, qf)
        local rec = d[1]
        if rec and string.byte(rec) == 88 and mine(rec, id) then
          -- The idempotency records the trace lists all date from before
          -- it expired, so their time has come too; one that has been
          -- reused since (its time is later) stays.
          local del, ks = {pf, qf}, {}
          for _, ke in ipairs(entries(d[2])) do ks[#ks + 1] = string.sub(ke, 16) end
          if #ks > 0 then
            local v = redis.call('HMGET', K_DATA, unpack(ks))
            for i = 1, #ks do
              if v[i] and string.sub(v[i], 1, 15) <= now then del[#del + 1] = ks[i] end
            end
          end
          redis.call('HDEL', K_DATA, unpack(del))
        end
      else
        local kf = string.sub(e, 16)
        local v = redis.call('HGET', K_DATA, kf)
        if v and string.sub(v, 1, 15) <= now then redis.call('HDEL', K_DATA, kf) end
      end
    end
    if n > 0 then redis.call('LTRIM', K_GX, n, -1) end
    local nxt = now
    if n < 100 then nxt = head[n + 1] and string.sub(head[n + 1], 1, 15) or gcat end
    redis.call('HSET', K_DATA, '~gx', nxt)
  end
  return purged, hx
end
