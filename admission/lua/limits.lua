-- limits: bring the line to now under the limits in force, then change
-- them. ARGV[10] rate [11] burst [12] cap [13] min rate [14] max rate
-- [15] since (Unix ms; -1: unconditional): change them only if they were
-- last changed before it.
local S, err = load()
if not S then return err end
prep(S)
advance(S)
local since = tonumber(ARGV[15])
if since < 0 or S.lc < since then
  setLimits(S, tonumber(ARGV[10]), tonumber(ARGV[11]), tonumber(ARGV[12]), tonumber(ARGV[13]), tonumber(ARGV[14]))
  advance(S)
end
save(S)
return figures(S)
