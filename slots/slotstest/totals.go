package slotstest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/slots"
)

// totalsAgree checks, for a store that is a slots.Totaler, that Totals of
// campaign c at now is what adding up Availability of every slot at now
// gives. It returns nil for a store without Totals.
func totalsAgree(ctx context.Context, s slots.Store, now time.Time, c slots.Campaign) error {
	tt, ok := s.(slots.Totaler)
	if !ok {
		return nil
	}
	got, err := tt.Totals(ctx, now, c)
	if err != nil {
		return fmt.Errorf("Totals: %w", err)
	}
	a, err := s.Availability(ctx, now, c, nil)
	if err != nil {
		return fmt.Errorf("Availability(all): %w", err)
	}
	var want slots.Totals
	for _, v := range a {
		want.Add(v)
	}
	if got != want {
		return fmt.Errorf("Totals at %v = %+v, but the slots add up to %+v", now.Sub(Opening), got, want)
	}
	return nil
}

// totals checks Totals against Availability (see totalsAgree).
func (x h) totals(c slots.Campaign, now time.Time) {
	x.t.Helper()
	if err := totalsAgree(x.t.Context(), x.s, now, c); err != nil {
		x.t.Fatal(err)
	}
}

// wantTotals checks a Totaler's Totals of c at now against want, and
// against Availability.
func (x h) wantTotals(c slots.Campaign, now time.Time, want slots.Totals) {
	x.t.Helper()
	tt := x.s.(slots.Totaler)
	got, err := tt.Totals(x.t.Context(), now, c)
	if err != nil {
		x.t.Fatalf("Totals: %v", err)
	}
	if got != want {
		x.t.Fatalf("Totals at %v = %+v, want %+v", now.Sub(Opening), got, want)
	}
	x.totals(c, now)
}

// testTotals walks a campaign through every change of its counts (define,
// hold, confirm, cancel of a hold and of a booking, move, expiry of many
// holds at once, a resize, a refused call) and checks Totals after each,
// for a store that is a slots.Totaler. The other tests check Totals
// against Availability wherever they check counts.
func testTotals(t *testing.T, s slots.Store) {
	if _, ok := s.(slots.Totaler); !ok {
		t.Skip("the store is not a slots.Totaler")
	}
	x := h{t, s}
	x.wantTotals(c1, Opening, slots.Totals{})
	x.define(c1, Opening, slots.Slot{ID: "a", Capacity: 3}, slots.Slot{ID: "b", Capacity: 2})
	x.wantTotals(c1, Opening, slots.Totals{Capacity: 5, Free: 5})
	x.wantTotals(c2, Opening, slots.Totals{})

	h1 := x.hold(c1, Opening, "a", "p1", time.Minute)
	h2 := x.hold(c1, Opening, "a", "p2", time.Minute)
	x.wantTotals(c1, Opening, slots.Totals{Capacity: 5, Held: 2, Free: 3})
	x.confirm(c1, Opening, h1.ID, "p1")
	x.wantTotals(c1, Opening, slots.Totals{Capacity: 5, Booked: 1, Held: 1, Free: 3})
	wantErr(t, "Cancel of a hold", x.cancelErr(c1, Opening, h2.ID, "p2"), nil)
	x.wantTotals(c1, Opening, slots.Totals{Capacity: 5, Booked: 1, Free: 4})
	if _, err := x.moveErr(c1, Opening, h1.ID, "p1", "b"); err != nil {
		t.Fatalf("Move: %v", err)
	}
	x.wantTotals(c1, Opening, slots.Totals{Capacity: 5, Booked: 1, Free: 4})
	wantErr(t, "Cancel of a booking", x.cancelErr(c1, Opening, h1.ID, "p1"), nil)
	x.wantTotals(c1, Opening, slots.Totals{Capacity: 5, Free: 5})

	// A refused call changes nothing.
	x.hold(c1, Opening, "b", "p3", time.Minute)
	x.hold(c1, Opening, "b", "p4", time.Minute)
	wantErr(t, "Hold on a full slot", x.holdErr(c1, Opening, "b", "p5", time.Minute), slots.ErrFull)
	wantErr(t, "Hold of a second place", x.holdErr(c1, Opening, "a", "p3", time.Minute), slots.ErrAlreadyBooked)
	x.wantTotals(c1, Opening, slots.Totals{Capacity: 5, Held: 2, Free: 3})

	// Resizes change capacity and free places alike; a new slot adds its
	// capacity.
	x.define(c1, Opening, slots.Slot{ID: "a", Capacity: 10}, slots.Slot{ID: "c", Capacity: 4})
	x.wantTotals(c1, Opening, slots.Totals{Capacity: 16, Held: 2, Free: 14})
	x.define(c1, Opening, slots.Slot{ID: "a", Capacity: 1})
	x.wantTotals(c1, Opening, slots.Totals{Capacity: 7, Held: 2, Free: 5})

	// Holds due expire in the first call after, Totals included, to the
	// millisecond.
	end := Opening.Add(time.Minute)
	x.wantTotals(c1, end.Add(-time.Millisecond), slots.Totals{Capacity: 7, Held: 2, Free: 5})
	x.wantTotals(c1, end, slots.Totals{Capacity: 7, Free: 7})
	later := end.Add(time.Hour)
	x.define(c1, later, slots.Slot{ID: "m", Capacity: 50})
	for i := range 50 {
		x.hold(c1, later.Add(ms(i)), "m", fmt.Sprint("mass", i), time.Minute)
	}
	x.wantTotals(c1, later.Add(time.Second), slots.Totals{Capacity: 57, Held: 50, Free: 7})
	x.wantTotals(c1, later.Add(time.Minute+ms(25)), slots.Totals{Capacity: 57, Held: 24, Free: 33})
	x.wantTotals(c1, later.Add(time.Minute+ms(50)), slots.Totals{Capacity: 57, Free: 57})

	// A bad campaign name is refused.
	_, err := s.(slots.Totaler).Totals(t.Context(), Opening, "bad campaign")
	wantErr(t, "Totals of a bad campaign name", err, slots.ErrInvalid)
}
