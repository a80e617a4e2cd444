package slots

import (
	_ "embed"

	"github.com/redis/go-redis/v9"
)

// The Redis scripts live in lua/*.lua, embedded: each is lua/prelude.lua
// followed by its body, so they read, diff and lint as Lua. Every script
// receives the four keys of one campaign (campaignKeys: slots, data, hx,
// gx) and, as ARGV[1] and ARGV[2], now and
// now+retention in Unix milliseconds, computed by the caller from its own
// clock: no script reads Redis's TIME. Slots, persons and idempotency keys
// arrive base64url-encoded and are used only as hash fields, members and
// record parts, never in key names.
//
// Mutating scripts are idempotent by their request's key: go-redis may run a
// script twice for one call (it retries after a timeout or EOF), and the
// second run finds the first one's record and returns its outcome.
//
// Expiry is lazy and exact. A record says when its hold expires, so a
// script reading one person's record (Confirm, Cancel, Lookup) judges it
// against now itself. The per-slot count "u:"..slot (bookings + live holds)
// is exact once every hold due at now has been expired: scripts that read
// counts (Hold, Move, DefineSlots, Availability, Snapshot) first compare now
// with "~hx", a lower bound of every pending expiry, and run purgeHolds only
// when something may be due. Garbage collection of traces and idempotency
// records works the same way with "~gx", at most 100 records per call.
// A campaign's counts and bounds live in the same hash as its records, so a
// Hold reads everything it needs in one HMGET and writes it back in one
// HSET: in the common case a Hold is four Redis calls, a Confirm four, a
// Lookup one.

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
	//go:embed lua/lookup.lua
	luaLookup string
	//go:embed lua/availability.lua
	luaAvailability string
	//go:embed lua/snapshot.lua
	luaSnapshot string
)

var (
	defineScript       = redis.NewScript(luaPrelude + luaDefine)
	holdScript         = redis.NewScript(luaPrelude + luaHold)
	confirmScript      = redis.NewScript(luaPrelude + luaConfirm)
	cancelScript       = redis.NewScript(luaPrelude + luaCancel)
	moveScript         = redis.NewScript(luaPrelude + luaMove)
	lookupScript       = redis.NewScript(luaPrelude + luaLookup)
	availabilityScript = redis.NewScript(luaPrelude + luaSlotLines + luaAvailability)
	snapshotScript     = redis.NewScript(luaPrelude + luaSlotLines + luaSnapshot)
)
