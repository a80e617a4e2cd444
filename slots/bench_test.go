package slots_test

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/internal/redistest"
	"github.com/gatehouse-go/gatehouse/slots"
	"github.com/redis/go-redis/v9"
)

var benchSeq atomic.Int64

// BenchmarkHoldConfirm measures one Hold and one Confirm, on memory and on
// a standalone Redis, with 1 and 64 concurrent callers. The Redis figures
// run beside RedisNoopScript, a no-op Lua script on the same server in the
// same run: the floor Redis itself sets for one EVALSHA round trip. Compare
// with benchstat, or read the ratio directly.
func BenchmarkHoldConfirm(b *testing.B) {
	b.Run("memory", func(b *testing.B) {
		s := slots.NewMemoryStore()
		for _, callers := range []int{1, 64} {
			b.Run("hold/callers="+strconv.Itoa(callers), func(b *testing.B) { benchHold(b, s, callers) })
			b.Run("confirm/callers="+strconv.Itoa(callers), func(b *testing.B) { benchConfirm(b, s, callers) })
		}
	})
	b.Run("redis", func(b *testing.B) {
		rdb := redistest.Start(b, redistest.Options{}).Client()
		s, err := slots.NewRedisStore(rdb, slots.RedisOptions{Prefix: "bench:"})
		if err != nil {
			b.Fatal(err)
		}
		for _, callers := range []int{1, 64} {
			b.Run("RedisNoopScript/callers="+strconv.Itoa(callers), func(b *testing.B) {
				setCallers(b, callers)
				redistest.BenchmarkNoop(b, rdb, "bench:{noop}:k", callers > 1)
			})
			b.Run("hold/callers="+strconv.Itoa(callers), func(b *testing.B) { benchHold(b, s, callers) })
			b.Run("confirm/callers="+strconv.Itoa(callers), func(b *testing.B) { benchConfirm(b, s, callers) })
		}
	})
}

// setCallers makes b.RunParallel use about callers goroutines.
func setCallers(b *testing.B, callers int) {
	if callers > 1 {
		p := runtime.GOMAXPROCS(0)
		b.SetParallelism((callers + p - 1) / p)
	}
}

// run calls op(i) for i in [0, b.N), from callers goroutines.
func run(b *testing.B, callers int, op func(i int64) error) {
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	if callers == 1 {
		for i := range b.N {
			if err := op(int64(i)); err != nil {
				b.Fatal(err)
			}
		}
		return
	}
	setCallers(b, callers)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := op(next.Add(1) - 1); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// benchCampaign defines a fresh campaign with one slot large enough for
// every hold of the run.
func benchCampaign(b *testing.B, s slots.Store) slots.Campaign {
	c := slots.Campaign(fmt.Sprint("b", benchSeq.Add(1)))
	err := s.DefineSlots(context.Background(), t0, slots.DefineRequest{Campaign: c, Slots: []slots.Slot{{ID: "slot", Capacity: slots.MaxCapacity}}, Key: "define"})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func benchHold(b *testing.B, s slots.Store, callers int) {
	ctx := context.Background()
	c := benchCampaign(b, s)
	run(b, callers, func(i int64) error {
		n := strconv.FormatInt(i, 10)
		_, err := s.Hold(ctx, t0, slots.HoldRequest{Campaign: c, Slot: "slot", Person: "person-" + n, TTL: 10 * time.Minute, Key: "hold-" + n})
		return err
	})
}

func benchConfirm(b *testing.B, s slots.Store, callers int) {
	ctx := context.Background()
	c := benchCampaign(b, s)
	// Make b.N holds first, 64 at a time, outside the timer.
	ids := make([]string, b.N)
	var wg sync.WaitGroup
	var next atomic.Int64
	for range 64 {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(b.N); i = next.Add(1) - 1 {
				n := strconv.FormatInt(i, 10)
				hd, err := s.Hold(ctx, t0, slots.HoldRequest{Campaign: c, Slot: "slot", Person: "person-" + n, TTL: 10 * time.Minute, Key: "hold-" + n})
				if err != nil {
					b.Error(err)
					return
				}
				ids[i] = hd.ID
			}
		})
	}
	wg.Wait()
	run(b, callers, func(i int64) error {
		n := strconv.FormatInt(i, 10)
		_, err := s.Confirm(ctx, t0, slots.ConfirmRequest{Campaign: c, HoldID: ids[i], Person: "person-" + n, Key: "confirm-" + n})
		return err
	})
}

// TestRedisOneRoundTripPerOperation counts the commands the store sends: one
// EVALSHA per operation once the scripts are cached on the server.
func TestRedisOneRoundTripPerOperation(t *testing.T) {
	rdb := redistest.Start(t, redistest.Options{}).Client()
	var cmds atomic.Int64
	var names sync.Map
	rdb.AddHook(countHook{n: &cmds, names: &names})
	s, err := slots.NewRedisStore(rdb, slots.RedisOptions{Prefix: "rt:"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ops := func(round int) {
		r := strconv.Itoa(round)
		c := slots.Campaign("rt" + r)
		count := func(what string, f func() error) {
			t.Helper()
			before := cmds.Load()
			if err := f(); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if n := cmds.Load() - before; round > 0 && n != 1 {
				t.Errorf("%s sent %d commands, want 1", what, n)
			}
		}
		count("DefineSlots", func() error {
			return s.DefineSlots(ctx, t0, slots.DefineRequest{Campaign: c, Slots: []slots.Slot{{ID: "a", Capacity: 5}, {ID: "b", Capacity: 5}}, Key: "d"})
		})
		var hd slots.Hold
		count("Hold", func() (err error) {
			hd, err = s.Hold(ctx, t0, slots.HoldRequest{Campaign: c, Slot: "a", Person: "p", TTL: time.Minute, Key: "h"})
			return err
		})
		count("Confirm", func() error {
			_, err := s.Confirm(ctx, t0, slots.ConfirmRequest{Campaign: c, HoldID: hd.ID, Person: "p", Key: "c"})
			return err
		})
		count("Move", func() error {
			_, err := s.Move(ctx, t0, slots.MoveRequest{Campaign: c, ID: hd.ID, Person: "p", To: "b", Key: "m"})
			return err
		})
		count("Lookup", func() error { _, err := s.Lookup(ctx, t0, c, "p"); return err })
		count("Availability", func() error { _, err := s.Availability(ctx, t0, c, []string{"a", "b"}); return err })
		count("Cancel", func() error {
			return s.Cancel(ctx, t0, slots.CancelRequest{Campaign: c, ID: hd.ID, Person: "p", Key: "k"})
		})
	}
	ops(0) // loads the scripts (EVALSHA, NOSCRIPT, EVAL)
	ops(1)
	names.Range(func(k, _ any) bool {
		if k != "evalsha" && k != "eval" {
			t.Errorf("the store sent %q", k)
		}
		return true
	})
}

type countHook struct {
	n     *atomic.Int64
	names *sync.Map
}

func (h countHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		switch cmd.Name() {
		case "hello", "client", "ping":
		default:
			h.n.Add(1)
			h.names.Store(cmd.Name(), true)
		}
		return next(ctx, cmd)
	}
}
func (h countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
