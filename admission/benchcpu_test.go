package admission_test

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/admission"
	"github.com/gatehouse-go/gatehouse/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// BenchmarkStoreCPU measures what each Redis script costs the server:
// Redis main-thread CPU per call as a ratio to a no-op script on the same
// server in the same benchmark (cpu-x-noop), one caller and 64.
//
//	go test -run '^$' -bench StoreCPU ./admission/
//
// join: a new person joins an open room where people wait (the line
// moves by the clock meanwhile); claim: a called person's first Status,
// with the place computed in Go; done: an admitted person leaves;
// advance: a snapshot refresh of a room where people wait.
func BenchmarkStoreCPU(b *testing.B) {
	if !redistest.Available() {
		b.Skip("redis-server not installed")
	}
	srv := redistest.Start(b, redistest.Options{})
	client := srv.Client()
	storeScenarios(b, client, func(b *testing.B, noopKey string, parallel bool, op func(context.Context) error) {
		redistest.BenchCPU(b, client, noopKey, parallel, op)
	})
}

// BenchmarkStoreInstr counts the instructions each script costs Redis's
// main thread (redistest.BenchInstr), the scenarios of BenchmarkStoreCPU,
// on a redis-server run under valgrind --tool=callgrind; it skips
// otherwise. With a wrapper named redis-server first on PATH that execs
// valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.%p
// /usr/bin/redis-server "$@":
//
//	PATH=/path/to/wrapper:$PATH go test -run '^$' -bench StoreInstr -benchtime 2000x ./admission/
func BenchmarkStoreInstr(b *testing.B) {
	if !redistest.Available() {
		b.Skip("redis-server not installed")
	}
	srv := redistest.Start(b, redistest.Options{})
	client := srv.Client()
	storeScenarios(b, client, func(b *testing.B, noopKey string, parallel bool, op func(context.Context) error) {
		redistest.BenchInstr(b, client, noopKey, parallel, op)
	})
}

// storeScenarios runs the store's functions, one sub-benchmark each, with
// 1 caller, and 64 callers through the store's group commit (its default:
// concurrent calls share round trips) and without it (nobatch: a round
// trip per call, as the no-op), measured by measure.
func storeScenarios(b *testing.B, client *redis.Client, measure func(b *testing.B, noopKey string, parallel bool, op func(context.Context) error)) {
	var run atomic.Int64
	for _, mode := range []struct {
		callers   int
		unbatched bool
	}{{1, false}, {64, false}, {64, true}} {
		callers, parallel := mode.callers, mode.callers > 1
		suffix := ""
		if mode.unbatched {
			suffix = "/nobatch"
		}
		setup := func(b *testing.B, rate, burst int) (admission.Store, admission.Params, string) {
			if parallel {
				b.SetParallelism((callers + 1) / 2)
			}
			store := redisStoreWith(b, client, admission.RedisOptions{Timeout: testBudget, Unbatched: mode.unbatched})
			p := admission.Params{
				Opening: time.Now().Add(-time.Hour).Truncate(time.Millisecond), Rate: rate, Burst: burst,
				ClaimWindow: time.Hour, SessionTTL: time.Hour, DrainWindow: time.Minute, Seed: seed,
			}
			return store, p, "cpu-" + strconv.FormatInt(run.Add(1), 10)
		}
		noopKey := func(room string) string { return "gh-bench:{" + room + "}:noop" }
		joinAll := func(b *testing.B, store admission.Store, p admission.Params, room string, n int) []admission.IdentityHash {
			ids := make([]admission.IdentityHash, n)
			for i := range ids {
				ids[i] = admission.HashIdentity(identityKey, room+"-"+strconv.Itoa(i))
				if _, err := store.Join(ctx, time.Now(), room, p, ids[i]); err != nil {
					b.Fatal(err)
				}
			}
			return ids
		}
		b.Run(fmt.Sprintf("join/callers=%d%s", callers, suffix), func(b *testing.B) {
			store, p, room := setup(b, 600, 10)
			joinAll(b, store, p, room, 1000) // people waiting
			var n atomic.Int64
			measure(b, noopKey(room), parallel, func(ctx context.Context) error {
				id := admission.HashIdentity(identityKey, "new-"+strconv.FormatInt(n.Add(1), 10))
				_, err := store.Join(ctx, time.Now(), room, p, id)
				return err
			})
		})
		b.Run(fmt.Sprintf("claim/callers=%d%s", callers, suffix), func(b *testing.B) {
			store, p, room := setup(b, 60_000_000, 100_000)
			ids := joinAll(b, store, p, room, min(b.N, 100_000)) // admitted at once
			var n atomic.Int64
			measure(b, noopKey(room), parallel, func(ctx context.Context) error {
				i := int(n.Add(1)-1) % len(ids)
				h := admission.PlaceHint{Known: true, Index: uint64(i), Place: uint64(i)}
				_, err := store.Status(ctx, time.Now(), room, p, ids[i], h)
				return err
			})
		})
		b.Run(fmt.Sprintf("done/callers=%d%s", callers, suffix), func(b *testing.B) {
			store, p, room := setup(b, 60_000_000, 100_000)
			ids := joinAll(b, store, p, room, min(b.N, 100_000))
			var n atomic.Int64
			measure(b, noopKey(room), parallel, func(ctx context.Context) error {
				i := int(n.Add(1)-1) % len(ids)
				_, err := store.Done(ctx, time.Now(), room, p, ids[i])
				return err
			})
		})
		b.Run(fmt.Sprintf("advance/callers=%d%s", callers, suffix), func(b *testing.B) {
			store, p, room := setup(b, 6000, 100)
			joinAll(b, store, p, room, 20_000)
			measure(b, noopKey(room), parallel, func(ctx context.Context) error {
				_, err := store.Advance(ctx, time.Now(), room, p)
				return err
			})
		})
	}
}
