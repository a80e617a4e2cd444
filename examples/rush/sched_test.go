package main

import (
	"context"
	"errors"
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
	batch := []event{{p: 1, act: actPoll}, {p: 2, act: actHold}, {p: 3, act: actReturn}, {p: 4, act: actArrive}, {p: 5, act: actPoll}, {p: 6, act: actConfirm}}
	n := callsFirst(batch)
	if n != 3 {
		t.Fatalf("callsFirst = %d, want 3", n)
	}
	seen := map[int32]bool{}
	for i, e := range batch {
		seen[e.p] = true
		if poll := e.act == actPoll || e.act == actReturn; poll != (i >= n) {
			t.Errorf("event %d (%v) on the wrong side of %d", i, e, n)
		}
	}
	if len(seen) != 6 {
		t.Errorf("events lost or doubled: %v", batch)
	}
}

// TestRunTickRunsEveryEvent runs ticks of every size on a pool and checks
// each event ran once, whichever worker (or the caller) took it.
func TestRunTickRunsEveryEvent(t *testing.T) {
	ran := make([]int, 200)
	var mu sync.Mutex
	p := newPool(&sim{cfg: &config{Tick: time.Second}}, 8, 1, func(w *worker, e event) {
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
