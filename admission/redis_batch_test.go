package admission_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/admission"
	"github.com/gatehouse-go/gatehouse/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// roundTrips is a go-redis hook that counts the round trips a client
// makes with function calls, and the calls they carry.
type roundTrips struct{ trips, calls, pipelined atomic.Int64 }

func (h *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == "fcall" {
			h.trips.Add(1)
			h.calls.Add(1)
		}
		return next(ctx, cmd)
	}
}
func (h *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		var n int64
		for _, c := range cmds {
			if c.Name() == "fcall" {
				n++
			}
		}
		if n > 0 { // not the connection's handshake
			h.trips.Add(1)
			h.calls.Add(n)
			h.pipelined.Add(n)
		}
		return next(ctx, cmds)
	}
}

// TestRedisGroupCommit: calls one store makes concurrently share round
// trips, each answered on its own (64 people joining at once get 64
// distinct places, each its own); one caller at a time never waits for a
// batch (each call is a round trip of its own); and with Unbatched every
// call is its own round trip.
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
			if got := h.trips.Load(); got < 10 || h.pipelined.Load() != 0 {
				t.Fatalf("10 calls one at a time: %d round trips, %d calls pipelined; want a round trip each", got, h.pipelined.Load())
			}
			h.trips.Store(0)
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
			trips, calls := h.trips.Load(), h.calls.Load()
			t.Logf("%d concurrent joins (and %d rejoins): %d calls in %d round trips", n, n, calls, trips)
			switch {
			case unbatched && trips != calls:
				t.Fatalf("Unbatched: %d calls in %d round trips, want one each", calls, trips)
			case !unbatched && trips >= calls:
				t.Fatalf("group commit: %d calls in %d round trips, want fewer round trips", calls, trips)
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
