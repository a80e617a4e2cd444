package admission_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-go/gatehouse/admission"
	"github.com/gatehouse-go/gatehouse/internal/redistest"
)

// faultSlack is the generous slack on latency bounds under -race on two
// busy cores.
const faultSlack = 500 * time.Millisecond

// TestRoomUnderRedisFaults is the room's part of the fault-injection suite:
// during each fault every join, status and done, and the HTTP handler,
// answer within the store's budget (ErrUnavailable, 503), nobody gets a
// pass, and the room recovers by itself afterwards with every place where
// it was.
func TestRoomUnderRedisFaults(t *testing.T) {
	redis.SetLogger(quietLogger{})
	redistest.RunFaults(t, redistest.Options{AOF: true}, testRoomUnderFault)
}

func testRoomUnderFault(t *testing.T, srv *redistest.Server, c redis.UniversalClient, f redistest.Fault) {
	clk := newClock(-time.Minute)
	room := newRoom(t, redisStoreWith(t, c, admission.RedisOptions{}), options(t, "fault", clk, func(o *admission.Options) { o.Rate, o.Burst = 60, 1 }))
	const people = 5
	for k := range people {
		mustJoin(t, room, person(k))
	}
	clk.Set(opening.Add(time.Second))
	before := map[string]admission.Status{}
	for k := range people {
		before[person(k)] = mustStatus(t, room, person(k))
	}
	h := room.Handler(func(r *http.Request) (string, bool) { return r.Header.Get("X-Id"), true })

	end := f.Begin(t, srv)
	// Minutes pass on the room's clock: any call that reached the store
	// now would admit everyone.
	clk.Add(10 * time.Minute)
	bound := admission.DefaultRedisTimeout + faultSlack
	check := func(what string, st admission.Status, err error, d time.Duration) {
		t.Helper()
		if d > bound {
			t.Errorf("%s during %s took %v, want at most %v + slack", what, f.Name, d, admission.DefaultRedisTimeout)
		}
		if f.Recovers && err == nil {
			return
		}
		if !errors.Is(err, admission.ErrUnavailable) {
			t.Errorf("%s during %s = %v, want ErrUnavailable", what, f.Name, err)
		}
		if st.Pass != "" || st.State == admission.StateAdmitted {
			t.Errorf("%s during %s admitted someone: %+v", what, f.Name, st)
		}
	}
	ctx := context.Background()
	deadline := time.Now().Add(2 * admission.DefaultRedisTimeout)
	for k := 0; time.Now().Before(deadline); k++ {
		start := time.Now()
		st, err := room.Join(ctx, person(100+k))
		check("Join", st, err, time.Since(start))
		start = time.Now()
		st, err = room.Status(ctx, person(k%people))
		check("Status", st, err, time.Since(start))
		start = time.Now()
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/queue/status", nil)
		req.Header.Set("X-Id", person(k%people))
		h.ServeHTTP(rec, req)
		if d := time.Since(start); d > bound || (rec.Code != http.StatusServiceUnavailable && !f.Recovers) {
			t.Errorf("GET status during %s: %d after %v, want 503 within %v + slack", f.Name, rec.Code, d, admission.DefaultRedisTimeout)
		}
	}
	end()
	waitForRoom(t, func() bool { _, err := room.Status(ctx, person(0)); return err == nil })
	for k := range people {
		var st admission.Status
		waitForRoom(t, func() bool {
			var err error
			st, err = room.Status(ctx, person(k))
			return err == nil
		})
		if st.Place != before[person(k)].Place {
			t.Errorf("%s: place %d after %s, was %d", person(k), st.Place, f.Name, before[person(k)].Place)
		}
	}
}

// waitForRoom polls cond in real time for up to 10 s: Redis coming back is
// a network event, not a decision of the room.
func waitForRoom(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("the room did not recover within 10s after the fault ended")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRedisStalledQueueWithinBudget: with Redis stalled (SIGSTOP) and more
// concurrent calls than the round trips in flight plus two full batches
// carry, every call (Join, Status, Advance), however deep in the group
// commit's queue, fails as unavailable within the store's Timeout, which
// runs from when the call enters the store and covers its wait.
func TestRedisStalledQueueWithinBudget(t *testing.T) {
	redis.SetLogger(quietLogger{})
	srv := redistest.Start(t, redistest.Options{})
	const budget = time.Second
	store := redisStoreWith(t, srv.Client(), admission.RedisOptions{Timeout: budget})
	p := admission.Params{Opening: opening, Rate: 60, Burst: 1, ClaimWindow: time.Minute,
		SessionTTL: time.Minute, DrainWindow: time.Minute, Seed: seed}
	before := opening.Add(-time.Minute)
	first := admission.HashIdentity(identityKey, "first")
	if _, err := store.Join(ctx, before, "stall", p, first); err != nil {
		t.Fatal(err)
	}
	srv.Pause()
	defer srv.Resume()
	const calls = 2*128 + 100
	took := make([]time.Duration, calls)
	errs := make([]error, calls)
	var wg sync.WaitGroup
	for i := range calls {
		wg.Go(func() {
			start := time.Now()
			switch i % 3 {
			case 0:
				_, errs[i] = store.Join(ctx, before, "stall", p, admission.HashIdentity(identityKey, "p"+strconv.Itoa(i)))
			case 1:
				_, errs[i] = store.Status(ctx, before, "stall", p, first, admission.PlaceHint{})
			default:
				_, errs[i] = store.Advance(ctx, opening, "stall", p)
			}
			took[i] = time.Since(start)
		})
	}
	wg.Wait()
	slowest := 0
	for i := range calls {
		if !errors.Is(errs[i], admission.ErrUnavailable) {
			t.Errorf("call %d with Redis stalled: %v, want ErrUnavailable", i, errs[i])
		}
		if took[i] > took[slowest] {
			slowest = i
		}
	}
	if d := took[slowest]; d > budget+faultSlack {
		t.Errorf("call %d (of %d concurrent) with Redis stalled returned after %v, want within the %v budget + slack", slowest, calls, d, budget)
	}
}
