package admission

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/internal/redistest"
)

// BenchmarkLuaParts splits a repeated join (a person already in the line
// joins again) into cumulative parts, with probe functions appended to the
// function library (so they run its own code): an empty function with a
// join's keys and arguments; then start (the arguments unpacked); an
// HMGET; open, enter and loadRec (the state and record read and
// unpacked); the changed state packed; finish and write (the HSET); the
// reply; the line brought to now (moved); and the whole join. Each sub-benchmark's
// extra-instr/op, less the one before, is that part's cost. It counts
// instructions (redistest.BenchInstr), so it skips unless redis-server
// runs under callgrind (see BenchmarkStoreInstr):
//
//	PATH=/tmp/cg/bin:$PATH go test -run '^$' -bench LuaParts -benchtime 1000x ./admission/
func BenchmarkLuaParts(b *testing.B) {
	srv := redistest.Start(b, redistest.Options{})
	c := srv.Client()
	ctx := context.Background()
	probes := `
local function pre(keys, args)
  if not floor then floor, ceil, byte = math.floor, math.ceil, string.byte end
  K1, K2, K3, a1, field, ofs = keys[1], keys[2], keys[3], args[1], args[2], 1
  start(CFMT)
end
local function opened()
  local r = redis.call('HMGET', K1, 'v', 'h', field)
  recv = r[3]
  open(r[1], r[2])
  rset = false
end
redis.register_function('probe_empty', function(keys, args) return 0 end)
redis.register_function('probe_start', function(keys, args) pre(keys, args) return 0 end)
redis.register_function('probe_hmget', function(keys, args) pre(keys, args) redis.call('HMGET', K1, 'v', 'h', field) return 0 end)
redis.register_function('probe_load', function(keys, args) pre(keys, args) opened() enter() loadRec() return 0 end)
redis.register_function('probe_pack', function(keys, args) pre(keys, args) opened() enter() loadRec()
  hout = struct.pack(HFMT, lt, la, tl, tk, n, s, ad, ac, nd, bz, mb, mc, sb) return 0 end)
redis.register_function('probe_save', function(keys, args) pre(keys, args) opened() enter() loadRec() finish(true) write() return 0 end)
redis.register_function('probe_reply', function(keys, args) pre(keys, args) opened() enter() loadRec() finish(true) write() return reply(0, 1, 0, 0) end)
redis.register_function('probe_moved', function(keys, args) pre(keys, args) opened() moved() loadRec() finish(true) write() return reply(0, 1, 0, 0) end)
`
	code := strings.ReplaceAll(luaLib, "__LIB__", "probe") + probes
	if err := c.FunctionLoad(ctx, code).Err(); err != nil {
		b.Fatal(err)
	}
	p := Params{Opening: time.Now().Add(-time.Hour).Truncate(time.Millisecond), Rate: 600, Burst: 10,
		ClaimWindow: time.Hour, SessionTTL: time.Hour, DrainWindow: time.Minute, Seed: Seed{1}}
	keys := []string{"p:{r}:s", "p:{r}:a", "p:{r}:r"}
	var id IdentityHash
	for i := range 1000 {
		id = HashIdentity(make([]byte, 32), fmt.Sprint(i))
		a := packArgs(opJoin, p, p.Seed.Commitment(), ms(time.Now()))
		if err := c.FCall(ctx, "probe_join", keys, a[1:], idField(id)).Err(); err != nil {
			b.Fatal(err)
		}
	}
	for _, fn := range []string{"empty", "start", "hmget", "load", "pack", "save", "reply", "moved", "join"} {
		b.Run(fn, func(b *testing.B) {
			redistest.BenchInstr(b, c, "p:{r}:noop", false, func(ctx context.Context) error {
				a := packArgs(opJoin, p, p.Seed.Commitment(), ms(time.Now()))
				return c.FCall(ctx, "probe_"+fn, keys, a[1:], idField(id)).Err()
			})
		})
	}
}
