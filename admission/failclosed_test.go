package admission_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/admission"
	"github.com/gatehouse-go/gatehouse/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// TestRedisKilledFailsClosed kills Redis (kill -9, AOF with appendfsync
// always) while people poll: every join, status, done and advance fails
// with ErrUnavailable (503 over HTTP), nobody is admitted during the
// outage, passes already handed out keep working, and after the restart
// every place is where it was.
func TestRedisKilledFailsClosed(t *testing.T) {
	// go-redis logs every failed dial; the outage is the point here.
	redis.SetLogger(quietLogger{})
	srv := redistest.Start(t, redistest.Options{AOF: true})
	client := redis.NewClient(&redis.Options{
		Addr: srv.Addr(), MaxRetries: 1, ContextTimeoutEnabled: true,
		DialTimeout: 300 * time.Millisecond, ReadTimeout: 300 * time.Millisecond, WriteTimeout: 300 * time.Millisecond,
	})
	t.Cleanup(func() { client.Close() })
	store := redisStore(t, client)
	clk := newClock(-time.Minute)
	const people = 40
	room := newRoom(t, store, options(t, "outage", clk, func(o *admission.Options) { o.Rate, o.Burst = 60, 2 }))
	for k := range people {
		mustJoin(t, room, person(k))
	}
	clk.Set(opening.Add(3 * time.Second))
	before := map[string]admission.Status{}
	var holder string // someone admitted, with a pass
	for k := range people {
		st := mustStatus(t, room, person(k))
		before[person(k)] = st
		if st.State == admission.StateAdmitted && holder == "" {
			holder = person(k)
		}
	}
	if holder == "" {
		t.Fatal("nobody admitted before the outage")
	}
	stats := mustStats(t, room)

	// Kill Redis while people poll from several goroutines.
	var (
		wg      sync.WaitGroup
		stop    atomic.Bool
		wrong   atomic.Value
		refused atomic.Int64
	)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				id := person((g*10 + i) % people)
				st, err := room.Status(ctx, id)
				switch {
				case errors.Is(err, admission.ErrUnavailable):
					refused.Add(1)
				case err != nil:
					wrong.Store(err)
				case st.State == admission.StateAdmitted && before[id].State != admission.StateAdmitted:
					// The clock is frozen: nobody new may enter.
					wrong.Store(errors.New(id + " admitted while the clock stood still"))
				}
			}
		}()
	}
	time.Sleep(20 * time.Millisecond)
	srv.Kill()
	for refused.Load() < 8 {
		time.Sleep(5 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	if err := wrong.Load(); err != nil {
		t.Fatal(err)
	}

	// During the outage, time passes; everything refuses.
	clk.Add(30 * time.Second)
	for name, f := range map[string]func() error{
		"join":          func() error { _, err := room.Join(ctx, person(1000)); return err },
		"join again":    func() error { _, err := room.Join(ctx, person(1)); return err },
		"status":        func() error { _, err := room.Status(ctx, person(2)); return err },
		"done":          func() error { _, err := room.Done(ctx, person(3)); return err },
		"admit (stats)": func() error { _, err := room.Stats(ctx); return err },
	} {
		if err := f(); !errors.Is(err, admission.ErrUnavailable) {
			t.Fatalf("%s during the outage: %v, want ErrUnavailable", name, err)
		}
	}
	h := room.Handler(identityFromHeader)
	for _, c := range []call{
		{method: "POST", path: "/q/join", user: person(1000)},
		{path: "/q/status", user: person(5)},
	} {
		w := do(t, h, c)
		wantProblem(t, w, http.StatusServiceUnavailable, "outage "+c.path)
		if w.Header().Get("Retry-After") == "" {
			t.Fatalf("%s: no Retry-After", c.path)
		}
	}
	// A pass handed out before the outage still opens the booking form:
	// verification needs no store.
	if w := do(t, room.Protect(booked, identityFromHeader), call{path: "/book", user: holder, pass: before[holder].Pass}); w.Code != 200 {
		t.Fatalf("valid pass during the outage: %d %s", w.Code, w.Body)
	}

	srv.Restart()
	// go-redis keeps answering with the last dial error until its
	// background redial succeeds (about a second): still closed, then open.
	var after admission.Stats
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		if after, err = room.Stats(ctx); err == nil {
			break
		}
		if !errors.Is(err, admission.ErrUnavailable) || time.Now().After(deadline) {
			t.Fatalf("after restart: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if after.Joined != stats.Joined || after.Early != stats.Early {
		t.Fatalf("after restart: %+v, before %+v", after.Line, stats.Line)
	}
	// The line is a function of time: the people owed during the outage
	// are called at their instants (no pass was signed for anyone while
	// the store was down), and the whole stays within rate x T + burst.
	if limit := uint64(clk.Now().Sub(opening)/time.Second) + 2; after.Admitted > limit {
		t.Fatalf("admitted %d by %v after the opening: more than rate x T + burst (%d)", after.Admitted, clk.Now().Sub(opening), limit)
	}
	for k := range people {
		st := mustStatus(t, room, person(k))
		b := before[person(k)]
		if st.Index != b.Index || st.Place != b.Place {
			t.Fatalf("%s: index/place %d/%d after restart, %d/%d before", person(k), st.Index, st.Place, b.Index, b.Place)
		}
		if b.State == admission.StateAdmitted && (st.State != admission.StateAdmitted || !st.PassExpires.Equal(b.PassExpires)) {
			t.Fatalf("%s: admitted before the crash, now %+v", person(k), st)
		}
	}
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}
