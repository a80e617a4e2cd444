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
  K1, K2, K3, a1, field, ofs, short = keys[1], keys[2], keys[3], args[1], args[2], 1, false
  start(CFMT, '<d')
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

// BenchmarkBatchInstr counts what a call costs Redis inside a batch
// FCALL of size calls of one room (the group commit's, redis_batch.go):
// each op is one batch, so a call's share is extra-instr/op ÷ size; size 1
// is a batch of one, beside the call's own function (alone). The
// scenarios are BenchmarkStoreCPU's: join a new person into a line of
// people waiting, claim (a called person's first status, with the place),
// done. It skips unless redis-server runs under callgrind:
//
//	PATH=/tmp/cg/bin:$PATH go test -run '^$' -bench BatchInstr -benchtime 200x ./admission/
func BenchmarkBatchInstr(b *testing.B) {
	srv := redistest.Start(b, redistest.Options{})
	c := srv.Client()
	st, err := NewRedisStore(c, RedisOptions{Prefix: "bi:", Timeout: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	s := st.(*redisStore)
	ctx := context.Background()
	var run int
	send := func(calls []roomCall) error {
		batch := make([]*pendingCall, len(calls))
		for i := range calls {
			batch[i] = &pendingCall{In: calls[i]}
		}
		if len(batch) == 1 {
			r, err := s.fcall(ctx, fnNames[calls[0].op], calls[0].keys, calls[0].args()...)
			batch[0].Out, batch[0].Err = r, err
		} else {
			s.send(batchCtx, batch)
		}
		for _, pc := range batch {
			if pc.Err != nil {
				return pc.Err
			}
			var v [recordLen]int64
			if _, err := decodeReply(pc.Out, v[:]); err != nil {
				return err
			}
		}
		return nil
	}
	for _, size := range []int{1, 2, 8, 32} {
		name := fmt.Sprint("size=", size)
		if size == 1 {
			name = "alone"
		}
		for _, sc := range []string{"join", "claim", "done"} {
			b.Run(sc+"/"+name, func(b *testing.B) {
				run++
				room := fmt.Sprint("r", run)
				keys, _ := s.keys(room)
				p := Params{Opening: time.Now().Add(-time.Hour).Truncate(time.Millisecond), Rate: 60_000_000, Burst: 100_000,
					ClaimWindow: time.Hour, SessionTTL: time.Hour, DrainWindow: time.Minute, Seed: Seed{1}}
				if sc == "join" {
					p.Rate, p.Burst = 600, 10
				}
				check := p.Seed.Commitment()
				id := func(i int) string { return idField(HashIdentity(make([]byte, 32), fmt.Sprint(room, "-", i))) }
				join := func(i int) roomCall {
					return roomCall{op: opJoin, keys: keys, a: packArgs(opJoin, p, check, ms(time.Now())), field: id(i)}
				}
				// People waiting (join), or joined and called (claim, done).
				n := 1000
				if sc != "join" {
					n = b.N * size
				}
				for i := 0; i < n; i += 128 {
					var calls []roomCall
					for j := i; j < min(n, i+128); j++ {
						calls = append(calls, join(j))
					}
					if err := send(calls); err != nil {
						b.Fatal(err)
					}
				}
				next := 0
				redistest.BenchInstr(b, c, "bi:{"+room+"}:noop", false, func(context.Context) error {
					calls := make([]roomCall, size)
					for k := range calls {
						i := next
						next++
						switch sc {
						case "join":
							calls[k] = join(n + i)
						case "claim":
							a := packArgs(opStatus, p, check, ms(time.Now()), int64(i), int64(i), 0)
							calls[k] = roomCall{op: opStatus, keys: keys, a: a, field: id(i)}
						case "done":
							a := packArgs(opDone, p, check, ms(time.Now()), -1, -1, -1)
							calls[k] = roomCall{op: opDone, keys: keys, a: a, field: id(i)}
						}
					}
					return send(calls)
				})
			})
		}
	}
}
