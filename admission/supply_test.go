package admission_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/admission"
)

// fakeSupply is a host's supply whose figures the test sets.
type fakeSupply struct {
	free, held atomic.Int64
	fail       atomic.Bool
	reads      atomic.Int64
}

func (f *fakeSupply) Places(context.Context, time.Time) (admission.Places, error) {
	f.reads.Add(1)
	if f.fail.Load() {
		return admission.Places{}, errors.New("booking store down")
	}
	return admission.Places{Free: f.free.Load(), Held: f.held.Load()}, nil
}

// scenarioSoldOut: three instances over one store never admit more people
// than places; when the places are gone waiting people hear "sold out" at
// their next poll (from the snapshot: no store call), a new join at once,
// nobody is admitted; places coming back resume the line.
func scenarioSoldOut(t *testing.T, newStore func(testing.TB) admission.Store) {
	clk := newClock(-time.Minute)
	sup := &fakeSupply{}
	sup.free.Store(5)
	cs := &countingStore{Store: newStore(t)}
	o := options(t, "sold-out", clk, func(o *admission.Options) {
		o.Rate, o.Burst, o.Supply = 600, 10, sup
		o.ClaimWindow = 2 * time.Minute
		o.RefreshInterval = 100 * time.Millisecond
	})
	rooms := instances(t, cs, o)
	tickets := map[int]string{}
	for n := range 30 {
		tickets[n] = mustJoin(t, rooms[n%3], person(n)).Ticket
	}
	// The rate would admit 10 at once and 100 over 10s; 5 places remain.
	clk.Set(opening.Add(10 * time.Second))
	var admitted []int
	for n := range 30 {
		st := mustPoll(t, rooms[n%3], person(n), tickets[n])
		if st.State == admission.StateAdmitted {
			admitted = append(admitted, n)
		}
	}
	if len(admitted) != 5 {
		t.Fatalf("admitted %v for 5 places", admitted)
	}
	// Four book (Done), one still holds; then the last place goes too.
	for _, n := range admitted[:4] {
		if _, err := rooms[0].Done(ctx, person(n)); err != nil {
			t.Fatal(err)
		}
	}
	sup.free.Store(0)
	sup.held.Store(1)
	clk.Add(time.Second)
	if st := mustPoll(t, rooms[1], person(29), tickets[29]); st.State != admission.StateWaiting {
		t.Fatalf("a hold live: %s, want waiting", st.State)
	}
	sup.held.Store(0)
	clk.Add(time.Second)
	for _, r := range rooms {
		if _, err := r.Line(ctx); err != nil { // each instance refreshes once
			t.Fatal(err)
		}
	}
	before := cs.calls.Load()
	for n := range 30 {
		if n == admitted[4] || contains(admitted[:4], n) {
			continue
		}
		st := mustPoll(t, rooms[n%3], person(n), tickets[n])
		if st.State != admission.StateSoldOut || st.ETA.Known || st.Ticket == "" {
			t.Fatalf("person %d after the sell-out: %+v", n, st)
		}
		if st.PollAfter != rooms[0].MaxPollAfter() {
			t.Fatalf("sold out: poll after %v, want %v", st.PollAfter, rooms[0].MaxPollAfter())
		}
		b, _ := json.Marshal(st)
		if !strings.Contains(string(b), `"state":"sold_out"`) {
			t.Fatalf("JSON %s", b)
		}
	}
	if c := cs.calls.Load() - before; c != 0 {
		t.Fatalf("telling 25 people sold out took %d store calls, want 0", c)
	}
	// A newcomer hears it at once, without a store call.
	if st := mustJoin(t, rooms[2], person(100)); st.State != admission.StateSoldOut || st.PollAfter <= 0 {
		t.Fatalf("join when sold out: %+v", st)
	}
	if c := cs.calls.Load() - before; c != 0 {
		t.Fatalf("a join when sold out made %d store calls", c)
	}
	if pl, err := rooms[0].Line(ctx); err != nil || pl.Supply == nil || !pl.Supply.SoldOut {
		t.Fatalf("public line: %+v, %v", pl, err)
	}
	// Sold out for a minute: nobody admitted, whatever instance asks.
	adm := mustStats(t, rooms[0]).Admitted
	for range 60 {
		clk.Add(time.Second)
		for _, r := range rooms {
			if s := mustStats(t, r); s.Admitted != adm {
				t.Fatalf("admitted %d while sold out (was %d)", s.Admitted, adm)
			}
		}
	}
	// The last holder's session lapses without a booking: one place back.
	// A supply that cannot be read meanwhile lets nobody in.
	sup.fail.Store(true)
	clk.Add(time.Second)
	if s := mustStats(t, rooms[1]); s.Admitted != adm || !s.Supply.SoldOut() {
		t.Fatalf("supply unreadable: %+v", s.Line)
	}
	sup.fail.Store(false)
	sup.free.Store(1)
	clk.Add(time.Second)
	s := mustStats(t, rooms[2])
	if s.Admitted != adm+1 || s.Supply.SoldOut() {
		t.Fatalf("a place back: %+v, want one more admitted", s.Line)
	}
	waiting := 0
	for n := range 30 {
		if contains(admitted, n) {
			continue
		}
		switch st := mustPoll(t, rooms[n%3], person(n), tickets[n]); st.State {
		case admission.StateWaiting, admission.StateAdmitted:
			waiting++
		default:
			t.Fatalf("person %d after places came back: %s", n, st.State)
		}
	}
	if waiting != 25 {
		t.Fatalf("%d people back in line, want 25", waiting)
	}
}

func contains(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func TestSupplyOptions(t *testing.T) {
	for _, f := range []float64{-1, admission.MaxOverbooking + 1} {
		_, err := admission.NewRoom(admission.NewMemoryStore(), options(t, "o", newClock(0), func(o *admission.Options) { o.Overbooking = f }))
		if err == nil {
			t.Fatalf("Overbooking %v accepted", f)
		}
	}
}

// TestOverbooking: at a factor of 1.5, 4 free places let 6 people in.
func TestOverbooking(t *testing.T) {
	clk := newClock(-time.Second)
	sup := &fakeSupply{}
	sup.free.Store(4)
	r := newRoom(t, admission.NewMemoryStore(), options(t, "ob", clk, func(o *admission.Options) {
		o.Rate, o.Burst, o.Supply, o.Overbooking = 600, 10, sup, 1.5
		o.ClaimWindow = time.Hour // nobody lapses
	}))
	for n := range 20 {
		mustJoin(t, r, person(n))
	}
	mustStats(t, r) // the reading, before the opening
	clk.Set(opening.Add(30 * time.Second))
	if s := mustStats(t, r); s.Admitted != 6 {
		t.Fatalf("admitted %d, want 6 (4 places x 1.5)", s.Admitted)
	}
}
