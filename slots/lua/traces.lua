-- Helpers of the scripts that read or end a person's record (Hold,
-- Confirm, Cancel, Move).

-- entries returns the K_GX entries of the idempotency records a person's
-- "q:" field q (a string or false) lists, each at its own time.
local function entries(q)
  local e = {}
  if q then
    for at, kf in string.gmatch(q, '(%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d)([^,]*),') do
      e[#e + 1] = at .. kf
    end
  end
  return e
end

-- listed returns the person's "q:" field q with the record kf added; when
-- q has grown long (a booking moved many times), its older records are
-- queued in K_GX instead.
local function listed(q, kf)
  if not q then return gcat .. kf .. ',' end
  if #q > 400 then
    redis.call('RPUSH', K_GX, unpack(entries(q)))
    return gcat .. kf .. ','
  end
  return q .. gcat .. kf .. ','
end

-- gone returns the answer about a hold that expired at e (15 digits; its
-- record an expired hold or its trace): expired while its trace is kept,
-- for the retention (gcat - now) from e; then not found, as if the trace,
-- which garbage collection drops a little later, had already gone.
local function gone(e)
  if tonumber(e) + tonumber(gcat) - tonumber(now) <= tonumber(now) then return '!NOTFOUND' end
  return '!EXPIRED'
end

-- mine reports whether rec is the record of hold id.
local function mine(rec, id)
  return string.find(rec, id, 18, true) == 18 and string.byte(rec, 18 + #id) == 124
end
