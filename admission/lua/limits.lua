-- limits: bring the line to now under the limits in force, then change
-- them. ARGV[10] rate [11] burst [12] cap
local S, err = load()
if not S then return err end
prep(S)
advance(S)
setLimits(S, tonumber(ARGV[10]), tonumber(ARGV[11]), tonumber(ARGV[12]))
advance(S)
save(S)
return figures(S)
