// Package slotstest is the conformance suite for implementations of
// slots.Store, in the manner of testing/fstest and x/net/nettest.
//
// A backend proves itself with one test:
//
//	func TestConformance(t *testing.T) {
//		slotstest.Run(t, func(t *testing.T) slots.Store {
//			return mystore.New(...) // a fresh, empty store
//		})
//	}
//
// Run calls newStore once per subtest and expects an empty store each time;
// for a shared server, give each store its own key prefix or namespace
// rather than starting a server per subtest. The suite drives the store
// with explicit instants (it never reads a clock), so expiry is exact and
// repeatable. It covers every operation and every error of the Store
// contract, hold expiry at the millisecond, idempotent retries (sequential
// and concurrent), identifiers chosen to break naive key layouts, and a
// randomised concurrent run of hundreds of goroutines after which, and at
// sampled instants during which, the invariants must hold. If the store
// implements slots.Snapshotter, the suite also checks the whole state with
// Snapshot.Check at each sample.
//
// MatchesMemoryStore is a differential run: the store under test and
// slots.NewMemoryStore receive the same random operation sequences at the
// same instants of one mock clock (reused and hostile identifiers and keys,
// replayed requests, jumps past the retention) and must give the same
// answer to every call and the same snapshot after each. The memory store
// keeps records for slots.DefaultRetention, so give the store under test
// the default retention.
//
// The suite takes a few seconds against a local Redis; its randomised part
// is bounded in operations and in time.
package slotstest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/slots"
)

// Opening is the opening instant the suite works from: 12 July 2021, 20:00 in
// Seoul, when the 55-59 year olds' booking opened.
var Opening = time.Date(2021, 7, 12, 20, 0, 0, 0, time.FixedZone("KST", 9*60*60))

const (
	c1 slots.Campaign = "c1"
	c2 slots.Campaign = "c2"
)

// Run runs the conformance suite against stores made by newStore, one per
// subtest.
func Run(t *testing.T, newStore func(t *testing.T) slots.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s slots.Store)
	}{
		{"DefineAndAvailability", testDefine},
		{"LargeCampaign", testLargeCampaign},
		{"Totals", testTotals},
		{"Hold", testHold},
		{"Expiry", testExpiry},
		{"ExpiryFirstCall", testExpiryFirstCall},
		{"Confirm", testConfirm},
		{"Cancel", testCancel},
		{"Move", testMove},
		{"Lookup", testLookup},
		{"Idempotency", testIdempotency},
		{"IdempotencyConcurrent", testIdempotencyConcurrent},
		{"InvalidInput", testInvalid},
		{"HostileIdentifiers", testHostile},
		{"ContextDone", testContextDone},
		{"Concurrency", testConcurrency},
		{"MatchesMemoryStore", testMatchesMemory},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			if s == nil {
				t.Fatal("newStore returned nil")
			}
			tc.fn(t, s)
		})
	}
}

var keySeq atomic.Int64

// key returns a fresh idempotency key.
func key() string { return fmt.Sprintf("key-%d", keySeq.Add(1)) }

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// h is a test helper around one store.
type h struct {
	t *testing.T
	s slots.Store
}

func (x h) define(c slots.Campaign, now time.Time, sl ...slots.Slot) {
	x.t.Helper()
	if err := x.s.DefineSlots(x.t.Context(), now, slots.DefineRequest{Campaign: c, Slots: sl, Key: key()}); err != nil {
		x.t.Fatalf("DefineSlots(%v): %v", sl, err)
	}
}

func (x h) hold(c slots.Campaign, now time.Time, slot, person string, ttl time.Duration) slots.Hold {
	x.t.Helper()
	hd, err := x.s.Hold(x.t.Context(), now, slots.HoldRequest{Campaign: c, Slot: slot, Person: person, TTL: ttl, Key: key()})
	if err != nil {
		x.t.Fatalf("Hold(%q, %q): %v", slot, person, err)
	}
	return hd
}

func (x h) holdErr(c slots.Campaign, now time.Time, slot, person string, ttl time.Duration) error {
	x.t.Helper()
	_, err := x.s.Hold(x.t.Context(), now, slots.HoldRequest{Campaign: c, Slot: slot, Person: person, TTL: ttl, Key: key()})
	return err
}

func (x h) confirm(c slots.Campaign, now time.Time, id, person string) slots.Booking {
	x.t.Helper()
	b, err := x.s.Confirm(x.t.Context(), now, slots.ConfirmRequest{Campaign: c, HoldID: id, Person: person, Key: key()})
	if err != nil {
		x.t.Fatalf("Confirm(%s): %v", id, err)
	}
	return b
}

func (x h) confirmErr(c slots.Campaign, now time.Time, id, person string) error {
	x.t.Helper()
	_, err := x.s.Confirm(x.t.Context(), now, slots.ConfirmRequest{Campaign: c, HoldID: id, Person: person, Key: key()})
	return err
}

func (x h) cancelErr(c slots.Campaign, now time.Time, id, person string) error {
	x.t.Helper()
	return x.s.Cancel(x.t.Context(), now, slots.CancelRequest{Campaign: c, ID: id, Person: person, Key: key()})
}

func (x h) moveErr(c slots.Campaign, now time.Time, id, person, to string) (slots.Booking, error) {
	x.t.Helper()
	return x.s.Move(x.t.Context(), now, slots.MoveRequest{Campaign: c, ID: id, Person: person, To: to, Key: key()})
}

func (x h) avail(c slots.Campaign, now time.Time, ids ...string) []slots.Availability {
	x.t.Helper()
	a, err := x.s.Availability(x.t.Context(), now, c, ids)
	if err != nil {
		x.t.Fatalf("Availability(%q): %v", ids, err)
	}
	return a
}

// counts checks one slot's booked and held counts (and capacity and free).
func (x h) counts(c slots.Campaign, now time.Time, slot string, capacity, booked, held int) {
	x.t.Helper()
	a := x.avail(c, now, slot)
	want := slots.Availability{Slot: slot, Capacity: capacity, Booked: booked, Held: held, Free: max(0, capacity-booked-held)}
	if len(a) != 1 || a[0] != want {
		x.t.Fatalf("Availability(%q) at %v = %+v, want %+v", slot, now.Sub(Opening), a, want)
	}
	x.totals(c, now)
}

func (x h) lookup(c slots.Campaign, now time.Time, person string) (slots.Entry, error) {
	x.t.Helper()
	e, err := x.s.Lookup(x.t.Context(), now, c, person)
	if err == nil && (e.Hold == nil) == (e.Booking == nil) {
		x.t.Fatalf("Lookup returned an Entry with Hold=%v Booking=%v: want exactly one", e.Hold, e.Booking)
	}
	return e, err
}

// state renders what can be observed of campaign c at now for the given
// persons, to check that a refused call changed nothing.
func (x h) state(c slots.Campaign, now time.Time, persons ...string) string {
	x.t.Helper()
	var b strings.Builder
	a, err := x.s.Availability(x.t.Context(), now, c, nil)
	if err != nil {
		x.t.Fatalf("Availability(all): %v", err)
	}
	fmt.Fprintf(&b, "%+v\n", a)
	x.totals(c, now)
	for _, p := range persons {
		e, err := x.s.Lookup(x.t.Context(), now, c, p)
		switch {
		case errors.Is(err, slots.ErrNotFound):
			fmt.Fprintf(&b, "%q: none\n", p)
		case err != nil:
			x.t.Fatalf("Lookup: %v", err)
		case e.Hold != nil:
			fmt.Fprintf(&b, "%q: hold %s %q %v\n", p, e.Hold.ID, e.Hold.Slot, e.Hold.Expires.UnixMilli())
		case e.Booking != nil:
			fmt.Fprintf(&b, "%q: booking %s %q\n", p, e.Booking.ID, e.Booking.Slot)
		}
	}
	if sn, ok := x.s.(slots.Snapshotter); ok {
		snap, err := sn.Snapshot(x.t.Context(), now, c)
		if err != nil {
			x.t.Fatalf("Snapshot: %v", err)
		}
		if err := snap.Check(); err != nil {
			x.t.Fatalf("Snapshot.Check: %v", err)
		}
		fmt.Fprintf(&b, "%d holds, %d bookings\n", len(snap.Holds), len(snap.Bookings))
	}
	return b.String()
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: err = %v, want %v", what, err, want)
	}
}

func sameInstant(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

func validID(id string) bool {
	if len(id) == 0 || len(id) > slots.MaxHoldIDLen {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

func testDefine(t *testing.T, s slots.Store) {
	x := h{t, s}
	ctx := t.Context()
	if a := x.avail(c1, Opening); len(a) != 0 {
		t.Fatalf("Availability of an empty campaign = %+v, want none", a)
	}
	_, err := s.Availability(ctx, Opening, c1, []string{"a"})
	wantErr(t, "Availability of an undefined slot", err, slots.ErrNotFound)

	x.define(c1, Opening, slots.Slot{ID: "b", Capacity: 0}, slots.Slot{ID: "a", Capacity: 2})
	a := x.avail(c1, Opening, "a", "b")
	want := []slots.Availability{{Slot: "a", Capacity: 2, Free: 2}, {Slot: "b", Capacity: 0}}
	if fmt.Sprint(a) != fmt.Sprint(want) {
		t.Fatalf("Availability(a, b) = %+v, want %+v", a, want)
	}
	if a := x.avail(c1, Opening, "b", "a"); a[0].Slot != "b" || a[1].Slot != "a" {
		t.Fatalf("Availability(b, a) not in the order asked: %+v", a)
	}
	if a := x.avail(c1, Opening); fmt.Sprint(a) != fmt.Sprint(want) {
		t.Fatalf("Availability(all) = %+v, want %+v sorted by ID", a, want)
	}
	_, err = s.Availability(ctx, Opening, c1, []string{"a", "nope"})
	wantErr(t, "Availability naming one undefined slot", err, slots.ErrNotFound)

	// Capacity 0 takes nobody.
	wantErr(t, "Hold on a capacity-0 slot", x.holdErr(c1, Opening, "b", "p0", time.Minute), slots.ErrFull)

	// Grow, fill, and try to shrink below use.
	x.define(c1, Opening, slots.Slot{ID: "a", Capacity: 5})
	h1 := x.hold(c1, Opening, "a", "p1", time.Minute)
	x.hold(c1, Opening, "a", "p2", time.Minute)
	x.hold(c1, Opening, "a", "p3", time.Minute)
	x.confirm(c1, Opening, h1.ID, "p1")
	x.counts(c1, Opening, "a", 5, 1, 2)
	before := x.state(c1, Opening, "p1", "p2", "p3")
	err = s.DefineSlots(ctx, Opening, slots.DefineRequest{Campaign: c1, Slots: []slots.Slot{{ID: "a", Capacity: 2}}, Key: key()})
	wantErr(t, "shrinking below booked+held", err, slots.ErrInUse)
	// All or nothing: a new slot and an impossible resize in one call.
	err = s.DefineSlots(ctx, Opening, slots.DefineRequest{Campaign: c1, Slots: []slots.Slot{{ID: "new", Capacity: 7}, {ID: "b", Capacity: 1}, {ID: "a", Capacity: 1}}, Key: key()})
	wantErr(t, "batch with one impossible resize", err, slots.ErrInUse)
	if after := x.state(c1, Opening, "p1", "p2", "p3"); after != before {
		t.Fatalf("a refused DefineSlots changed the state:\nbefore %s\nafter  %s", before, after)
	}
	_, err = s.Availability(ctx, Opening, c1, []string{"new"})
	wantErr(t, "slot from a refused batch", err, slots.ErrNotFound)
	// Shrinking to exactly what is used is allowed.
	x.define(c1, Opening, slots.Slot{ID: "a", Capacity: 3})
	x.counts(c1, Opening, "a", 3, 1, 2)
	wantErr(t, "Hold on a slot shrunk to its use", x.holdErr(c1, Opening, "a", "p4", time.Minute), slots.ErrFull)
	// Expired holds do not count against a resize.
	later := Opening.Add(time.Minute)
	x.define(c1, later, slots.Slot{ID: "a", Capacity: 1})
	x.counts(c1, later, "a", 1, 1, 0)
	// Redefining with the same capacity is allowed and changes nothing.
	x.define(c1, later, slots.Slot{ID: "a", Capacity: 1}, slots.Slot{ID: "b", Capacity: 0})
	x.counts(c1, later, "a", 1, 1, 0)

	// The largest batch, both ways.
	big := make([]slots.Slot, slots.MaxBatch)
	ids := make([]string, slots.MaxBatch)
	for i := range big {
		ids[i] = fmt.Sprintf("batch-%04d", slots.MaxBatch-i)
		big[i] = slots.Slot{ID: ids[i], Capacity: i}
	}
	x.define(c2, later, big...)
	a = x.avail(c2, later, ids...)
	for i, v := range a {
		if v.Slot != ids[i] || v.Capacity != i || v.Free != i {
			t.Fatalf("Availability of a %d-slot batch: [%d] = %+v", slots.MaxBatch, i, v)
		}
	}
	if a := x.avail(c2, later); len(a) != slots.MaxBatch || a[0].Slot != "batch-0001" {
		t.Fatalf("Availability(all) of %d slots: %d, first %+v", slots.MaxBatch, len(a), a[0])
	}
}

// testLargeCampaign: a campaign of many slots (more than one DefineSlots
// batch, and more than a Lua script can unpack at once) reads whole, both
// through Availability with no ids and through Snapshot when the store has
// it. The July 2021 rush had thousands of clinic slots per campaign.
func testLargeCampaign(t *testing.T, s slots.Store) {
	const n = 3 * slots.MaxBatch
	x := h{t, s}
	for b := 0; b < n/slots.MaxBatch; b++ {
		batch := make([]slots.Slot, slots.MaxBatch)
		for i := range batch {
			j := b*slots.MaxBatch + i
			batch[i] = slots.Slot{ID: fmt.Sprintf("clinic-%05d", j), Capacity: 1 + j%3}
		}
		x.define(c1, Opening, batch...)
	}
	x.hold(c1, Opening, "clinic-02999", "p1", time.Minute)
	a := x.avail(c1, Opening)
	if len(a) != n {
		t.Fatalf("Availability(all) of %d slots returned %d", n, len(a))
	}
	for i, v := range a {
		id := fmt.Sprintf("clinic-%05d", i)
		want := slots.Availability{Slot: id, Capacity: 1 + i%3, Free: 1 + i%3}
		if id == "clinic-02999" {
			want.Held, want.Free = 1, want.Free-1
		}
		if v != want {
			t.Fatalf("Availability(all)[%d] = %+v, want %+v", i, v, want)
		}
	}
	x.totals(c1, Opening)
	if sn, ok := s.(slots.Snapshotter); ok {
		snap, err := sn.Snapshot(t.Context(), Opening, c1)
		if err != nil {
			t.Fatalf("Snapshot of %d slots: %v", n, err)
		}
		if len(snap.Slots) != n || len(snap.Holds) != 1 {
			t.Fatalf("Snapshot: %d slots, %d holds; want %d, 1", len(snap.Slots), len(snap.Holds), n)
		}
		if err := snap.Check(); err != nil {
			t.Fatal(err)
		}
	}
}

func testHold(t *testing.T, s slots.Store) {
	x := h{t, s}
	x.define(c1, Opening, slots.Slot{ID: "a", Capacity: 2}, slots.Slot{ID: "b", Capacity: 1})
	hd := x.hold(c1, Opening, "a", "p1", 10*time.Minute)
	if !validID(hd.ID) {
		t.Fatalf("hold ID %q: want 1 to %d bytes of A-Z a-z 0-9 _ -", hd.ID, slots.MaxHoldIDLen)
	}
	if hd.Campaign != c1 || hd.Slot != "a" || hd.Person != "p1" {
		t.Fatalf("Hold = %+v", hd)
	}
	sameInstant(t, "Created", hd.Created, Opening)
	sameInstant(t, "Expires", hd.Expires, Opening.Add(10*time.Minute))
	x.counts(c1, Opening, "a", 2, 0, 1)

	// One live hold or booking per person per campaign, whatever the slot.
	wantErr(t, "second hold, same slot", x.holdErr(c1, Opening, "a", "p1", time.Minute), slots.ErrAlreadyBooked)
	wantErr(t, "second hold, other slot", x.holdErr(c1, Opening, "b", "p1", time.Minute), slots.ErrAlreadyBooked)
	// ... but campaigns are independent.
	x.define(c2, Opening, slots.Slot{ID: "a", Capacity: 1})
	x.hold(c2, Opening, "a", "p1", time.Minute)
	x.counts(c1, Opening, "a", 2, 0, 1)

	// Full.
	h2 := x.hold(c1, Opening, "a", "p2", time.Minute)
	if h2.ID == hd.ID {
		t.Fatalf("two holds share ID %q", hd.ID)
	}
	before := x.state(c1, Opening, "p1", "p2", "p3")
	wantErr(t, "hold on a full slot", x.holdErr(c1, Opening, "a", "p3", time.Minute), slots.ErrFull)
	if after := x.state(c1, Opening, "p1", "p2", "p3"); after != before {
		t.Fatalf("a refused Hold changed the state:\nbefore %s\nafter  %s", before, after)
	}
	x.counts(c1, Opening, "a", 2, 0, 2)
	// Undefined slot.
	wantErr(t, "hold on an undefined slot", x.holdErr(c1, Opening, "zz", "p3", time.Minute), slots.ErrNotFound)
	wantErr(t, "hold in an undefined campaign", x.holdErr("c3", Opening, "a", "p3", time.Minute), slots.ErrNotFound)

	// TTLs are kept to the millisecond, rounded up.
	h3 := x.hold(c1, Opening, "b", "p3", 1500*time.Microsecond)
	sameInstant(t, "Expires of a 1.5ms hold", h3.Expires, Opening.Add(2*time.Millisecond))
	sub := Opening.Add(250 * time.Microsecond)
	x.define(c2, sub, slots.Slot{ID: "b", Capacity: 1})
	h4 := x.hold(c2, sub, "b", "p4", time.Second)
	sameInstant(t, "Created with sub-millisecond now", h4.Created, Opening)
	sameInstant(t, "Expires with sub-millisecond now", h4.Expires, Opening.Add(time.Second))
}

func testExpiry(t *testing.T, s slots.Store) {
	x := h{t, s}
	x.define(c1, Opening, slots.Slot{ID: "a", Capacity: 1}, slots.Slot{ID: "b", Capacity: 5})
	ttl := 10 * time.Minute
	hd := x.hold(c1, Opening, "a", "p1", ttl)
	end := Opening.Add(ttl)
	justBefore := end.Add(-time.Millisecond)

	// Live until the last millisecond.
	wantErr(t, "hold on a full slot 1ms before expiry", x.holdErr(c1, justBefore, "a", "p2", time.Minute), slots.ErrFull)
	x.counts(c1, justBefore, "a", 1, 0, 1)
	if e, err := x.lookup(c1, justBefore, "p1"); err != nil || e.Hold == nil || e.Hold.ID != hd.ID {
		t.Fatalf("Lookup 1ms before expiry = %+v, %v; want the hold", e, err)
	}
	wantErr(t, "second hold 1ms before expiry", x.holdErr(c1, justBefore, "b", "p1", time.Minute), slots.ErrAlreadyBooked)

	// Expired at Expires exactly: the place is free, the person is free.
	x.counts(c1, end, "a", 1, 0, 0)
	_, err := x.lookup(c1, end, "p1")
	wantErr(t, "Lookup at expiry", err, slots.ErrNotFound)
	wantErr(t, "Confirm at expiry", x.confirmErr(c1, end, hd.ID, "p1"), slots.ErrHoldExpired)
	wantErr(t, "Cancel after expiry", x.cancelErr(c1, end, hd.ID, "p1"), slots.ErrHoldExpired)
	_, err = x.moveErr(c1, end, hd.ID, "p1", "b")
	wantErr(t, "Move of an expired hold", err, slots.ErrNotFound)
	x.hold(c1, end, "a", "p2", ttl)
	x.hold(c1, end, "b", "p1", ttl)
	x.counts(c1, end, "a", 1, 0, 1)
	x.counts(c1, end, "b", 5, 0, 1)
	// Once the person holds again, the old hold is simply not found.
	wantErr(t, "Confirm of an expired hold after a new one", x.confirmErr(c1, end, hd.ID, "p1"), slots.ErrNotFound)

	// Confirm one millisecond before expiry wins; the booking then never
	// expires.
	t1 := end.Add(time.Hour)
	h3 := x.hold(c1, t1, "b", "p3", time.Second)
	b := x.confirm(c1, t1.Add(time.Second-time.Millisecond), h3.ID, "p3")
	sameInstant(t, "Confirmed", b.Confirmed, t1.Add(time.Second-time.Millisecond))
	sameInstant(t, "booking Created", b.Created, t1)
	far := t1.Add(48 * time.Hour)
	if e, err := x.lookup(c1, far, "p3"); err != nil || e.Booking == nil || e.Booking.ID != h3.ID {
		t.Fatalf("Lookup of a booking two days later = %+v, %v", e, err)
	}
	x.counts(c1, far, "b", 5, 1, 0)

	// Many holds expiring at once all free their places in the next call.
	t2 := far.Add(time.Hour)
	x.define(c1, t2, slots.Slot{ID: "m", Capacity: 50})
	for i := range 50 {
		x.hold(c1, t2.Add(ms(i)), "m", fmt.Sprint("mass", i), time.Minute)
	}
	wantErr(t, "hold on the full mass slot", x.holdErr(c1, t2.Add(time.Second), "m", "late", time.Minute), slots.ErrFull)
	x.counts(c1, t2.Add(time.Minute+ms(25)), "m", 50, 0, 24)
	x.counts(c1, t2.Add(time.Minute+ms(50)), "m", 50, 0, 0)
}

// testExpiryFirstCall checks each operation as the very first call after a
// hold's expiry, so that no earlier call can have cleared it: expiry must be
// judged from the now of the call itself.
func testExpiryFirstCall(t *testing.T, s slots.Store) {
	x := h{t, s}
	ctx := t.Context()
	ttl := time.Minute
	start := Opening
	// each sets up a fresh campaign with one hold of p1 in slot a (capacity
	// 1) and returns the hold and its expiry instant.
	each := func(name string) (slots.Campaign, slots.Hold, time.Time) {
		c := slots.Campaign("first-" + name)
		start = start.Add(time.Hour)
		x.define(c, start, slots.Slot{ID: "a", Capacity: 1}, slots.Slot{ID: "b", Capacity: 1})
		hd := x.hold(c, start, "a", "p1", ttl)
		return c, hd, hd.Expires
	}
	c, hd, end := each("confirm")
	wantErr(t, "Confirm as the first call at expiry", x.confirmErr(c, end, hd.ID, "p1"), slots.ErrHoldExpired)
	x.counts(c, end, "a", 1, 0, 0)

	c, hd, end = each("cancel")
	wantErr(t, "Cancel as the first call at expiry", x.cancelErr(c, end, hd.ID, "p1"), slots.ErrHoldExpired)
	x.counts(c, end, "a", 1, 0, 0)

	c, _, end = each("lookup")
	_, err := x.lookup(c, end, "p1")
	wantErr(t, "Lookup as the first call at expiry", err, slots.ErrNotFound)

	c, _, end = each("hold-same-person")
	x.hold(c, end, "b", "p1", ttl)
	x.counts(c, end, "a", 1, 0, 0)
	x.counts(c, end, "b", 1, 0, 1)

	c, _, end = each("hold-other-person")
	x.hold(c, end, "a", "p2", ttl)
	x.counts(c, end, "a", 1, 0, 1)

	c, _, end = each("move")
	h2 := x.hold(c, start, "b", "p2", 2*ttl)
	x.confirm(c, start, h2.ID, "p2")
	if _, err := x.moveErr(c, end, h2.ID, "p2", "a"); err != nil {
		t.Fatalf("Move into a place freed by expiry, as the first call: %v", err)
	}
	x.counts(c, end, "a", 1, 1, 0)
	x.counts(c, end, "b", 1, 0, 0)

	c, _, end = each("define")
	if err := s.DefineSlots(ctx, end, slots.DefineRequest{Campaign: c, Slots: []slots.Slot{{ID: "a", Capacity: 0}}, Key: key()}); err != nil {
		t.Fatalf("shrinking to 0 a slot freed by expiry, as the first call: %v", err)
	}

	c, _, end = each("availability")
	x.counts(c, end, "a", 1, 0, 0)
	x.counts(c, end.Add(-time.Millisecond), "a", 1, 0, 0) // a hold seen expired stays expired
}

func testConfirm(t *testing.T, s slots.Store) {
	x := h{t, s}
	x.define(c1, Opening, slots.Slot{ID: "a", Capacity: 2})
	hd := x.hold(c1, Opening, "a", "p1", time.Minute)
	now := Opening.Add(time.Second)
	b := x.confirm(c1, now, hd.ID, "p1")
	if b.ID != hd.ID || b.Campaign != c1 || b.Slot != "a" || b.Person != "p1" {
		t.Fatalf("Booking = %+v from hold %+v", b, hd)
	}
	sameInstant(t, "Confirmed", b.Confirmed, now)
	sameInstant(t, "Created", b.Created, Opening)
	x.counts(c1, now, "a", 2, 1, 0)
	e, err := x.lookup(c1, now, "p1")
	if err != nil || e.Booking == nil || *e.Booking != b {
		t.Fatalf("Lookup = %+v, %v; want booking %+v", e, err, b)
	}
	// Confirming a booking again (another key) returns it and changes nothing.
	b2 := x.confirm(c1, now.Add(time.Hour), hd.ID, "p1")
	if b2 != b {
		t.Fatalf("second Confirm = %+v, want %+v", b2, b)
	}
	x.counts(c1, now, "a", 2, 1, 0)
	// The hold was the person's one place: no second hold now.
	wantErr(t, "Hold after Confirm", x.holdErr(c1, now, "a", "p1", time.Minute), slots.ErrAlreadyBooked)

	// Someone else's hold, an unknown ID, a cancelled hold.
	h2 := x.hold(c1, now, "a", "p2", time.Minute)
	before := x.state(c1, now, "p1", "p2")
	wantErr(t, "Confirm by another person", x.confirmErr(c1, now, h2.ID, "p1"), slots.ErrNotFound)
	wantErr(t, "Confirm of an unknown ID", x.confirmErr(c1, now, "AAAAAAAAAAAAAAAAAAAAAAAAAA", "p2"), slots.ErrNotFound)
	wantErr(t, "Confirm in another campaign", x.confirmErr(c2, now, h2.ID, "p2"), slots.ErrNotFound)
	if after := x.state(c1, now, "p1", "p2"); after != before {
		t.Fatalf("a refused Confirm changed the state:\nbefore %s\nafter  %s", before, after)
	}
	if err := x.cancelErr(c1, now, h2.ID, "p2"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "Confirm of a cancelled hold", x.confirmErr(c1, now, h2.ID, "p2"), slots.ErrNotFound)
	x.counts(c1, now, "a", 2, 1, 0)
}

func testCancel(t *testing.T, s slots.Store) {
	x := h{t, s}
	x.define(c1, Opening, slots.Slot{ID: "a", Capacity: 1}, slots.Slot{ID: "b", Capacity: 1})
	// Cancel a hold.
	hd := x.hold(c1, Opening, "a", "p1", time.Minute)
	wantErr(t, "Cancel by another person", x.cancelErr(c1, Opening, hd.ID, "p2"), slots.ErrNotFound)
	x.counts(c1, Opening, "a", 1, 0, 1)
	if err := x.cancelErr(c1, Opening, hd.ID, "p1"); err != nil {
		t.Fatalf("Cancel of a hold: %v", err)
	}
	x.counts(c1, Opening, "a", 1, 0, 0)
	if _, err := x.lookup(c1, Opening, "p1"); !errors.Is(err, slots.ErrNotFound) {
		t.Fatalf("Lookup after Cancel: %v", err)
	}
	wantErr(t, "second Cancel", x.cancelErr(c1, Opening, hd.ID, "p1"), slots.ErrNotFound)
	// The place and the person are free again.
	h2 := x.hold(c1, Opening, "a", "p2", time.Minute)
	h3 := x.hold(c1, Opening, "b", "p1", time.Minute)
	// Cancel a booking.
	x.confirm(c1, Opening, h3.ID, "p1")
	x.counts(c1, Opening, "b", 1, 1, 0)
	if err := x.cancelErr(c1, Opening, h3.ID, "p1"); err != nil {
		t.Fatalf("Cancel of a booking: %v", err)
	}
	x.counts(c1, Opening, "b", 1, 0, 0)
	wantErr(t, "Cancel of a cancelled booking", x.cancelErr(c1, Opening, h3.ID, "p1"), slots.ErrNotFound)
	wantErr(t, "Cancel of an unknown ID", x.cancelErr(c1, Opening, "nope", "p1"), slots.ErrNotFound)
	x.hold(c1, Opening, "b", "p3", time.Minute)
	x.counts(c1, Opening, "a", 1, 0, 1)
	_ = h2
}

func testMove(t *testing.T, s slots.Store) {
	x := h{t, s}
	x.define(c1, Opening, slots.Slot{ID: "a", Capacity: 1}, slots.Slot{ID: "b", Capacity: 2}, slots.Slot{ID: "c", Capacity: 1}, slots.Slot{ID: "z", Capacity: 0})
	hd := x.hold(c1, Opening, "a", "p1", time.Minute)
	// A hold cannot move.
	_, err := x.moveErr(c1, Opening, hd.ID, "p1", "b")
	wantErr(t, "Move of a hold", err, slots.ErrNotFound)
	x.counts(c1, Opening, "a", 1, 0, 1)
	b := x.confirm(c1, Opening, hd.ID, "p1")

	m, err := x.moveErr(c1, Opening.Add(time.Second), b.ID, "p1", "b")
	if err != nil {
		t.Fatalf("Move: %v", err)
	}
	if m.ID != b.ID || m.Slot != "b" || m.Person != "p1" || !m.Confirmed.Equal(b.Confirmed) || !m.Created.Equal(b.Created) {
		t.Fatalf("Move = %+v, want %+v in slot b", m, b)
	}
	x.counts(c1, Opening, "a", 1, 0, 0)
	x.counts(c1, Opening, "b", 2, 1, 0)
	if e, err := x.lookup(c1, Opening, "p1"); err != nil || e.Booking == nil || e.Booking.Slot != "b" {
		t.Fatalf("Lookup after Move = %+v, %v", e, err)
	}
	// The old place is free for someone else.
	x.hold(c1, Opening, "a", "p2", time.Minute)

	// To a full slot (a live hold fills c), a closed slot, an undefined
	// slot, by another person: refused, nothing changed.
	x.hold(c1, Opening, "c", "p3", time.Minute)
	before := x.state(c1, Opening, "p1", "p2", "p3")
	_, err = x.moveErr(c1, Opening, b.ID, "p1", "c")
	wantErr(t, "Move to a full slot", err, slots.ErrFull)
	_, err = x.moveErr(c1, Opening, b.ID, "p1", "z")
	wantErr(t, "Move to a capacity-0 slot", err, slots.ErrFull)
	_, err = x.moveErr(c1, Opening, b.ID, "p1", "nope")
	wantErr(t, "Move to an undefined slot", err, slots.ErrNotFound)
	_, err = x.moveErr(c1, Opening, b.ID, "p2", "a")
	wantErr(t, "Move by another person", err, slots.ErrNotFound)
	_, err = x.moveErr(c1, Opening, "AAAA", "p1", "a")
	wantErr(t, "Move of an unknown ID", err, slots.ErrNotFound)
	if after := x.state(c1, Opening, "p1", "p2", "p3"); after != before {
		t.Fatalf("a refused Move changed the state:\nbefore %s\nafter  %s", before, after)
	}
	// To its own slot: nothing changes.
	m2, err := x.moveErr(c1, Opening, b.ID, "p1", "b")
	if err != nil || m2.Slot != "b" {
		t.Fatalf("Move to own slot = %+v, %v", m2, err)
	}
	if after := x.state(c1, Opening, "p1", "p2", "p3"); after != before {
		t.Fatalf("Move to its own slot changed the state:\nbefore %s\nafter  %s", before, after)
	}
	// Once the hold on c expires, the move goes through.
	later := Opening.Add(time.Minute)
	if _, err := x.moveErr(c1, later, b.ID, "p1", "c"); err != nil {
		t.Fatalf("Move once c is free: %v", err)
	}
	x.counts(c1, later, "b", 2, 0, 0)
	x.counts(c1, later, "c", 1, 1, 0)
}

func testLookup(t *testing.T, s slots.Store) {
	x := h{t, s}
	_, err := x.lookup(c1, Opening, "p1")
	wantErr(t, "Lookup in an empty campaign", err, slots.ErrNotFound)
	x.define(c1, Opening, slots.Slot{ID: "a", Capacity: 3})
	hd := x.hold(c1, Opening, "a", "p1", time.Minute)
	e, err := x.lookup(c1, Opening, "p1")
	if err != nil || e.Hold == nil || *e.Hold != hd {
		t.Fatalf("Lookup = %+v, %v; want hold %+v", e, err, hd)
	}
	_, err = x.lookup(c1, Opening, "p2")
	wantErr(t, "Lookup of a person with nothing", err, slots.ErrNotFound)
	_, err = x.lookup(c2, Opening, "p1")
	wantErr(t, "Lookup in another campaign", err, slots.ErrNotFound)
	_, err = x.lookup(c1, Opening, "P1")
	wantErr(t, "Lookup is exact, not case-folded", err, slots.ErrNotFound)
}

func testIdempotency(t *testing.T, s slots.Store) {
	x := h{t, s}
	ctx := t.Context()
	x.define(c1, Opening, slots.Slot{ID: "a", Capacity: 2}, slots.Slot{ID: "b", Capacity: 2})

	// Hold: a retry, even later, returns the first result and holds nothing
	// more.
	hr := slots.HoldRequest{Campaign: c1, Slot: "a", Person: "p1", TTL: time.Minute, Key: "hold-1"}
	h1, err := s.Hold(ctx, Opening, hr)
	if err != nil {
		t.Fatal(err)
	}
	h1b, err := s.Hold(ctx, Opening.Add(10*time.Second), hr)
	if err != nil || h1b != h1 {
		t.Fatalf("retried Hold = %+v, %v; want %+v", h1b, err, h1)
	}
	x.counts(c1, Opening, "a", 2, 0, 1)
	// Same key, different request: conflict, nothing changes; the first
	// result is still there.
	before := x.state(c1, Opening, "p1", "p2")
	for _, bad := range []slots.HoldRequest{
		{Campaign: c1, Slot: "b", Person: "p1", TTL: time.Minute, Key: "hold-1"},
		{Campaign: c1, Slot: "a", Person: "p2", TTL: time.Minute, Key: "hold-1"},
		{Campaign: c1, Slot: "a", Person: "p1", TTL: time.Hour, Key: "hold-1"},
	} {
		_, err := s.Hold(ctx, Opening, bad)
		wantErr(t, fmt.Sprintf("Hold %+v under a used key", bad), err, slots.ErrConflict)
	}
	_, err = s.Confirm(ctx, Opening, slots.ConfirmRequest{Campaign: c1, HoldID: h1.ID, Person: "p1", Key: "hold-1"})
	wantErr(t, "Confirm under a Hold's key", err, slots.ErrConflict)
	if after := x.state(c1, Opening, "p1", "p2"); after != before {
		t.Fatalf("a conflicting request changed the state:\nbefore %s\nafter  %s", before, after)
	}
	if again, err := s.Hold(ctx, Opening, hr); err != nil || again != h1 {
		t.Fatalf("Hold after a conflict = %+v, %v; want the first result", again, err)
	}
	// Keys are scoped to a campaign.
	x.define(c2, Opening, slots.Slot{ID: "a", Capacity: 1})
	if _, err := s.Hold(ctx, Opening, slots.HoldRequest{Campaign: c2, Slot: "a", Person: "p9", TTL: time.Minute, Key: "hold-1"}); err != nil {
		t.Fatalf("same key in another campaign: %v", err)
	}

	// Confirm: retried, returns the same booking.
	cr := slots.ConfirmRequest{Campaign: c1, HoldID: h1.ID, Person: "p1", Key: "confirm-1"}
	b1, err := s.Confirm(ctx, Opening.Add(time.Second), cr)
	if err != nil {
		t.Fatal(err)
	}
	b1b, err := s.Confirm(ctx, Opening.Add(5*time.Second), cr)
	if err != nil || b1b != b1 {
		t.Fatalf("retried Confirm = %+v, %v; want %+v", b1b, err, b1)
	}
	// A retried Hold still returns the first result (the hold), and does
	// not hold again.
	if again, err := s.Hold(ctx, Opening.Add(6*time.Second), hr); err != nil || again != h1 {
		t.Fatalf("Hold retried after Confirm = %+v, %v; want %+v", again, err, h1)
	}
	x.counts(c1, Opening.Add(6*time.Second), "a", 2, 1, 0)

	// Move: retried after the booking moved back, returns the first result
	// and moves nothing.
	now := Opening.Add(10 * time.Second)
	mr := slots.MoveRequest{Campaign: c1, ID: b1.ID, Person: "p1", To: "b", Key: "move-1"}
	m1, err := s.Move(ctx, now, mr)
	if err != nil || m1.Slot != "b" {
		t.Fatalf("Move = %+v, %v", m1, err)
	}
	if _, err := x.moveErr(c1, now, b1.ID, "p1", "a"); err != nil {
		t.Fatal(err)
	}
	if m1b, err := s.Move(ctx, now, mr); err != nil || m1b != m1 {
		t.Fatalf("retried Move = %+v, %v; want %+v", m1b, err, m1)
	}
	x.counts(c1, now, "a", 2, 1, 0)
	x.counts(c1, now, "b", 2, 0, 0)
	_, err = s.Move(ctx, now, slots.MoveRequest{Campaign: c1, ID: b1.ID, Person: "p1", To: "a", Key: "move-1"})
	wantErr(t, "Move to another slot under a used key", err, slots.ErrConflict)

	// Cancel: a retry returns the first result (success) and frees nothing
	// more.
	h2 := x.hold(c1, now, "a", "p2", time.Minute)
	x.confirm(c1, now, h2.ID, "p2")
	x.counts(c1, now, "a", 2, 2, 0)
	kr := slots.CancelRequest{Campaign: c1, ID: b1.ID, Person: "p1", Key: "cancel-1"}
	if err := s.Cancel(ctx, now, kr); err != nil {
		t.Fatal(err)
	}
	if err := s.Cancel(ctx, now.Add(time.Second), kr); err != nil {
		t.Fatalf("retried Cancel = %v, want the first result (nil)", err)
	}
	x.counts(c1, now, "a", 2, 1, 0)
	err = s.Cancel(ctx, now, slots.CancelRequest{Campaign: c1, ID: h2.ID, Person: "p2", Key: "cancel-1"})
	wantErr(t, "Cancel of another booking under a used key", err, slots.ErrConflict)
	x.counts(c1, now, "a", 2, 1, 0)

	// A refusal is a result too: retried, it is returned again even when
	// the request would now succeed.
	x.define(c1, now, slots.Slot{ID: "one", Capacity: 1})
	hx := x.hold(c1, now, "one", "p5", time.Minute)
	fr := slots.HoldRequest{Campaign: c1, Slot: "one", Person: "p6", TTL: time.Minute, Key: "full-1"}
	_, err = s.Hold(ctx, now, fr)
	wantErr(t, "Hold on a full slot", err, slots.ErrFull)
	if err := x.cancelErr(c1, now, hx.ID, "p5"); err != nil {
		t.Fatal(err)
	}
	_, err = s.Hold(ctx, now, fr)
	wantErr(t, "retried Hold after the slot freed", err, slots.ErrFull)
	x.counts(c1, now, "one", 1, 0, 0)
	fr.Key = "full-2"
	if _, err := s.Hold(ctx, now, fr); err != nil {
		t.Fatalf("same Hold under a new key: %v", err)
	}

	// DefineSlots.
	dr := slots.DefineRequest{Campaign: c1, Slots: []slots.Slot{{ID: "d", Capacity: 3}}, Key: "define-1"}
	if err := s.DefineSlots(ctx, now, dr); err != nil {
		t.Fatal(err)
	}
	if err := s.DefineSlots(ctx, now, dr); err != nil {
		t.Fatalf("retried DefineSlots: %v", err)
	}
	err = s.DefineSlots(ctx, now, slots.DefineRequest{Campaign: c1, Slots: []slots.Slot{{ID: "d", Capacity: 4}}, Key: "define-1"})
	wantErr(t, "DefineSlots with another capacity under a used key", err, slots.ErrConflict)
	x.counts(c1, now, "d", 3, 0, 0)

	// Records are kept at least MinRetention after the call that made them.
	if again, err := s.Hold(ctx, Opening.Add(slots.MinRetention-time.Millisecond), hr); err != nil || again != h1 {
		t.Fatalf("Hold retried just within MinRetention = %+v, %v; want %+v", again, err, h1)
	}
}

func testIdempotencyConcurrent(t *testing.T, s slots.Store) {
	x := h{t, s}
	ctx := t.Context()
	x.define(c1, Opening, slots.Slot{ID: "a", Capacity: 100})
	const n = 32
	run := func(f func(i int) (string, error)) []string {
		out := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				r, err := f(i)
				out[i] = fmt.Sprintf("%s %v", r, err)
			})
		}
		wg.Wait()
		for i := 1; i < n; i++ {
			if out[i] != out[0] {
				t.Fatalf("concurrent copies of one request got different results:\n%s\n%s", out[0], out[i])
			}
		}
		return out
	}
	hr := slots.HoldRequest{Campaign: c1, Slot: "a", Person: "p1", TTL: time.Minute, Key: "ch"}
	run(func(i int) (string, error) {
		hd, err := s.Hold(ctx, Opening.Add(ms(i)), hr)
		return hd.ID, err
	})
	x.counts(c1, Opening.Add(time.Second), "a", 100, 0, 1)
	e, err := x.lookup(c1, Opening, "p1")
	if err != nil || e.Hold == nil {
		t.Fatalf("Lookup: %+v, %v", e, err)
	}
	cr := slots.ConfirmRequest{Campaign: c1, HoldID: e.Hold.ID, Person: "p1", Key: "cc"}
	run(func(i int) (string, error) {
		b, err := s.Confirm(ctx, Opening.Add(ms(100+i)), cr)
		return fmt.Sprint(b), err
	})
	x.counts(c1, Opening.Add(time.Second), "a", 100, 1, 0)
	// Another booking, so a double cancel would show.
	h2 := x.hold(c1, Opening, "a", "p2", time.Minute)
	x.confirm(c1, Opening, h2.ID, "p2")
	kr := slots.CancelRequest{Campaign: c1, ID: e.Hold.ID, Person: "p1", Key: "ck"}
	run(func(i int) (string, error) { return "", s.Cancel(ctx, Opening.Add(ms(200+i)), kr) })
	x.counts(c1, Opening.Add(time.Second), "a", 100, 1, 0)
	// Many people, one slot, one key each, every request sent four times
	// at once: exactly capacity succeed.
	x.define(c1, Opening, slots.Slot{ID: "few", Capacity: 5})
	var wg sync.WaitGroup
	var ok atomic.Int64
	results := make([][4]string, 20)
	for p := range 20 {
		for c := range 4 {
			wg.Go(func() {
				hd, err := s.Hold(ctx, Opening, slots.HoldRequest{Campaign: c1, Slot: "few", Person: fmt.Sprint("q", p), TTL: time.Minute, Key: fmt.Sprint("few-", p)})
				results[p][c] = fmt.Sprintf("%s %v", hd.ID, err)
				if err == nil && c == 0 {
					ok.Add(1)
				}
			})
		}
	}
	wg.Wait()
	for p, r := range results {
		for c := 1; c < 4; c++ {
			if r[c] != r[0] {
				t.Fatalf("person %d: copies of one request got %q and %q", p, r[0], r[c])
			}
		}
	}
	if ok.Load() != 5 {
		t.Fatalf("%d holds succeeded on a slot of 5", ok.Load())
	}
	x.counts(c1, Opening, "few", 5, 0, 5)
}

func testInvalid(t *testing.T, s slots.Store) {
	x := h{t, s}
	ctx := t.Context()
	x.define(c1, Opening, slots.Slot{ID: "a", Capacity: 2})
	hd := x.hold(c1, Opening, "a", "p1", time.Minute)
	long := strings.Repeat("x", slots.MaxIDLen+1)
	huge := strings.Repeat("y", 10<<10)
	before := x.state(c1, Opening, "p1")

	badCampaigns := []slots.Campaign{"", "{c1}", "c1}", "c:1", "c 1", "c\x00", "\xff", slots.Campaign(strings.Repeat("c", slots.MaxCampaignLen+1)), slots.Campaign(huge)}
	for _, c := range badCampaigns {
		what := fmt.Sprintf("campaign %.40q", c)
		wantErr(t, what+": DefineSlots", s.DefineSlots(ctx, Opening, slots.DefineRequest{Campaign: c, Slots: []slots.Slot{{ID: "a", Capacity: 1}}, Key: key()}), slots.ErrInvalid)
		_, err := s.Hold(ctx, Opening, slots.HoldRequest{Campaign: c, Slot: "a", Person: "p2", TTL: time.Minute, Key: key()})
		wantErr(t, what+": Hold", err, slots.ErrInvalid)
		_, err = s.Confirm(ctx, Opening, slots.ConfirmRequest{Campaign: c, HoldID: hd.ID, Person: "p1", Key: key()})
		wantErr(t, what+": Confirm", err, slots.ErrInvalid)
		wantErr(t, what+": Cancel", s.Cancel(ctx, Opening, slots.CancelRequest{Campaign: c, ID: hd.ID, Person: "p1", Key: key()}), slots.ErrInvalid)
		_, err = s.Move(ctx, Opening, slots.MoveRequest{Campaign: c, ID: hd.ID, Person: "p1", To: "a", Key: key()})
		wantErr(t, what+": Move", err, slots.ErrInvalid)
		_, err = s.Lookup(ctx, Opening, c, "p1")
		wantErr(t, what+": Lookup", err, slots.ErrInvalid)
		_, err = s.Availability(ctx, Opening, c, nil)
		wantErr(t, what+": Availability", err, slots.ErrInvalid)
	}
	for _, text := range []string{"", long, huge} {
		what := fmt.Sprintf("%d-byte identifier", len(text))
		_, err := s.Hold(ctx, Opening, slots.HoldRequest{Campaign: c1, Slot: text, Person: "p2", TTL: time.Minute, Key: key()})
		wantErr(t, what+" as slot", err, slots.ErrInvalid)
		_, err = s.Hold(ctx, Opening, slots.HoldRequest{Campaign: c1, Slot: "a", Person: text, TTL: time.Minute, Key: key()})
		wantErr(t, what+" as person", err, slots.ErrInvalid)
		_, err = s.Hold(ctx, Opening, slots.HoldRequest{Campaign: c1, Slot: "a", Person: "p2", TTL: time.Minute, Key: text})
		wantErr(t, what+" as key", err, slots.ErrInvalid)
		wantErr(t, what+" as defined slot", s.DefineSlots(ctx, Opening, slots.DefineRequest{Campaign: c1, Slots: []slots.Slot{{ID: text, Capacity: 1}}, Key: key()}), slots.ErrInvalid)
		wantErr(t, what+" as define key", s.DefineSlots(ctx, Opening, slots.DefineRequest{Campaign: c1, Slots: []slots.Slot{{ID: "n", Capacity: 1}}, Key: text}), slots.ErrInvalid)
		_, err = s.Confirm(ctx, Opening, slots.ConfirmRequest{Campaign: c1, HoldID: hd.ID, Person: text, Key: key()})
		wantErr(t, what+" as confirming person", err, slots.ErrInvalid)
		_, err = s.Confirm(ctx, Opening, slots.ConfirmRequest{Campaign: c1, HoldID: hd.ID, Person: "p1", Key: text})
		wantErr(t, what+" as confirm key", err, slots.ErrInvalid)
		wantErr(t, what+" as cancel key", s.Cancel(ctx, Opening, slots.CancelRequest{Campaign: c1, ID: hd.ID, Person: "p1", Key: text}), slots.ErrInvalid)
		_, err = s.Move(ctx, Opening, slots.MoveRequest{Campaign: c1, ID: hd.ID, Person: "p1", To: text, Key: key()})
		wantErr(t, what+" as move target", err, slots.ErrInvalid)
		_, err = s.Lookup(ctx, Opening, c1, text)
		wantErr(t, what+" as looked-up person", err, slots.ErrInvalid)
		_, err = s.Availability(ctx, Opening, c1, []string{"a", text})
		wantErr(t, what+" in Availability", err, slots.ErrInvalid)
	}
	for _, id := range []string{"", "{x}", "a:b", "a|b", "\xff", strings.Repeat("A", slots.MaxHoldIDLen+1)} {
		what := fmt.Sprintf("hold id %.20q", id)
		_, err := s.Confirm(ctx, Opening, slots.ConfirmRequest{Campaign: c1, HoldID: id, Person: "p1", Key: key()})
		wantErr(t, what+": Confirm", err, slots.ErrInvalid)
		wantErr(t, what+": Cancel", s.Cancel(ctx, Opening, slots.CancelRequest{Campaign: c1, ID: id, Person: "p1", Key: key()}), slots.ErrInvalid)
		_, err = s.Move(ctx, Opening, slots.MoveRequest{Campaign: c1, ID: id, Person: "p1", To: "a", Key: key()})
		wantErr(t, what+": Move", err, slots.ErrInvalid)
	}
	for _, ttl := range []time.Duration{0, -time.Second, slots.MaxHoldTTL + time.Millisecond} {
		_, err := s.Hold(ctx, Opening, slots.HoldRequest{Campaign: c1, Slot: "a", Person: "p2", TTL: ttl, Key: key()})
		wantErr(t, fmt.Sprintf("TTL %v", ttl), err, slots.ErrInvalid)
	}
	for _, sl := range [][]slots.Slot{
		nil,
		{{ID: "a", Capacity: -1}},
		{{ID: "a", Capacity: slots.MaxCapacity + 1}},
		{{ID: "n", Capacity: 1}, {ID: "n", Capacity: 2}},
		make([]slots.Slot, slots.MaxBatch+1),
	} {
		wantErr(t, fmt.Sprintf("DefineSlots(%.60v)", sl), s.DefineSlots(ctx, Opening, slots.DefineRequest{Campaign: c1, Slots: sl, Key: key()}), slots.ErrInvalid)
	}
	many := make([]string, slots.MaxBatch+1)
	for i := range many {
		many[i] = "a"
	}
	_, err := s.Availability(ctx, Opening, c1, many)
	wantErr(t, "Availability of too many slots", err, slots.ErrInvalid)
	// A zero or pre-1970 now is refused.
	for _, now := range []time.Time{{}, time.Unix(-1, 0)} {
		_, err := s.Hold(ctx, now, slots.HoldRequest{Campaign: c1, Slot: "a", Person: "p2", TTL: time.Minute, Key: key()})
		wantErr(t, fmt.Sprintf("Hold at %v", now), err, slots.ErrInvalid)
		_, err = s.Lookup(ctx, now, c1, "p1")
		wantErr(t, fmt.Sprintf("Lookup at %v", now), err, slots.ErrInvalid)
	}
	if after := x.state(c1, Opening, "p1"); after != before {
		t.Fatalf("invalid requests changed the state:\nbefore %s\nafter  %s", before, after)
	}
	if _, err := s.Availability(ctx, Opening, c1, []string{"n"}); !errors.Is(err, slots.ErrNotFound) {
		t.Fatalf("a slot from an invalid DefineSlots exists: %v", err)
	}
}

// hostile are identifiers that would break a naive key layout or record
// format: braces that move a Cluster hash tag, separators, empty-looking and
// binary strings, invalid UTF-8, a maximal length, and look-alikes of the
// stores' own markers.
var hostile = []string{
	"{c1}", "}{", "{", "}", "{}", "a:b", ":", "::", "|", "a|b", "||||", "!FULL", "!FULL|YQ", "c:a", "b:a", "h:a",
	"\x00", "a\x00", "\x00a", "\xff\xfe\xfd", "\xc3\x28", "🙂", " ", "\t\n", "%s%d", "' OR 1=1 --", "..", "/", "\\",
	"AAAAAAAAAAAAAAAAAAAAAAAAAA", "YQ", "a", "A", strings.Repeat("x", slots.MaxIDLen), strings.Repeat("{", slots.MaxIDLen),
}

func testHostile(t *testing.T, s slots.Store) {
	x := h{t, s}
	ctx := t.Context()
	defs := make([]slots.Slot, len(hostile))
	for i, id := range hostile {
		defs[i] = slots.Slot{ID: id, Capacity: 1}
	}
	if err := s.DefineSlots(ctx, Opening, slots.DefineRequest{Campaign: c1, Slots: defs, Key: "{c1}:" + hostile[0]}); err != nil {
		t.Fatalf("DefineSlots with hostile ids: %v", err)
	}
	all := x.avail(c1, Opening)
	if len(all) != len(hostile) {
		t.Fatalf("Availability(all) has %d slots, want %d (identifiers collided?)", len(all), len(hostile))
	}
	sorted := append([]string(nil), hostile...)
	sort.Strings(sorted)
	for i, a := range all {
		if a.Slot != sorted[i] || a.Capacity != 1 {
			t.Fatalf("Availability(all)[%d] = %+v, want slot %q", i, a, sorted[i])
		}
	}
	// Each hostile person holds the hostile slot of the same index, under a
	// hostile key, and everything reads back byte for byte.
	holds := make([]slots.Hold, len(hostile))
	for i, id := range hostile {
		person := hostile[(i+1)%len(hostile)]
		hd, err := s.Hold(ctx, Opening, slots.HoldRequest{Campaign: c1, Slot: id, Person: person, TTL: time.Minute, Key: id})
		if err != nil {
			t.Fatalf("Hold(slot %q, person %q): %v", id, person, err)
		}
		if hd.Slot != id || hd.Person != person {
			t.Fatalf("Hold = slot %q person %q, want %q %q", hd.Slot, hd.Person, id, person)
		}
		holds[i] = hd
	}
	for i, id := range hostile {
		person := hostile[(i+1)%len(hostile)]
		e, err := x.lookup(c1, Opening, person)
		if err != nil || e.Hold == nil || *e.Hold != holds[i] {
			t.Fatalf("Lookup(%q) = %+v, %v; want %+v", person, e, err, holds[i])
		}
		a := x.avail(c1, Opening, id)
		if a[0].Slot != id || a[0].Held != 1 || a[0].Free != 0 {
			t.Fatalf("Availability(%q) = %+v", id, a)
		}
	}
	// Confirm half, move one, cancel one: counts stay per slot.
	for i := 0; i < len(hostile); i += 2 {
		person := hostile[(i+1)%len(hostile)]
		if _, err := s.Confirm(ctx, Opening, slots.ConfirmRequest{Campaign: c1, HoldID: holds[i].ID, Person: person, Key: fmt.Sprintf("c{%d}", i)}); err != nil {
			t.Fatalf("Confirm in slot %q: %v", hostile[i], err)
		}
	}
	x.define(c1, Opening, slots.Slot{ID: "{c2}", Capacity: 1})
	if _, err := s.Move(ctx, Opening, slots.MoveRequest{Campaign: c1, ID: holds[0].ID, Person: hostile[1], To: "{c2}", Key: "m{"}); err != nil {
		t.Fatalf("Move to {c2}: %v", err)
	}
	if err := s.Cancel(ctx, Opening, slots.CancelRequest{Campaign: c1, ID: holds[1].ID, Person: hostile[2], Key: "k}"}); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	for i, id := range hostile {
		a := x.avail(c1, Opening, id)[0]
		var want slots.Availability
		switch {
		case i == 0:
			want = slots.Availability{Slot: id, Capacity: 1, Free: 1}
		case i == 1:
			want = slots.Availability{Slot: id, Capacity: 1, Free: 1}
		case i%2 == 0:
			want = slots.Availability{Slot: id, Capacity: 1, Booked: 1}
		default:
			want = slots.Availability{Slot: id, Capacity: 1, Held: 1}
		}
		if a != want {
			t.Fatalf("Availability(%q) = %+v, want %+v", id, a, want)
		}
	}
	x.counts(c1, Opening, "{c2}", 1, 1, 0)
	// The same identifiers in campaign c2 do not see c1's state.
	_, err := x.lookup(c2, Opening, hostile[1])
	wantErr(t, "Lookup of a c1 person in c2", err, slots.ErrNotFound)
	x.state(c1, Opening, hostile...)
}

func testContextDone(t *testing.T, s slots.Store) {
	x := h{t, s}
	x.define(c1, Opening, slots.Slot{ID: "a", Capacity: 2})
	hd := x.hold(c1, Opening, "a", "p1", time.Minute)
	before := x.state(c1, Opening, "p1", "p2")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	expired, cancel2 := context.WithDeadline(t.Context(), time.Unix(1, 0))
	defer cancel2()
	for _, ctx := range []context.Context{ctx, expired} {
		wantErr(t, "DefineSlots", s.DefineSlots(ctx, Opening, slots.DefineRequest{Campaign: c1, Slots: []slots.Slot{{ID: "a", Capacity: 9}}, Key: key()}), slots.ErrUnavailable)
		_, err := s.Hold(ctx, Opening, slots.HoldRequest{Campaign: c1, Slot: "a", Person: "p2", TTL: time.Minute, Key: key()})
		wantErr(t, "Hold", err, slots.ErrUnavailable)
		_, err = s.Confirm(ctx, Opening, slots.ConfirmRequest{Campaign: c1, HoldID: hd.ID, Person: "p1", Key: key()})
		wantErr(t, "Confirm", err, slots.ErrUnavailable)
		wantErr(t, "Cancel", s.Cancel(ctx, Opening, slots.CancelRequest{Campaign: c1, ID: hd.ID, Person: "p1", Key: key()}), slots.ErrUnavailable)
		_, err = s.Move(ctx, Opening, slots.MoveRequest{Campaign: c1, ID: hd.ID, Person: "p1", To: "a", Key: key()})
		wantErr(t, "Move", err, slots.ErrUnavailable)
		_, err = s.Lookup(ctx, Opening, c1, "p1")
		wantErr(t, "Lookup", err, slots.ErrUnavailable)
		_, err = s.Availability(ctx, Opening, c1, nil)
		wantErr(t, "Availability", err, slots.ErrUnavailable)
		if !errors.Is(err, ctx.Err()) {
			t.Fatalf("Availability with a done context: %v does not wrap %v", err, ctx.Err())
		}
	}
	if after := x.state(c1, Opening, "p1", "p2"); after != before {
		t.Fatalf("calls with a done context changed the state:\nbefore %s\nafter  %s", before, after)
	}
}
