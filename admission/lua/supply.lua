-- supply: bring the line to now, then record a supply reading.
-- ARGV[11] free [12] held [13] allowance
local S, err = load()
if not S then return err end
prep(S)
advance(S)
S.sk = 1
S.sf = tonumber(ARGV[11])
S.sh = tonumber(ARGV[12])
S.sb = math.max(0, tonumber(ARGV[13]) - S.ac)
advance(S)
save(S)
return figures(S)
