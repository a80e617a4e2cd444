-- limits: bring the line to now under the limits in force, then change
-- them. ARGV[11] rate [12] burst [13] cap
local S, err = load()
if not S then return err end
prep(S)
advance(S)
setLimits(S, tonumber(ARGV[11]), tonumber(ARGV[12]), tonumber(ARGV[13]))
advance(S)
save(S)
return figures(S)
