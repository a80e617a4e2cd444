package slotstest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/slots"
)

// Bounds of the randomised concurrent test.
const (
	concWorkers  = 200 // goroutines
	concOps      = 15  // operations per goroutine
	concPersons  = 60
	concSlots    = 4
	concCapacity = 4
	concTimeout  = 20 * time.Second // the run stops early past this
)

// class names the sentinel an error matches, for comparing outcomes.
func class(err error) string {
	for _, s := range []error{slots.ErrInvalid, slots.ErrUnavailable, slots.ErrFull, slots.ErrAlreadyBooked,
		slots.ErrHoldExpired, slots.ErrNotFound, slots.ErrConflict, slots.ErrInUse} {
		if errors.Is(err, s) {
			return s.Error()
		}
	}
	if err != nil {
		return "unclassified: " + err.Error()
	}
	return "ok"
}

// sent is a completed request, kept so it can be retried.
type sent struct {
	do    func(ctx context.Context, now time.Time) string // runs the request again; renders its result
	first string
	key   string
}

func renderHold(hd slots.Hold, err error) string {
	if err != nil {
		return class(err)
	}
	return fmt.Sprintf("hold %s %q %q %d %d", hd.ID, hd.Slot, hd.Person, hd.Created.UnixMilli(), hd.Expires.UnixMilli())
}

func renderBooking(b slots.Booking, err error) string {
	if err != nil {
		return class(err)
	}
	return fmt.Sprintf("booking %s %q %q %d %d", b.ID, b.Slot, b.Person, b.Created.UnixMilli(), b.Confirmed.UnixMilli())
}

// testConcurrency runs hundreds of goroutines holding, confirming,
// cancelling, moving, retrying and conflicting on a few small slots, with a
// virtual clock that moves so holds expire during the run. A sampler checks
// the invariants meanwhile; afterwards the set of bookings must be exactly
// the confirmed ones minus the cancelled ones.
func testConcurrency(t *testing.T, s slots.Store) {
	x := h{t, s}
	// Operations run to completion (an outcome cut short by a cancelled
	// context would be unknown); the time bound is checked between them.
	ctx := t.Context()
	deadline := time.Now().Add(concTimeout)
	var stopped atomic.Bool
	over := func() bool {
		if time.Now().After(deadline) {
			stopped.Store(true)
		}
		return stopped.Load()
	}

	ids := make([]string, concSlots)
	defs := make([]slots.Slot, concSlots)
	for i := range ids {
		ids[i] = fmt.Sprintf("s{%d}:", i)
		defs[i] = slots.Slot{ID: ids[i], Capacity: concCapacity}
	}
	x.define(c1, Opening, defs...)
	persons := make([]string, concPersons)
	for i := range persons {
		persons[i] = fmt.Sprintf("person:%d", i)
	}

	// The virtual clock: every operation takes the next millisecond.
	var clk atomic.Int64
	now := func() time.Time { return Opening.Add(ms(int(clk.Add(1)))) }

	var (
		mu        sync.Mutex
		done      []sent
		known     = make(map[string]string) // person -> last ID seen (may be stale)
		confirmed = make(map[string]bool)   // IDs some Confirm succeeded on
		cancelled = make(map[string]bool)   // IDs some Cancel succeeded on
		failures  atomic.Int64
	)
	fail := func(format string, a ...any) {
		if failures.Add(1) <= 10 {
			t.Errorf(format, a...)
		}
	}
	expect := func(op, got string, allowed ...error) {
		if got == "ok" || len(got) > 8 && (got[:5] == "hold " || got[:8] == "booking ") {
			return
		}
		for _, a := range allowed {
			if got == a.Error() {
				return
			}
		}
		fail("%s: unexpected outcome %q", op, got)
	}
	remember := func(sn sent) {
		mu.Lock()
		done = append(done, sn)
		mu.Unlock()
	}
	var keyN atomic.Int64
	newKey := func() string { return fmt.Sprintf("ck{%d}", keyN.Add(1)) }

	// Operations. Each returns the rendering of its result and a way to
	// send it again.
	holdOp := func(rng *rand.Rand) sent {
		p := persons[rng.IntN(len(persons))]
		req := slots.HoldRequest{Campaign: c1, Slot: ids[rng.IntN(len(ids))], Person: p,
			TTL: ms(20 + rng.IntN(400)), Key: newKey()}
		do := func(ctx context.Context, now time.Time) string {
			hd, err := s.Hold(ctx, now, req)
			if err == nil {
				mu.Lock()
				known[p] = hd.ID
				mu.Unlock()
			}
			return renderHold(hd, err)
		}
		return sent{do: do, key: req.Key}
	}
	idOf := func(rng *rand.Rand) (string, string) {
		p := persons[rng.IntN(len(persons))]
		mu.Lock()
		id := known[p]
		mu.Unlock()
		if id == "" || rng.IntN(20) == 0 {
			id = "AAAAAAAAAAAAAAAAAAAAAAAAAA"
		}
		return p, id
	}
	confirmOp := func(rng *rand.Rand) sent {
		p, id := idOf(rng)
		req := slots.ConfirmRequest{Campaign: c1, HoldID: id, Person: p, Key: newKey()}
		do := func(ctx context.Context, now time.Time) string {
			b, err := s.Confirm(ctx, now, req)
			if err == nil {
				mu.Lock()
				confirmed[b.ID] = true
				mu.Unlock()
			}
			return renderBooking(b, err)
		}
		return sent{do: do, key: req.Key}
	}
	cancelOp := func(rng *rand.Rand) sent {
		p, id := idOf(rng)
		req := slots.CancelRequest{Campaign: c1, ID: id, Person: p, Key: newKey()}
		do := func(ctx context.Context, now time.Time) string {
			err := s.Cancel(ctx, now, req)
			if err == nil {
				mu.Lock()
				cancelled[id] = true
				mu.Unlock()
			}
			return class(err)
		}
		return sent{do: do, key: req.Key}
	}
	moveOp := func(rng *rand.Rand) sent {
		p, id := idOf(rng)
		req := slots.MoveRequest{Campaign: c1, ID: id, Person: p, To: ids[rng.IntN(len(ids))], Key: newKey()}
		do := func(ctx context.Context, now time.Time) string {
			return renderBooking(s.Move(ctx, now, req))
		}
		return sent{do: do, key: req.Key}
	}
	allowed := map[string][]error{
		"hold":    {slots.ErrFull, slots.ErrAlreadyBooked},
		"confirm": {slots.ErrNotFound, slots.ErrHoldExpired},
		"cancel":  {slots.ErrNotFound, slots.ErrHoldExpired},
		"move":    {slots.ErrNotFound, slots.ErrFull},
	}

	// Invariant samples are taken by a sampler goroutine and by one worker
	// in four, midway through its operations, so that some are taken while
	// the run is at full speed whatever the timing.
	var samples atomic.Int64
	sample := func() bool {
		at := now()
		if sn, ok := s.(slots.Snapshotter); ok {
			snap, err := sn.Snapshot(ctx, at, c1)
			if err != nil {
				fail("Snapshot during the run: %v", err)
				return false
			}
			if err := snap.Check(); err != nil {
				fail("invariants broken at %v: %v", at.Sub(Opening), err)
			}
		} else {
			a, err := s.Availability(ctx, at, c1, nil)
			if err != nil {
				fail("Availability during the run: %v", err)
				return false
			}
			for _, v := range a {
				if v.Booked+v.Held > v.Capacity || v.Booked < 0 || v.Held < 0 {
					fail("slot %q at %v: %d booked + %d held, capacity %d", v.Slot, at.Sub(Opening), v.Booked, v.Held, v.Capacity)
				}
			}
		}
		if tt, ok := s.(slots.Totaler); ok {
			tot, err := tt.Totals(ctx, at, c1)
			if err != nil {
				fail("Totals during the run: %v", err)
				return false
			}
			if tot.Booked+tot.Held+tot.Free != tot.Capacity || tot.Booked < 0 || tot.Held < 0 || tot.Free < 0 {
				fail("Totals at %v: %+v do not add up", at.Sub(Opening), tot)
			}
		}
		samples.Add(1)
		return true
	}
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			if !sample() {
				return
			}
		}
	})

	var workers sync.WaitGroup
	for w := range concWorkers {
		workers.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 0x5eed))
			for i := range concOps {
				if over() {
					return
				}
				if w%4 == 0 && i == concOps/2 {
					sample()
				}
				r := rng.IntN(100)
				var op string
				var sn sent
				switch {
				case r < 35:
					op, sn = "hold", holdOp(rng)
				case r < 60:
					op, sn = "confirm", confirmOp(rng)
				case r < 70:
					op, sn = "cancel", cancelOp(rng)
				case r < 82:
					op, sn = "move", moveOp(rng)
				case r < 92:
					// Retry a completed request: the first result comes back.
					mu.Lock()
					if len(done) == 0 {
						mu.Unlock()
						continue
					}
					old := done[rng.IntN(len(done))]
					mu.Unlock()
					if got := old.do(ctx, now()); got != old.first {
						fail("retry of %s returned %q, first result was %q", old.key, got, old.first)
					}
					continue
				case r < 95:
					// Reuse a completed key for a different request.
					mu.Lock()
					if len(done) == 0 {
						mu.Unlock()
						continue
					}
					old := done[rng.IntN(len(done))]
					mu.Unlock()
					_, err := s.Lookup(ctx, now(), c1, persons[0])
					if err != nil && !errors.Is(err, slots.ErrNotFound) {
						fail("Lookup: %v", err)
					}
					_, err = s.Hold(ctx, now(), slots.HoldRequest{Campaign: c1, Slot: ids[0], Person: "conflict", TTL: time.Second, Key: old.key})
					if !errors.Is(err, slots.ErrConflict) {
						fail("different request under used key %s: %v, want ErrConflict", old.key, err)
					}
					continue
				default:
					p := persons[rng.IntN(len(persons))]
					e, err := s.Lookup(ctx, now(), c1, p)
					switch {
					case errors.Is(err, slots.ErrNotFound):
					case err != nil:
						fail("Lookup: %v", err)
					case (e.Hold == nil) == (e.Booking == nil):
						fail("Lookup returned %+v", e)
					case e.Hold != nil:
						mu.Lock()
						known[p] = e.Hold.ID
						mu.Unlock()
					default:
						mu.Lock()
						known[p] = e.Booking.ID
						mu.Unlock()
					}
					continue
				}
				if rng.IntN(8) == 0 {
					// The same request twice at once: one effect, one result.
					var a, b string
					var pair sync.WaitGroup
					pair.Go(func() { a = sn.do(ctx, now()) })
					pair.Go(func() { b = sn.do(ctx, now()) })
					pair.Wait()
					if a != b {
						fail("%s sent twice at once got %q and %q", op, a, b)
					}
					sn.first = a
				} else {
					sn.first = sn.do(ctx, now())
				}
				expect(op, sn.first, allowed[op]...)
				remember(sn)
			}
		})
	}
	workers.Wait()
	close(stop)
	sampler.Wait()
	if stopped.Load() {
		t.Logf("run stopped early by its %v bound", concTimeout)
	}
	if failures.Load() > 0 {
		t.FailNow()
	}
	if samples.Load() < concWorkers/4 && !stopped.Load() {
		t.Fatalf("only %d invariant samples were taken during the run", samples.Load())
	}

	// Afterwards: the bookings are exactly the confirmed minus the
	// cancelled, each findable by its person, counted in its slot, and the
	// campaign's totals are the slots' counts added up.
	end := now()
	if err := totalsAgree(t.Context(), s, end, c1); err != nil {
		t.Fatal(err)
	}
	want := make(map[string]bool)
	for id := range confirmed {
		if !cancelled[id] {
			want[id] = true
		}
	}
	got := make(map[string]bool)
	liveHolds := 0
	for _, p := range persons {
		e, err := s.Lookup(t.Context(), end, c1, p)
		switch {
		case errors.Is(err, slots.ErrNotFound):
		case err != nil:
			t.Fatalf("Lookup: %v", err)
		case e.Booking != nil:
			got[e.Booking.ID] = true
		case e.Hold != nil:
			liveHolds++
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("bookings found by person = %v,\nwant confirmed minus cancelled = %v", got, want)
	}
	a := x.avail(c1, end)
	booked, held := 0, 0
	for _, v := range a {
		if v.Booked+v.Held > v.Capacity {
			t.Fatalf("slot %q over capacity at the end: %+v", v.Slot, v)
		}
		booked += v.Booked
		held += v.Held
	}
	if booked != len(want) || held != liveHolds {
		t.Fatalf("slots count %d bookings and %d holds; persons have %d bookings and %d holds", booked, held, len(want), liveHolds)
	}
	if sn, ok := s.(slots.Snapshotter); ok {
		snap, err := sn.Snapshot(t.Context(), end, c1)
		if err != nil {
			t.Fatal(err)
		}
		if err := snap.Check(); err != nil {
			t.Fatalf("final state: %v", err)
		}
		ids := make(map[string]bool)
		for _, b := range snap.Bookings {
			ids[b.ID] = true
		}
		if fmt.Sprint(ids) != fmt.Sprint(want) {
			t.Fatalf("snapshot bookings = %v, want %v", ids, want)
		}
	}
	// Later still, every hold has expired; the bookings stay.
	later := end.Add(time.Hour)
	for _, v := range x.avail(c1, later) {
		if v.Held != 0 {
			t.Fatalf("slot %q still has %d holds an hour after the run", v.Slot, v.Held)
		}
		booked -= v.Booked
	}
	if booked != 0 {
		t.Fatalf("bookings changed as holds expired")
	}
	t.Logf("%d requests, %d bookings, %d holds at the end, %d invariant samples", len(done), len(want), liveHolds, samples.Load())
}
