package slotstest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/gatehouse-go/gatehouse/slots"
)

// Differential run: the store under test and a memory store receive the
// same random operation sequences, at the same instants of one mock clock,
// and must give the same answer to every call and the same snapshot after
// it. The memory store keeps records for slots.DefaultRetention, so the
// store under test must too (the run jumps past that retention).

// diffSteps is the number of operations per sequence; diffSeeds the number
// of sequences.
const (
	diffSteps = 400
	diffSeeds = 3
)

// Identifiers the sequences draw from: a few people and slots, so that
// operations meet; names that break naive key layouts or record formats;
// one empty (refused as invalid by both).
var (
	diffSlots   = []string{"a", "b", "{c}", "a|b", ":", "\xff", "undefined", ""}
	diffPersons = []string{"p1", "p2", "p3", "{p}", "|x|", "q:1", "\x00", strings.Repeat("z", slots.MaxIDLen)}
)

// twin is one hold as both stores know it: hold IDs are random, so results
// are compared with each store's IDs replaced by the twin's number.
type twin struct{ got, want, person string }

type differ struct {
	t         *testing.T
	seed      uint64
	step      int
	s, ref    slots.Store
	c         slots.Campaign
	rng       *rand.Rand
	clk       *clock.Mock
	twins     []twin
	byGot     map[string]int
	byWant    map[string]int
	keySeq    int
	usedKeys  []string
	requests  []func() (string, string) // earlier calls, to replay verbatim
	snapshots bool
}

func testMatchesMemory(t *testing.T, s slots.Store) {
	for seed := uint64(1); seed <= diffSeeds; seed++ {
		clk := clock.NewMock()
		clk.Set(Opening)
		_, snapS := s.(slots.Snapshotter)
		d := &differ{
			t: t, seed: seed, s: s, ref: slots.NewMemoryStore(),
			c:      slots.Campaign(fmt.Sprintf("diff-%d", seed)),
			rng:    rand.New(rand.NewPCG(seed, 12)),
			clk:    clk,
			byGot:  map[string]int{},
			byWant: map[string]int{},
			// The bogus id: never issued, the same in both stores.
			twins:     []twin{{got: "NEVERISSUED", want: "NEVERISSUED"}},
			snapshots: snapS,
		}
		d.byGot["NEVERISSUED"], d.byWant["NEVERISSUED"] = 0, 0
		d.run()
	}
}

func (d *differ) run() {
	for d.step = 0; d.step < diffSteps; d.step++ {
		d.tick()
		var call func() (string, string)
		if n := len(d.requests); n > 0 && d.rng.IntN(10) == 0 {
			// Replay an earlier request verbatim, under its key: even
			// after the state, or the clock, has moved on.
			call = d.requests[d.rng.IntN(n)]
		} else {
			call = d.next()
			d.requests = append(d.requests, call)
		}
		got, want := call()
		if got != want {
			d.t.Fatalf("seed %d step %d at %v:\n got    %s\n memory %s", d.seed, d.step, d.clk.Now().Sub(Opening), got, want)
		}
		d.compareState()
	}
}

// tick moves the clock: mostly by up to 5s; now and then by a hold's
// lifetime; rarely past the retention of records and traces.
func (d *differ) tick() {
	switch k := d.rng.IntN(60); {
	case k < 2:
		d.clk.Add(slots.DefaultRetention + time.Duration(d.rng.IntN(7200))*time.Second)
	case k < 5:
		d.clk.Add(time.Duration(60+d.rng.IntN(120)) * time.Second)
	default:
		d.clk.Add(time.Duration(d.rng.IntN(5000)) * time.Millisecond)
	}
}

// key returns an idempotency key: mostly fresh, sometimes one used before
// (for another request: a conflict, or past its retention: free again).
func (d *differ) key() string {
	if n := len(d.usedKeys); n > 0 && d.rng.IntN(6) == 0 {
		return d.usedKeys[d.rng.IntN(n)]
	}
	d.keySeq++
	k := fmt.Sprintf("k%d", d.keySeq)
	if d.keySeq%7 == 0 {
		k = "{" + k + "}|:" // hostile keys too
	}
	d.usedKeys = append(d.usedKeys, k)
	return k
}

func (d *differ) slot() string   { return diffSlots[d.rng.IntN(len(diffSlots))] }
func (d *differ) person() string { return diffPersons[d.rng.IntN(len(diffPersons))] }

// id returns a twin's number (a hold both stores issued, or the bogus one)
// and a person: mostly the hold's own, so that calls find their records.
func (d *differ) id() (int, string) {
	n := d.rng.IntN(len(d.twins))
	if d.rng.IntN(3) == 0 {
		n = len(d.twins) - 1 - d.rng.IntN(min(3, len(d.twins))) // a recent one
	}
	if p := d.twins[n].person; p != "" && d.rng.IntN(5) != 0 {
		return n, p
	}
	return n, d.person()
}

// next draws a new operation and returns it as a call that runs it on both
// stores at the clock's instant and renders both answers.
func (d *differ) next() func() (string, string) {
	ctx := d.t.Context()
	c := d.c
	switch k := d.rng.IntN(20); {
	case k < 2:
		var sl []slots.Slot
		for _, id := range diffSlots[:6] {
			if d.rng.IntN(2) == 0 {
				sl = append(sl, slots.Slot{ID: id, Capacity: d.rng.IntN(4)})
			}
		}
		if len(sl) == 0 {
			sl = append(sl, slots.Slot{ID: "a", Capacity: 2})
		}
		req := slots.DefineRequest{Campaign: c, Slots: sl, Key: d.key()}
		return func() (string, string) {
			now := d.clk.Now()
			return d.errString(d.s.DefineSlots(ctx, now, req)), d.errString(d.ref.DefineSlots(ctx, now, req))
		}
	case k < 8:
		ttl := time.Duration(1+d.rng.IntN(120)) * time.Second
		if d.rng.IntN(20) == 0 {
			ttl = 0 // invalid
		}
		req := slots.HoldRequest{Campaign: c, Slot: d.slot(), Person: d.person(), TTL: ttl, Key: d.key()}
		return func() (string, string) {
			now := d.clk.Now()
			g, gerr := d.s.Hold(ctx, now, req)
			w, werr := d.ref.Hold(ctx, now, req)
			return d.holdString(g, gerr, true), d.holdString(w, werr, false)
		}
	case k < 12:
		n, p := d.id()
		key := d.key()
		return func() (string, string) {
			now := d.clk.Now()
			g, gerr := d.s.Confirm(ctx, now, slots.ConfirmRequest{Campaign: c, HoldID: d.twins[n].got, Person: p, Key: key})
			w, werr := d.ref.Confirm(ctx, now, slots.ConfirmRequest{Campaign: c, HoldID: d.twins[n].want, Person: p, Key: key})
			return d.bookingString(g, gerr, true), d.bookingString(w, werr, false)
		}
	case k < 14:
		n, p := d.id()
		key := d.key()
		return func() (string, string) {
			now := d.clk.Now()
			gerr := d.s.Cancel(ctx, now, slots.CancelRequest{Campaign: c, ID: d.twins[n].got, Person: p, Key: key})
			werr := d.ref.Cancel(ctx, now, slots.CancelRequest{Campaign: c, ID: d.twins[n].want, Person: p, Key: key})
			return d.errString(gerr), d.errString(werr)
		}
	case k < 16:
		n, p := d.id()
		to, key := d.slot(), d.key()
		return func() (string, string) {
			now := d.clk.Now()
			g, gerr := d.s.Move(ctx, now, slots.MoveRequest{Campaign: c, ID: d.twins[n].got, Person: p, To: to, Key: key})
			w, werr := d.ref.Move(ctx, now, slots.MoveRequest{Campaign: c, ID: d.twins[n].want, Person: p, To: to, Key: key})
			return d.bookingString(g, gerr, true), d.bookingString(w, werr, false)
		}
	case k < 18:
		p := d.person()
		return func() (string, string) {
			now := d.clk.Now()
			g, gerr := d.s.Lookup(ctx, now, c, p)
			w, werr := d.ref.Lookup(ctx, now, c, p)
			return d.entryString(g, gerr, true), d.entryString(w, werr, false)
		}
	default:
		var ids []string
		for range d.rng.IntN(4) {
			ids = append(ids, d.slot())
		}
		return func() (string, string) {
			now := d.clk.Now()
			g, gerr := d.s.Availability(ctx, now, c, ids)
			w, werr := d.ref.Availability(ctx, now, c, ids)
			return fmt.Sprintf("%+v %s", g, d.errString(gerr)), fmt.Sprintf("%+v %s", w, d.errString(werr))
		}
	}
}

// errString renders an error by the sentinel it matches and its message.
func (d *differ) errString(err error) string {
	if err == nil {
		return "ok"
	}
	for _, s := range []error{slots.ErrFull, slots.ErrAlreadyBooked, slots.ErrHoldExpired, slots.ErrNotFound, slots.ErrConflict, slots.ErrInUse, slots.ErrInvalid} {
		if errors.Is(err, s) {
			return "error " + err.Error()
		}
	}
	d.t.Fatalf("seed %d step %d: unexpected error %v", d.seed, d.step, err)
	return ""
}

// twinOf returns the twin number of a hold ID one store returned, making a
// new twin when the other store's ID of the same answer is new as well:
// it is then the same hold.
func (d *differ) twinOf(id string, got bool) string {
	m := d.byWant
	if got {
		m = d.byGot
	}
	if n, ok := m[id]; ok {
		return fmt.Sprint("#", n)
	}
	// A new hold: the store under test answers first; the memory store's
	// twin is filled in by its answer.
	n := len(d.twins)
	if !got && len(d.twins) > 0 && d.twins[n-1].want == "" {
		n--
		d.twins[n].want = id
	} else if got {
		d.twins = append(d.twins, twin{got: id})
	} else {
		d.twins = append(d.twins, twin{want: id})
	}
	m[id] = n
	return fmt.Sprint("#", n)
}

func (d *differ) holdString(h slots.Hold, err error, got bool) string {
	if err != nil {
		return d.errString(err)
	}
	id := d.twinOf(h.ID, got)
	if n := d.byGot[h.ID]; got {
		d.twins[n].person = h.Person
	}
	return fmt.Sprintf("hold %s %q %q %q created %d expires %d", id, h.Campaign, h.Slot, h.Person, h.Created.UnixMilli(), h.Expires.UnixMilli())
}

func (d *differ) bookingString(b slots.Booking, err error, got bool) string {
	if err != nil {
		return d.errString(err)
	}
	m := d.byWant
	if got {
		m = d.byGot
	}
	n, ok := m[b.ID]
	if !ok {
		d.t.Fatalf("seed %d step %d: booking %s was never a hold", d.seed, d.step, b.ID)
	}
	return fmt.Sprintf("booking #%d %q %q %q created %d confirmed %d", n, b.Campaign, b.Slot, b.Person, b.Created.UnixMilli(), b.Confirmed.UnixMilli())
}

func (d *differ) entryString(e slots.Entry, err error, got bool) string {
	switch {
	case err != nil:
		return d.errString(err)
	case e.Hold != nil && e.Booking == nil:
		return d.holdString(*e.Hold, nil, got)
	case e.Booking != nil && e.Hold == nil:
		return d.bookingString(*e.Booking, nil, got)
	}
	return fmt.Sprintf("bad entry %+v", e)
}

// compareState compares the whole campaign after each call (see
// renderState), and its Totals when the store has them.
func (d *differ) compareState() {
	ctx := d.t.Context()
	now := d.clk.Now()
	// Totals, when the store has them, must match the memory store's.
	_, totals := d.s.(slots.Totaler)
	render := func(s slots.Store, got bool) string {
		var tot string
		if totals {
			t, err := s.(slots.Totaler).Totals(ctx, now, d.c)
			tot = fmt.Sprintf("totals %+v %s\n", t, d.errString(err))
		}
		return tot + d.renderState(s, got, now)
	}
	if got, want := render(d.s, true), render(d.ref, false); got != want {
		d.t.Fatalf("seed %d step %d at %v: state differs:\n got    %s\n memory %s", d.seed, d.step, now.Sub(Opening), got, want)
	}
}

// renderState renders the campaign in s at now: by Snapshot when the store
// has it, else by Availability of every slot and Lookup of every person.
func (d *differ) renderState(s slots.Store, got bool, now time.Time) string {
	ctx := d.t.Context()
	if !d.snapshots {
		var b strings.Builder
		a, err := s.Availability(ctx, now, d.c, nil)
		fmt.Fprintf(&b, "%+v %s\n", a, d.errString(err))
		for _, p := range diffPersons {
			e, err := s.Lookup(ctx, now, d.c, p)
			fmt.Fprintln(&b, d.entryString(e, err, got))
		}
		return b.String()
	}
	snap, err := s.(slots.Snapshotter).Snapshot(ctx, now, d.c)
	if err != nil {
		d.t.Fatalf("seed %d step %d: Snapshot: %v", d.seed, d.step, err)
	}
	if err := snap.Check(); err != nil {
		d.t.Fatalf("seed %d step %d: invariants: %v", d.seed, d.step, err)
	}
	var lines []string
	for _, h := range snap.Holds {
		lines = append(lines, d.holdString(h, nil, got))
	}
	for _, b := range snap.Bookings {
		lines = append(lines, d.bookingString(b, nil, got))
	}
	sort.Strings(lines) // IDs differ, so sort by the rendering
	return fmt.Sprintf("%+v\n%s", snap.Slots, strings.Join(lines, "\n"))
}
