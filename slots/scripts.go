package slots

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"strings"

	"github.com/redis/go-redis/v9"
)

// The Redis side is one Lua function library, its source in lua/*.lua,
// embedded, so it reads, diffs and lints as Lua (lua/lib.lua documents the
// record formats). The store loads it on a server the first time a call
// there finds it missing (FUNCTION LOAD), then runs each operation with
// FCALL: unlike a script sent with EVALSHA, a library's helpers are made
// once, when it loads, and a call costs Redis less. The library's name and
// its functions' carry a hash of its source, so processes running
// different versions of this package never replace each other's code.
// Functions are kept by Redis like data: a replica receives them, RDB and
// AOF keep them, FLUSHALL leaves them; a server that lacks them (a fresh
// one, or after FUNCTION FLUSH) gets them again from the next call.
//
// Each function receives the first keys of its campaign that it uses
// (campaignKeys: data, gx, hx, slots) and, as args[1], now as 15-digit
// Unix milliseconds, computed by the caller from its own clock: no
// function reads Redis's TIME. Slots, persons and idempotency keys arrive
// base64url-encoded and are used only as hash fields, members and record
// parts, never in key names.
//
// Mutating functions are idempotent by their request's key: go-redis may
// send a call twice for one operation (it retries after a timeout or EOF),
// and the second run finds the first one's idempotency record, written by
// the same HSET as the change, and returns its outcome.
//
// Expiry is lazy and exact. A record says when its hold expires, so a
// function reading one person's record (Confirm, Cancel) judges it against
// now itself, and Lookup is a plain HGET judged in Go. The per-slot counts
// slot (free places) and "h:"..slot (live holds) are exact once
// every hold due at now has been expired: functions that read counts
// (Hold, Move, DefineSlots, Availability, Snapshot, Totals) first compare now with
// "~t", a lower bound of every pending expiry and garbage collection, and
// run tidy only when it is due; tidy drops at most 100 records a call.
//
// The functions are shaped for Redis's CPU, which a benchmark measures as
// a ratio to a no-op script (BENCHMARKS.md). In the common case Hold makes
// three calls (HMGET, HSET, ZADD), Confirm three (HMGET, HINCRBY, HSET),
// Move three, Cancel four; no success makes a call for garbage collection
// (its idempotency record is listed in the person's record and goes with
// it); the caller builds every field name and Hold's record; instants are
// compared as strings, never converted.

var (
	//go:embed lua/lib.lua
	luaLib string
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
	//go:embed lua/availability.lua
	luaAvailability string
	//go:embed lua/snapshot.lua
	luaSnapshot string
	//go:embed lua/totals.lua
	luaTotals string
	//go:embed lua/batch.lua
	luaBatch string
)

// luaFunc is a function of the library and the number of campaign keys it
// takes (the first ones of campaignKeys).
type luaFunc struct {
	lua  string // its name in the Lua source
	name string // its name in Redis: the library's name, "_", lua
	keys int
}

var (
	defineFunc       = &luaFunc{lua: "define", keys: 4}
	holdFunc         = &luaFunc{lua: "hold", keys: 3}
	confirmFunc      = &luaFunc{lua: "confirm", keys: 2}
	cancelFunc       = &luaFunc{lua: "cancel", keys: 2}
	moveFunc         = &luaFunc{lua: "move", keys: 3}
	availabilityFunc = &luaFunc{lua: "availability", keys: 4}
	snapshotFunc     = &luaFunc{lua: "snapshot", keys: 4}
	totalsFunc       = &luaFunc{lua: "totals", keys: 4}
	batchFunc        = &luaFunc{lua: "batch", keys: 3}
)

// libCode is the library's source, ready for FUNCTION LOAD.
var libCode = library(defineFunc, holdFunc, confirmFunc, cancelFunc, moveFunc, availabilityFunc, snapshotFunc, totalsFunc, batchFunc)

// library names the library ("gatehouse_slots_" and 16 hex digits of a
// hash of its source) and the functions fs, and returns its source.
func library(fs ...*luaFunc) string {
	body := luaLib + luaSlotLines + luaDefine + luaHold + luaConfirm + luaCancel + luaMove + luaAvailability + luaSnapshot + luaTotals + luaBatch
	sum := sha256.Sum256([]byte(body))
	name := "gatehouse_slots_" + hex.EncodeToString(sum[:8])
	var b strings.Builder
	b.WriteString("#!lua name=" + name + "\n")
	b.WriteString(body)
	for _, f := range fs {
		f.name = name + "_" + f.lua
		b.WriteString("redis.register_function('" + f.name + "', " + f.lua + ")\n")
	}
	return b.String()
}

// missingFunc reports whether err says the function is not loaded on the
// server that answered.
func missingFunc(err error) bool {
	return err != nil && redis.HasErrorPrefix(err, "Function not found")
}

// functionLoader is the part of a go-redis client that loads a library.
type functionLoader interface {
	FunctionLoad(ctx context.Context, code string) *redis.StringCmd
}

// loadLibrary loads the library on c (the server that answered "Function
// not found"); a library already there, loaded meanwhile by another
// caller, is fine.
func loadLibrary(ctx context.Context, c functionLoader) error {
	err := c.FunctionLoad(ctx, libCode).Err()
	if err != nil && strings.Contains(err.Error(), "already exists") {
		return nil
	}
	return err
}
