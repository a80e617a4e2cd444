-- lib returns the helpers, made on the first call: a closure costs Redis
-- up to a thousand instructions to make, every run of the script, whether
-- it is called or not, so the hot paths make this one only and call it only
-- on rare paths (a retry, a refusal, a due bound, a long list).
local L
local function lib()
  if L then return L end
  L = {}

  -- recall returns the outcome recorded in v (an idempotency record) for a
  -- request with fingerprint fp: that outcome, '!CONFLICT' if it was for
  -- another request, or nil if it has expired.
  function L.recall(v, fp)
    if string.sub(v, 1, 15) <= now then return nil end
    if string.sub(v, 16, 39) ~= fp then return '!CONFLICT' end
    return string.sub(v, 40)
  end

  -- remember records out as the outcome of the request with idempotency
  -- field kf and fingerprint fp until gcat, queues the record for garbage
  -- collection, and returns out.
  function L.remember(kf, fp, out)
    redis.call('HSET', K_DATA, kf, gcat .. fp .. out)
    redis.call('RPUSH', K_GX, gcat .. kf)
    return out
  end

  -- entries returns the idempotency records rec's list names, as K_GX
  -- entries (when .. field), and the position of its '#'.
  function L.entries(rec)
    local h = string.find(rec, '#', 33, true)
    local e = {}
    for at, kf in string.gmatch(string.sub(rec, h + 1), '(%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d)([^,]*),') do
      e[#e + 1] = at .. kf
    end
    return e, h
  end

  -- unlist queues the records rec's list names in K_GX and returns rec
  -- with an empty list: for a record whose list has grown long (a booking
  -- moved many times) or that is about to be replaced.
  function L.unlist(rec)
    local e, h = L.entries(rec)
    if #e > 0 then redis.call('RPUSH', K_GX, unpack(e)) end
    return string.sub(rec, 1, h)
  end

  -- gone returns the answer about a hold that expired at e (15 digits; its
  -- record an expired hold or its trace): expired while its trace is kept,
  -- for the retention (gcat - now) from e; then not found, as if the trace,
  -- which garbage collection drops a little later, had already gone.
  function L.gone(e)
    if tonumber(e) + tonumber(gcat) - tonumber(now) <= tonumber(now) then return '!NOTFOUND' end
    return '!EXPIRED'
  end

  -- pad writes a whole number of milliseconds as 15 digits.
  function L.pad(ms)
    return string.format('%015d', ms)
  end

  -- tidy expires every hold due at now and drops up to 100 traces and
  -- idempotency records past their retention. Scripts call it only when
  -- the bound "~t" (no hold expires and no record may be dropped before
  -- it; 15 digits) is due or missing. It sets the new bound and returns
  -- whether holds were expired (counts read before must then be read
  -- again) and the bound.
  function L.tidy()
    -- Every hold due at now, all of them: counts must be exact. Each
    -- leaves a trace (state X) until a retention after it expired, so
    -- that a late Confirm is told the hold expired. hx holds one entry per
    -- person (ZADD replaces it); entries of holds since confirmed or
    -- cancelled are skipped.
    local keep = tonumber(gcat) - tonumber(now)
    local due = redis.call('ZRANGEBYSCORE', K_HX, '-inf', now)
    for i = 1, #due do
      local pf = due[i]
      local rec = redis.call('HGET', K_DATA, pf)
      if rec and string.byte(rec) == 72 and string.sub(rec, 2, 16) <= now then
        local j = string.find(rec, '|', 33, true)
        local s = string.sub(rec, j + 1, string.find(rec, '|', j + 1, true) - 1)
        redis.call('HINCRBY', K_DATA, 'u:' .. s, -1)
        redis.call('HINCRBY', K_DATA, 'h:' .. s, -1)
        redis.call('HSET', K_DATA, pf, 'X' .. string.sub(rec, 2))
        redis.call('RPUSH', K_GX, L.pad(tonumber(string.sub(rec, 2, 16)) + keep) .. pf .. '|' .. string.sub(rec, 33, j - 1))
      end
    end
    if #due > 0 then redis.call('ZREMRANGEBYSCORE', K_HX, '-inf', now) end
    -- K_GX lists what may go, in the order it was queued, each entry
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
        -- have held again since, and that hold ended too.
        local j = string.find(e, '|', 17, true)
        local pf, id = string.sub(e, 16, j - 1), string.sub(e, j + 1)
        local rec = redis.call('HGET', K_DATA, pf)
        local st = rec and string.byte(rec)
        if (st == 88 or st == 67) and string.find(rec, id, 33, true) == 33 and string.byte(rec, 33 + #id) == 124 then
          -- The idempotency records the trace lists all date from before
          -- it ended, so their time has come too; one reused since (its
          -- time is later) stays.
          local del, ks = {pf}, {}
          for _, ke in ipairs(L.entries(rec)) do ks[#ks + 1] = string.sub(ke, 16) end
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
    -- The new bound: now if more garbage is due, else the earlier of the
    -- next gc entry (or gcat, as no entry queued from now on is earlier,
    -- up to skew) and the first pending expiry.
    local t = now
    if n < 100 then
      t = head[n + 1] and string.sub(head[n + 1], 1, 15) or gcat
      local first = redis.call('ZRANGE', K_HX, 0, 0, 'WITHSCORES')
      if first[2] then t = math.min(t, first[2]) end
      t = L.pad(t)
    end
    redis.call('HSET', K_DATA, '~t', t)
    return #due > 0, t
  end

  return L
end
