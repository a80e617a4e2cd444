package admission_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/admission"
	"github.com/gatehouse-go/gatehouse/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// roundTrips is a go-redis hook that counts the round trips a client
// makes with function calls, the FCALLs they carry, and the room's calls
// those carry (a batch FCALL carries several).
type roundTrips struct{ trips, fcalls, calls, pipelined atomic.Int64 }

// carried is how many of the room's calls cmd carries: an FCALL of a
// room's function carries one, of its batch function one per packed
// numbers argument (the []byte ones; identity fields are strings).
func carried(cmd redis.Cmder) int64 {
	if cmd.Name() != "fcall" {
		return 0
	}
	args := cmd.Args()
	if fn, _ := args[1].(string); !strings.HasSuffix(fn, "_batch") {
		return 1
	}
	var n int64
	for _, a := range args[6:] { // fcall, fn, 3, three keys
		if _, ok := a.([]byte); ok {
			n++
		}
	}
	return n
}

func (h *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if n := carried(cmd); n > 0 {
			h.trips.Add(1)
			h.fcalls.Add(1)
			h.calls.Add(n)
		}
		return next(ctx, cmd)
	}
}
func (h *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		var f, n int64
		for _, c := range cmds {
			if k := carried(c); k > 0 {
				f++
				n += k
			}
		}
		if n > 0 { // not the connection's handshake
			h.trips.Add(1)
			h.fcalls.Add(f)
			h.calls.Add(n)
			h.pipelined.Add(n)
		}
		return next(ctx, cmds)
	}
}

// TestRedisGroupCommit: calls one store makes concurrently share round
// trips, each answered on its own (64 people joining at once get 64
// distinct places, each its own), and the calls of one room share an
// FCALL (a round trip carries one); one caller at a time never waits for
// a batch (each call is a round trip of its own); and with Unbatched
// every call is its own round trip.
func TestRedisGroupCommit(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	p := admission.Params{Opening: opening, Rate: 60, Burst: 1, ClaimWindow: time.Minute,
		SessionTTL: time.Minute, DrainWindow: time.Minute, Seed: seed}
	for _, unbatched := range []bool{false, true} {
		t.Run("Unbatched="+strconv.FormatBool(unbatched), func(t *testing.T) {
			c := srv.Client()
			var h roundTrips
			c.AddHook(&h)
			store := redisStoreWith(t, c, admission.RedisOptions{Timeout: testBudget, Unbatched: unbatched})
			room := "batch-" + strconv.FormatBool(unbatched)
			// One at a time: a round trip each.
			for i := range 10 {
				id := admission.HashIdentity(identityKey, "alone-"+strconv.Itoa(i))
				if _, err := store.Join(ctx, opening.Add(-time.Minute), room, p, id); err != nil {
					t.Fatal(err)
				}
			}
			if got := h.trips.Load(); got < 10 || h.pipelined.Load() != 0 || h.calls.Load() != h.trips.Load() {
				t.Fatalf("10 calls one at a time: %d calls in %d round trips, %d pipelined; want a round trip each", h.calls.Load(), got, h.pipelined.Load())
			}
			h.trips.Store(0)
			h.fcalls.Store(0)
			h.calls.Store(0)
			const n = 64
			var (
				wg    sync.WaitGroup
				start = make(chan struct{})
				idx   [n]uint64
				errs  [n]error
			)
			ids := make([]admission.IdentityHash, n)
			for i := range n {
				ids[i] = admission.HashIdentity(identityKey, "crowd-"+strconv.Itoa(i))
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					r, err := store.Join(ctx, opening.Add(-time.Minute), room, p, ids[i])
					idx[i], errs[i] = r.Index, err
				}()
			}
			close(start)
			wg.Wait()
			seen := map[uint64]bool{}
			for i := range n {
				if errs[i] != nil {
					t.Fatal(errs[i])
				}
				seen[idx[i]] = true
				// Each answer is the caller's own: joining again gives
				// the same index.
				r, err := store.Join(ctx, opening.Add(-time.Minute), room, p, ids[i])
				if err != nil || r.Index != idx[i] {
					t.Fatalf("person %d: index %d, again %d (%v)", i, idx[i], r.Index, err)
				}
			}
			if len(seen) != n {
				t.Fatalf("%d distinct indices for %d people", len(seen), n)
			}
			trips, fcalls, calls := h.trips.Load(), h.fcalls.Load(), h.calls.Load()
			t.Logf("%d concurrent joins (and %d rejoins): %d calls in %d FCALLs in %d round trips", n, n, calls, fcalls, trips)
			switch {
			case calls != 2*n:
				t.Fatalf("%d calls carried, want %d", calls, 2*n)
			case unbatched && (trips != calls || fcalls != calls):
				t.Fatalf("Unbatched: %d calls in %d FCALLs in %d round trips, want one each", calls, fcalls, trips)
			case !unbatched && (trips >= calls || fcalls != trips):
				t.Fatalf("group commit: %d calls in %d FCALLs in %d round trips, want fewer round trips, one FCALL each (one room)", calls, fcalls, trips)
			}
		})
	}
}

// TestRedisGroupCommitQueueLeft: a call that waits for a round trip while
// two are in flight (Redis stalled) and whose context ends leaves the
// queue: it fails as unavailable at its deadline, and its call is never
// sent (the person never joined); the calls in flight complete.
func TestRedisGroupCommitQueueLeft(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	store := redisStoreWith(t, srv.Client(), admission.RedisOptions{Timeout: 5 * time.Second})
	p := admission.Params{Opening: opening, Rate: 60, Burst: 1, ClaimWindow: time.Minute,
		SessionTTL: time.Minute, DrainWindow: time.Minute, Seed: seed}
	before := opening.Add(-time.Minute)
	// The room exists, the library is loaded.
	if _, err := store.Join(ctx, before, "queue", p, admission.HashIdentity(identityKey, "first")); err != nil {
		t.Fatal(err)
	}
	stall := srv.Client()
	stalled := make(chan error, 1)
	go func() { stalled <- stall.Do(ctx, "DEBUG", "SLEEP", "1").Err() }()
	time.Sleep(100 * time.Millisecond) // the server is asleep
	var wg sync.WaitGroup
	inFlight := make([]error, 2)
	for i := range inFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, inFlight[i] = store.Join(ctx, before, "queue", p, admission.HashIdentity(identityKey, "in-flight-"+strconv.Itoa(i)))
		}()
	}
	time.Sleep(100 * time.Millisecond) // both round trips are out
	late := admission.HashIdentity(identityKey, "late")
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := store.Join(short, before, "queue", p, late)
	if !errors.Is(err, admission.ErrUnavailable) {
		t.Fatalf("queued call past its deadline: %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 600*time.Millisecond {
		t.Fatalf("queued call returned after %v, want about its 100ms deadline", d)
	}
	wg.Wait()
	if err := <-stalled; err != nil {
		t.Fatal(err)
	}
	for i, err := range inFlight {
		if err != nil {
			t.Fatalf("call %d in flight: %v", i, err)
		}
	}
	if _, err := store.Status(ctx, before, "queue", p, late, admission.PlaceHint{}); !errors.Is(err, admission.ErrNotJoined) {
		t.Fatalf("the late call's person: %v, want ErrNotJoined (its call was never sent)", err)
	}
}
