-- supply: bring the line to now, then record a supply reading.
-- ARGV[10] free [11] held [12] allowance
local S, err = load()
if not S then return err end
prep(S)
advance(S)
S.sk = 1
S.sf = tonumber(ARGV[10])
S.sh = tonumber(ARGV[11])
S.sb = math.max(0, tonumber(ARGV[12]) - S.ac)
advance(S)
save(S)
return figures(S)
