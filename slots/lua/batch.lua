-- Batch: several Hold, Confirm, Cancel and Move calls of one campaign in
-- one round trip (the store's group commit, batch.go). args: for each
-- operation its function's name, then its args. keys: data, gx, hx.
-- Returns each operation's outcome, in order, exactly as its own function
-- would have.
local batched = {hold = {hold, 8}, confirm = {confirm, 5}, cancel = {cancel, 5}, move = {move, 7}}
local function batch(keys, args)
  local out = {}
  local i = 1
  while i <= #args do
    local f = batched[args[i]]
    out[#out + 1] = f[1](keys, {unpack(args, i + 1, i + f[2])})
    i = i + 1 + f[2]
  end
  return out
end
