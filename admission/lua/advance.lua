-- advance: bring the line to now and return the figures.
local S, err = load()
if not S then return err end
prep(S)
advance(S)
save(S)
return figures(S)
