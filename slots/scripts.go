package slots

import (
	_ "embed"

	"github.com/redis/go-redis/v9"
)

// The Redis scripts live in lua/*.lua, embedded: each is lua/prelude.lua
// and lua/lib.lua followed by its body, so they read, diff and lint as Lua
// (lua/prelude.lua documents the record formats). A script receives the
// first keys of its campaign that it uses (campaignKeys: data, gx, hx,
// slots) and, as ARGV[1] and ARGV[2], now and now+retention as 15-digit
// Unix milliseconds, computed by the caller from its own clock: no script
// reads Redis's TIME. Slots, persons and idempotency keys arrive
// base64url-encoded and are used only as hash fields, members and record
// parts, never in key names.
//
// Mutating scripts are idempotent by their request's key: go-redis may run a
// script twice for one call (it retries after a timeout or EOF), and the
// second run finds the first one's idempotency record, written by the same
// HSET as the change, and returns its outcome.
//
// Expiry is lazy and exact. A record says when its hold expires, so a
// script reading one person's record (Confirm, Cancel) judges it against
// now itself, and Lookup is a plain HGET judged in Go. The per-slot counts
// "u:"..slot (bookings + live holds) and "h:"..slot (live holds) are exact
// once every hold due at now has been expired: scripts that read counts
// (Hold, Move, DefineSlots, Availability, Snapshot) first compare now with
// "~t", a lower bound of every pending expiry and garbage collection, and
// run tidy only when it is due; tidy drops at most 100 records a call.
//
// The scripts are shaped for Redis's CPU, which a benchmark measures as a
// ratio to a no-op script (BENCHMARKS.md). In the common case Hold makes
// three calls (HMGET, HSET, ZADD), Confirm three (HMGET, HINCRBY, HSET),
// Move three, Cancel of a booking four; no success makes a call for garbage
// collection (its idempotency record is listed in the person's record and
// goes with it); instants are compared as strings, never converted; and
// the hot paths make one Lua closure.

var (
	//go:embed lua/prelude.lua
	luaPrelude string
	//go:embed lua/slotlines.lua
	luaSlotLines string
	//go:embed lua/define.lua
	luaDefine string
	//go:embed lua/hold.lua
	luaHold string
	//go:embed lua/confirm.lua
	luaConfirm string
	//go:embed lua/cancel.lua
	luaCancel string
	//go:embed lua/move.lua
	luaMove string
	//go:embed lua/lib.lua
	luaLib string
	//go:embed lua/owned.lua
	luaOwned string
	//go:embed lua/availability.lua
	luaAvailability string
	//go:embed lua/snapshot.lua
	luaSnapshot string
)

// luaScript is a script and the number of campaign keys it takes (the
// first ones of campaignKeys).
type luaScript struct {
	*redis.Script
	keys int
}

var (
	defineScript       = luaScript{redis.NewScript(luaPrelude + luaLib + luaDefine), 4}
	holdScript         = luaScript{redis.NewScript(luaPrelude + luaLib + luaHold), 3}
	confirmScript      = luaScript{redis.NewScript(luaPrelude + luaLib + luaOwned + luaConfirm), 2}
	cancelScript       = luaScript{redis.NewScript(luaPrelude + luaLib + luaOwned + luaCancel), 2}
	moveScript         = luaScript{redis.NewScript(luaPrelude + luaLib + luaMove), 3}
	availabilityScript = luaScript{redis.NewScript(luaPrelude + luaLib + luaSlotLines + luaAvailability), 4}
	snapshotScript     = luaScript{redis.NewScript(luaPrelude + luaLib + luaSlotLines + luaSnapshot), 4}
)
