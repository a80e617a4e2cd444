-- limits: bring the line to now under the limits in force, then change
-- them. ARGV[11] rate [12] burst [13] cap [14] min rate [15] max rate
-- [16] since (Unix ms; -1: unconditional): change them only if they were
-- last changed before it.
local S, err = load()
if not S then return err end
prep(S)
advance(S)
local since = tonumber(ARGV[16])
if since < 0 or S.lc < since then
  setLimits(S, tonumber(ARGV[11]), tonumber(ARGV[12]), tonumber(ARGV[13]), tonumber(ARGV[14]), tonumber(ARGV[15]))
  advance(S)
end
save(S)
return figures(S)
