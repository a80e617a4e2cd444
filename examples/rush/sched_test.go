package main

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestReqCtx holds the lazy request context to context.WithDeadline's
// behaviour: the deadline is there before anyone asks for Done, Done
// closes at it, release cancels, the poll mark and the parent's values and
// cancellation come through.
func TestReqCtx(t *testing.T) {
	type key struct{}
	parent, cancelParent := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	defer cancelParent()

	dl := time.Now().Add(time.Hour)
	c := newReqCtx(parent, dl)
	if d, ok := c.Deadline(); !ok || !d.Equal(dl) {
		t.Fatalf("Deadline = %v, %v; want %v, true", d, ok, dl)
	}
	if c.Err() != nil || c.Value(key{}) != "v" || c.Value(pollKey{}) != nil {
		t.Fatalf("fresh: Err %v, value %v, poll %v", c.Err(), c.Value(key{}), c.Value(pollKey{}))
	}
	if asPoll(c) != context.Context(c) || c.Value(pollKey{}) != true {
		t.Fatal("asPoll on a request's context should mark it, not wrap it")
	}
	// A context derived from it (a store call's budget) is cancelled
	// with it.
	child, cancelChild := context.WithTimeout(c, time.Hour)
	defer cancelChild()
	c.release()
	select {
	case <-child.Done():
	case <-time.After(time.Second):
		t.Fatal("child not cancelled when the request ended")
	}
	if !errors.Is(c.Err(), context.Canceled) {
		t.Fatalf("after release: Err = %v", c.Err())
	}

	// Past its deadline, with nobody having asked for Done yet.
	c = newReqCtx(parent, time.Now().Add(-time.Millisecond))
	if !errors.Is(c.Err(), context.DeadlineExceeded) {
		t.Fatalf("past deadline: Err = %v", c.Err())
	}
	// Done asked for before the deadline closes at it.
	c = newReqCtx(parent, time.Now().Add(20*time.Millisecond))
	select {
	case <-c.Done():
		if !errors.Is(c.Err(), context.DeadlineExceeded) {
			t.Fatalf("at deadline: Err = %v", c.Err())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed at the deadline")
	}
	c.release()
	// Done asked for only after release: closed, Canceled.
	c = newReqCtx(parent, time.Now().Add(time.Hour))
	c.release()
	select {
	case <-c.Done():
	default:
		t.Fatal("Done after release should be closed")
	}
	// The parent's cancellation comes through, lazily or not.
	c = newReqCtx(parent, time.Now().Add(time.Hour))
	cancelParent()
	if !errors.Is(c.Err(), context.Canceled) {
		t.Fatalf("parent cancelled: Err = %v", c.Err())
	}
	<-c.Done()
	c.release()
}

func TestCallsFirst(t *testing.T) {
	batch := []event{{p: 1, act: actPoll}, {p: 2, act: actHold}, {p: 3, act: actReturn}, {p: 4, act: actArrive}, {p: 5, act: actPoll}, {p: 6, act: actConfirm},
		{p: 7, act: actJoin2}, {p: 8, act: actConfirmRetry}, {p: 9, act: actPoll}}
	n := callsFirst(batch)
	if n != 5 {
		t.Fatalf("callsFirst = %d, want 5", n)
	}
	seen := map[int32]bool{}
	for i, e := range batch {
		seen[e.p] = true
		if poll := e.act == actPoll || e.act == actReturn; poll != (i >= n) {
			t.Errorf("event %d (%v) on the wrong side of %d", i, e, n)
		}
		// Confirms (followed by their Done) lead.
		if chain := e.act == actConfirm || e.act == actConfirmRetry; chain != (i < 2) {
			t.Errorf("event %d (%v): confirms should be the first 2", i, e)
		}
	}
	if len(seen) != 9 {
		t.Errorf("events lost or doubled: %v", batch)
	}
}

// TestStripedCount: adds from many goroutines, with any stripe number
// (negative too), all count.
func TestStripedCount(t *testing.T) {
	var c stripedCount
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				c.Add(i*7 - g*100)
			}
		}()
	}
	wg.Wait()
	if n := c.Load(); n != 8000 {
		t.Fatalf("Load = %d, want 8000", n)
	}
}

// TestRunTickRunsEveryEvent runs ticks of every size on a pool and checks
// each event ran once, whichever worker (or the caller) took it.
func TestRunTickRunsEveryEvent(t *testing.T) {
	ran := make([]int, 200)
	var mu sync.Mutex
	p := newPool(&sim{cfg: &config{Tick: time.Second}}, 0, 8, 1, func(w *worker, e event) {
		mu.Lock()
		ran[e.p]++
		mu.Unlock()
	})
	defer p.stop()
	next := int32(0)
	for _, size := range []int{1, 2, 3, 17, 40, 137} {
		var batch []event
		for i := 0; i < size; i++ {
			act := actPoll
			if i%5 == 0 {
				act = actHold
			}
			batch = append(batch, event{p: next, act: act})
			next++
		}
		p.runTick(batch, 1, time.Time{}, 0)
	}
	for i := range int(next) {
		if ran[i] != 1 {
			t.Fatalf("event %d ran %d times", i, ran[i])
		}
	}
}

func TestPersonNumber(t *testing.T) {
	for name, want := range map[string]int{
		"p0000000": 0, "p0000042": 42, "p1849999": 1849999, "p12345678": 12345678,
		"p000004": -1, "q0000042": -1, "p00000x2": -1, "": -1, "p-000001": -1,
	} {
		if got := personNumber(name); got != want {
			t.Errorf("personNumber(%q) = %d, want %d", name, got, want)
		}
	}
	cr := &crowd{people: []*person{{name: "p0000000"}, {name: "p0000001"}}}
	if cr.personIndex("p0000001") != 1 || cr.personIndex("p0000002") != -1 {
		t.Error("personIndex")
	}
}

// TestReqReuse: a worker's next request reuses the last one's context
// only when nothing can still hold it (released, Done never asked for),
// and a reused context is as new: its own deadline, no poll mark, not
// cancelled. One whose Done was asked for (a store call's budget, a
// waiter) is never handed out again.
func TestReqReuse(t *testing.T) {
	w := &worker{}
	bg := context.Background()
	d1 := time.Now().Add(time.Hour)
	c1 := w.req(bg, d1)
	asPoll(c1)
	c1.release()
	d2 := d1.Add(time.Minute)
	c2 := w.req(bg, d2)
	if c2 != c1 {
		t.Fatal("a released context nobody waited on was not reused")
	}
	if d, _ := c2.Deadline(); !d.Equal(d2) || c2.Err() != nil || c2.Value(pollKey{}) != nil {
		t.Fatalf("reused: deadline %v (want %v), Err %v, poll %v", d, d2, c2.Err(), c2.Value(pollKey{}))
	}
	// Not released yet: a new one.
	if c3 := w.req(bg, d2); c3 == c2 {
		t.Fatal("a request's context was handed out again before its release")
	}
	c4 := w.req(bg, d2)
	done := c4.Done() // someone waits on it
	c4.release()
	<-done
	c5 := w.req(bg, d2)
	if c5 == c4 {
		t.Fatal("a context whose Done was asked for was reused")
	}
	if c4.Err() == nil {
		t.Fatal("the released context reads as live")
	}
	c5.release()
}

// TestCalendar drives the calendar and a plain map-and-sort model with the
// same random adds and pops: the same ticks come out in the same order
// with the same events, events past the limit are never popped but keep
// peek reporting the earliest of them, and adding before the current tick
// (never done by the simulator, which schedules forward) is still found.
func TestCalendar(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const limit = 500
	c := newCalendar(limit)
	model := map[int64][]event{}
	add := func(tick int64, e event) {
		c.add(tick, e)
		model[tick] = append(model[tick], e)
	}
	for i := range 2000 {
		add(r.Int64N(700), event{p: int32(i)})
	}
	now := int64(0)
	for step := 0; ; step++ {
		var ticks []int64
		for k := range model {
			ticks = append(ticks, k)
		}
		slices.Sort(ticks)
		got, ok := c.peek()
		if len(ticks) == 0 {
			if ok {
				t.Fatalf("peek = %d, true on an empty calendar", got)
			}
			break
		}
		if !ok || got != ticks[0] {
			t.Fatalf("step %d: peek = %d, %v; want %d", step, got, ok, ticks[0])
		}
		if got > limit {
			// What is left is past the limit: the run stops here.
			for _, k := range ticks {
				if k <= limit {
					t.Fatalf("tick %d within the limit left behind", k)
				}
			}
			break
		}
		tick, batch := c.pop()
		if tick != ticks[0] || !slices.Equal(batch, model[tick]) {
			t.Fatalf("step %d: pop = %d, %d events; want %d, %d", step, tick, len(batch), ticks[0], len(model[ticks[0]]))
		}
		delete(model, tick)
		c.recycle(batch)
		now = tick
		// Follow-ups, as workers make them; now and then one in the past.
		for range r.IntN(4) {
			at := now + 1 + r.Int64N(80)
			if r.IntN(50) == 0 {
				at = max(0, now-r.Int64N(10))
			}
			add(at, event{p: int32(r.IntN(1 << 20))})
		}
	}
}

// TestStatusByIndex: a poll by crowd index presents the ticket the
// person's join left (the room answers from its snapshot: no store call),
// gives the answer the poll by name gives, and allocates nothing; without
// the index (a name not in the crowd) no ticket is presented and the room
// asks the store.
func TestStatusByIndex(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t, "-people", "40", "-slots", "40")
	cr := newCrowd(&cfg)
	clk := newSimClock(simStartFor(&cfg, openingInstant))
	tg, _, cleanup, err := libFactory(ctx, &cfg, clk, openingInstant, cr)
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	lt := tg.(*libTarget)
	var idx indexedTarget = lt
	const i = 7
	name := cr.people[i].name
	if _, err := lt.Join(ctx, name); err != nil {
		t.Fatal(err)
	}
	w := &worker{}
	poll := func(i int) standing {
		rc := w.req(ctx, time.Now().Add(time.Minute))
		defer rc.release()
		var jar *ticketJar
		if i >= 0 {
			jar = &cr.people[i].ticket
		}
		st, err := idx.statusOf(rc, i, name, jar)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	calls := lt.count.pollCalls.Load()
	st := poll(i)
	if st.State != stWaiting || lt.count.pollCalls.Load() != calls {
		t.Fatalf("poll by index: state %v, %d store calls; want waiting, none", st.State, lt.count.pollCalls.Load()-calls)
	}
	byName, err := lt.Status(ctx, name)
	if err != nil || byName != st {
		t.Fatalf("by name %+v (%v), by index %+v", byName, err, st)
	}
	calls = lt.count.pollCalls.Load()
	poll(-1)
	if lt.count.pollCalls.Load() != calls+1 {
		t.Fatal("a poll without the index did not go to the store: the ticket came from elsewhere")
	}
	if !raceEnabled {
		if n := testing.AllocsPerRun(200, func() { poll(i) }); n != 0 {
			t.Errorf("a poll by index allocates %v times", n)
		}
	}
}

// TestTuneGC: the run's collector settings apply only where the
// environment sets none, and the memory limit is a third of the memory.
func TestTuneGC(t *testing.T) {
	old := debug.SetGCPercent(100)
	oldLimit := debug.SetMemoryLimit(-1)
	defer func() {
		debug.SetGCPercent(old)
		debug.SetMemoryLimit(oldLimit)
	}()
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	if p, l := tuneGC(getenv, 3<<30); p != gcPercent || l != 1<<30 {
		t.Fatalf("tuneGC = %d, %d; want %d, %d", p, l, gcPercent, 1<<30)
	}
	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Errorf("GOGC in force %d, want %d", got, gcPercent)
	}
	if got := debug.SetMemoryLimit(-1); got != 1<<30 {
		t.Errorf("memory limit in force %d, want %d", got, 1<<30)
	}
	env["GOGC"], env["GOMEMLIMIT"] = "50", "1GiB"
	debug.SetMemoryLimit(math.MaxInt64)
	if p, l := tuneGC(getenv, 3<<30); p != -1 || l != 0 {
		t.Fatalf("with GOGC and GOMEMLIMIT set: tuneGC = %d, %d; want -1, 0", p, l)
	}
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC changed to %d despite the environment", got)
	}
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("memory limit changed to %d despite the environment", got)
	}
	if runtime.GOOS == "linux" && memTotal() <= 0 {
		t.Error("memTotal found no MemTotal in /proc/meminfo")
	}
}

// TestReqCtxRandomised runs many requests at once on the watched request
// contexts: random deadlines (past, a few milliseconds, an hour), Done
// asked for or not, a derived context (AfterFunc) or not, released at
// random moments, and the parent of some cancelled midway. Every request
// must end as context.WithDeadline's would: Done closed once Err is set
// and Err set once Done is closed; a deadline reached closes Done (within
// a generous bound) with DeadlineExceeded; release closes it with
// Canceled; the parent's cancellation comes through; a derived context
// ends with it; and once every request is over the watch holds none and
// its goroutine stops.
func TestReqCtxRandomised(t *testing.T) {
	const (
		goroutines = 16
		each       = 300
		bound      = 2 * time.Second // generous: the watch looks every watchEvery
	)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			parent, cancelParent := context.WithCancel(context.Background())
			defer cancelParent()
			w := &worker{}
			for i := range each {
				var deadline time.Time
				switch rng.IntN(3) {
				case 0:
					deadline = time.Now().Add(-time.Millisecond)
				case 1:
					deadline = time.Now().Add(time.Duration(1+rng.IntN(8)) * time.Millisecond)
				default:
					deadline = time.Now().Add(time.Hour)
				}
				c := w.req(parent, deadline)
				var done <-chan struct{}
				if rng.IntN(2) == 0 {
					done = c.Done()
				}
				var child context.Context
				if rng.IntN(3) == 0 {
					var cancelChild context.CancelFunc
					child, cancelChild = context.WithTimeout(c, time.Hour)
					defer cancelChild() // at the goroutine's end; it ends with c anyway
				}
				if g%4 == 0 && i == each/2 {
					cancelParent()
				}
				if done != nil {
					select {
					case <-done:
						if c.Err() == nil {
							t.Errorf("Done closed with Err nil")
						}
					default:
					}
					if err := c.Err(); err != nil {
						select {
						case <-done:
						default:
							t.Errorf("Err %v with Done open", err)
						}
					}
				}
				// Wait out a short deadline sometimes, before release.
				if done != nil && deadline.Before(time.Now().Add(10*time.Millisecond)) && rng.IntN(2) == 0 {
					select {
					case <-done:
						if err := c.Err(); !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
							t.Errorf("past the deadline: Err = %v", err)
						}
						if parent.Err() == nil && !errors.Is(c.Err(), context.DeadlineExceeded) {
							t.Errorf("past the deadline, parent live: Err = %v", c.Err())
						}
					case <-time.After(time.Until(deadline) + bound):
						t.Errorf("Done still open %v past the deadline", bound)
					}
				}
				c.release()
				if c.Err() == nil {
					t.Errorf("released, Err nil")
				}
				if done != nil {
					select {
					case <-done:
					default:
						t.Errorf("released, Done open")
					}
				}
				if child != nil {
					select {
					case <-child.Done():
					case <-time.After(bound):
						t.Errorf("derived context not ended %v after its parent", bound)
					}
				}
			}
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(bound)
	for {
		watch.mu.Lock()
		live, running := len(watch.live), watch.running
		watch.mu.Unlock()
		if live == 0 && !running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("every request over, and the watch holds %d (running %v)", live, running)
		}
		time.Sleep(watchEvery)
	}
}
