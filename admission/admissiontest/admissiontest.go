// Package admissiontest is the conformance suite for admission stores: a
// third-party [admission.Store] proves itself with [Run], as a file system
// does with testing/fstest.
//
//	func TestMyStore(t *testing.T) {
//		admissiontest.Run(t, func(t *testing.T) admission.Store {
//			return mystore.New(...) // empty: no room called yet
//		})
//	}
//
// The suite drives the store directly with explicit instants (no clock,
// no sleeping), checks the contract documented on [admission.Store] (one
// place per identity, the opening shuffle, pacing by the token bucket, the
// line moving by the clock whether anyone calls or not, leases ending at
// their own deadline, dense and sparse call patterns giving the same
// answers, live limits with the old rate up to the change, the active
// cap, claims and place hints, a join that claims a place called at once,
// returners, Done, the drain measurement,
// idempotent retries, time never going back, refusing a second
// configuration) and finally plays random sequences of calls, limit
// changes included, against the store and [admission.NewMemoryStore] side
// by side: every answer must be the same.
package admissiontest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/admission"
)

// Opening is the opening instant of the suite's rooms: 12 July 2021,
// 20:00 in Seoul.
var Opening = time.Date(2021, 7, 12, 11, 0, 0, 0, time.UTC)

// Seed is the shuffle seed of the suite's rooms.
var Seed = admission.Seed{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32}

// Params returns the suite's base room settings: 60 people a minute (one
// a second), burst 3, no cap, claim window 10s, session 60s, drain window
// 10s.
func Params() admission.Params {
	return admission.Params{
		Opening:     Opening,
		Rate:        60,
		Burst:       3,
		ClaimWindow: 10 * time.Second,
		SessionTTL:  60 * time.Second,
		DrainWindow: 10 * time.Second,
		Seed:        Seed,
	}
}

// ID returns a distinct identity hash for n.
func ID(n int) admission.IdentityHash {
	return admission.HashIdentity([]byte("admissiontest-identity-key"), fmt.Sprint("person-", n))
}

// at returns the instant d after the opening.
func at(d time.Duration) time.Time { return Opening.Add(d) }

// Run runs the conformance suite on the stores newStore returns; it asks
// for a new, empty store in every subtest.
func Run(t *testing.T, newStore func(t *testing.T) admission.Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, admission.Store)
	}{
		{"JoinIsIdempotent", testJoinIdempotent},
		{"NotJoined", testNotJoined},
		{"BeforeOpening", testBeforeOpening},
		{"OpeningFixesEarlyArrivals", testOpeningFixesE},
		{"EarlyArrivalsShuffled", testShuffled},
		{"LaterArrivalsInOrder", testLaterInOrder},
		{"Pacing", testPacing},
		{"LineMovesByTheClock", testByTheClock},
		{"LeasesEndAtTheirDeadline", testLeasesEndOnTime},
		{"Limits", testLimits},
		{"DenseAndSparseCallsAgree", testDenseSparse},
		{"PacingNeverExceedsRate", testPacingBound},
		{"Cap", testCap},
		{"Claim", testClaim},
		{"JoinClaimsWhenCalled", testJoinClaims},
		{"SessionExpires", testSessionExpires},
		{"AwayWhenCalled", testAway},
		{"Done", testDone},
		{"RetriedCallsAdmitNobodyMore", testRetry},
		{"TimeNeverGoesBack", testTimeBack},
		{"Misconfigured", testMisconfigured},
		{"InvalidRoomName", testInvalidRoom},
		{"Drain", testDrain},
		{"RoomsAreIndependent", testRoomsIndependent},
		{"ConcurrentJoins", testConcurrentJoins},
		{"MatchesMemoryStore", testMatchesMemory},
		{"Supply", testSupply},
		{"SupplyBadInput", testSupplyBadInput},
		{"AdjustLimits", testAdjustLimits},
		{"ContextDone", testContextDone},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t))
		})
	}
}

var ctx = context.Background()

// room is a test room name.
const room = "room-1"

func join(t *testing.T, s admission.Store, p admission.Params, n int, now time.Time) admission.Record {
	t.Helper()
	r, err := s.Join(ctx, now, room, p, ID(n))
	if err != nil {
		t.Fatalf("Join(person %d, %v): %v", n, now, err)
	}
	return r
}

func status(t *testing.T, s admission.Store, p admission.Params, n int, now time.Time) admission.Record {
	t.Helper()
	r, err := s.Status(ctx, now, room, p, ID(n), admission.PlaceHint{})
	if err != nil {
		t.Fatalf("Status(person %d, %v): %v", n, now, err)
	}
	return r
}

func advance(t *testing.T, s admission.Store, p admission.Params, now time.Time) admission.Line {
	t.Helper()
	l, err := s.Advance(ctx, now, room, p)
	if err != nil {
		t.Fatalf("Advance(%v): %v", now, err)
	}
	return l
}

func testJoinIdempotent(t *testing.T, s admission.Store) {
	// Before the opening in one room, after it in another.
	for _, c := range []struct {
		room string
		now  time.Time
	}{{"before", at(-time.Hour)}, {"after", at(time.Hour)}} {
		p := Params()
		first := map[int]admission.Record{}
		for round := range 3 {
			for n := 1; n <= 5; n++ {
				rec, err := s.Join(ctx, c.now.Add(time.Duration(round)*time.Millisecond), c.room, p, ID(n))
				if err != nil {
					t.Fatal(err)
				}
				if round == 0 {
					first[n] = rec
					continue
				}
				f := first[n]
				if rec.Index != f.Index || rec.Early != f.Early || !rec.Joined.Equal(f.Joined) {
					t.Fatalf("%s: join again of person %d: index %d joined %v, first %d %v",
						c.room, n, rec.Index, rec.Joined, f.Index, f.Joined)
				}
				if c.room == "after" && (rec.Place != f.Place || rec.Place != int64(rec.Index)) {
					t.Fatalf("%s: person %d: place %d, first %d, index %d", c.room, n, rec.Place, f.Place, rec.Index)
				}
			}
		}
		var idx []uint64
		for _, rec := range first {
			idx = append(idx, rec.Index)
		}
		slices.Sort(idx)
		for i, v := range idx {
			if v != uint64(i) {
				t.Fatalf("%s: indices %v, want 0 to 4", c.room, idx)
			}
		}
		l, err := s.Advance(ctx, c.now.Add(time.Second), c.room, p)
		if err != nil {
			t.Fatal(err)
		}
		if l.Joined != 5 {
			t.Fatalf("%s: %d joined, want 5", c.room, l.Joined)
		}
	}
}

func testNotJoined(t *testing.T, s admission.Store) {
	p := Params()
	for _, now := range []time.Time{at(-time.Minute), at(time.Minute)} {
		if _, err := s.Status(ctx, now, room, p, ID(1), admission.PlaceHint{}); !errors.Is(err, admission.ErrNotJoined) {
			t.Fatalf("Status of a stranger at %v: %v, want ErrNotJoined", now, err)
		}
		if _, err := s.Done(ctx, now, room, p, ID(1)); !errors.Is(err, admission.ErrNotJoined) {
			t.Fatalf("Done of a stranger at %v: %v, want ErrNotJoined", now, err)
		}
	}
	if l := advance(t, s, p, at(time.Minute)); l.Joined != 0 {
		t.Fatalf("strangers joined: %+v", l)
	}
}

func testBeforeOpening(t *testing.T, s admission.Store) {
	p := Params()
	for n := range 10 {
		rec := join(t, s, p, n, at(-time.Minute+time.Duration(n)*time.Second))
		if rec.State != admission.StateWaiting || rec.Place != -1 || rec.Ahead != -1 || !rec.Early || rec.Line.Opened {
			t.Fatalf("early join %d: %+v", n, rec)
		}
		if rec.JoinAhead != -1 || rec.JoinDrain.Known() {
			t.Fatalf("early join %d: join ahead %d, drain %+v; want unknown", n, rec.JoinAhead, rec.JoinDrain)
		}
	}
	l := advance(t, s, p, at(-time.Millisecond))
	if l.Opened || l.Early != -1 || l.Serving != 0 || l.Admitted != 0 || l.Active != 0 || l.Joined != 10 {
		t.Fatalf("1ms before the opening: %+v", l)
	}
	rec := status(t, s, p, 3, at(-time.Millisecond))
	if rec.State != admission.StateWaiting || rec.Ahead != -1 {
		t.Fatalf("status 1ms before the opening: %+v", rec)
	}
}

func testOpeningFixesE(t *testing.T, s admission.Store) {
	p := Params()
	for n := range 7 {
		join(t, s, p, n, at(-time.Second))
	}
	l := advance(t, s, p, Opening)
	if !l.Opened || l.Early != 7 || l.Joined != 7 {
		t.Fatalf("at the opening: %+v, want E = 7", l)
	}
	if l.Serving != uint64(p.Burst) || l.Admitted != uint64(p.Burst) || l.Active != int64(p.Burst) {
		t.Fatalf("at the opening: %+v, want the burst (%d) admitted", l, p.Burst)
	}
	// A late arrival is not early, and stands at its index.
	rec := join(t, s, p, 100, at(time.Millisecond))
	if rec.Early || rec.Index != 7 || rec.Place != 7 || rec.Line.Early != 7 {
		t.Fatalf("late arrival: %+v", rec)
	}
	if rec.Ahead != 7-int64(p.Burst) {
		t.Fatalf("late arrival: ahead %d, want %d", rec.Ahead, 7-p.Burst)
	}
	// A late status (a client whose clock is behind) changes nothing.
	rec = join(t, s, p, 101, at(-time.Hour))
	if rec.Early || rec.Index != 8 || rec.Line.Early != 7 {
		t.Fatalf("arrival stamped before the opening, after E was fixed: %+v", rec)
	}
}

func testShuffled(t *testing.T, s admission.Store) {
	p := Params()
	p.Burst = 1
	const e = 40
	for n := range e {
		join(t, s, p, n, at(-time.Minute))
	}
	sh := admission.NewShuffle(p.Seed, e)
	identity := map[uint64]int{} // index -> person
	for n := range e {
		rec := status(t, s, p, n, Opening)
		if !rec.Early || rec.Place != int64(sh.Place(rec.Index)) {
			t.Fatalf("person %d index %d: place %d early %v, want %d", n, rec.Index, rec.Place, rec.Early, sh.Place(rec.Index))
		}
		identity[rec.Index] = n
	}
	// Admission follows the places: at each second exactly the next one.
	order := admission.Order(p.Seed, e)
	for i, idx := range order {
		now := at(time.Duration(i) * time.Second)
		rec := status(t, s, p, identity[idx], now)
		if rec.State != admission.StateAdmitted || rec.Place != int64(i) {
			t.Fatalf("%v: person at place %d (index %d): %+v, want admitted", now, i, idx, rec)
		}
		if i+1 < e {
			next := status(t, s, p, identity[order[i+1]], now)
			if next.State != admission.StateWaiting || next.Ahead != 0 {
				t.Fatalf("%v: person at place %d: %+v, want waiting with nobody ahead", now, i+1, next)
			}
		}
	}
}

func testLaterInOrder(t *testing.T, s admission.Store) {
	p := Params()
	p.Burst = 1
	for n := range 10 {
		rec := join(t, s, p, n, at(time.Duration(n)*time.Millisecond))
		if rec.Place != int64(rec.Index) || rec.Early {
			t.Fatalf("late arrival %d: %+v", n, rec)
		}
	}
	for n := range 10 {
		now := at(time.Duration(n)*time.Second + 10*time.Millisecond)
		for m := range 10 {
			rec := status(t, s, p, m, now)
			want := admission.StateWaiting
			if m <= n {
				want = admission.StateAdmitted
			}
			if rec.State != want {
				t.Fatalf("%v: person %d: %s, want %s", now, m, rec.State, want)
			}
			if want == admission.StateWaiting && rec.Ahead != int64(m-n-1) {
				t.Fatalf("%v: person %d: ahead %d, want %d", now, m, rec.Ahead, m-n-1)
			}
		}
	}
}

func testPacing(t *testing.T, s admission.Store) {
	p := Params() // 1 per second, burst 3
	for n := range 20 {
		join(t, s, p, n, at(-time.Second))
	}
	for _, c := range []struct {
		d    time.Duration
		want uint64
	}{
		{-time.Millisecond, 0},
		{0, 3},
		{999 * time.Millisecond, 3},
		{time.Second, 4},
		{2500 * time.Millisecond, 5},
		{3 * time.Second, 6},
		{3 * time.Second, 6},
		// The line moves by the clock: nobody called for 7s, and the 7
		// people owed were called all the same, one a second.
		{10 * time.Second, 13},
		{10*time.Second + 999*time.Millisecond, 13},
		{11 * time.Second, 14},
		{70 * time.Second, 20},
	} {
		if l := advance(t, s, p, at(c.d)); l.Serving != c.want || l.Admitted != c.want {
			t.Fatalf("at opening%+v: serving %d admitted %d, want %d", c.d, l.Serving, l.Admitted, c.want)
		}
	}
	// Nobody left waiting since 17s: the bucket refilled to the burst, and
	// the next arrivals take it at once, then one a second.
	for n := 20; n < 30; n++ {
		join(t, s, p, n, at(500*time.Second))
	}
	if l := advance(t, s, p, at(500*time.Second)); l.Serving != 23 {
		t.Fatalf("after a quiet spell: serving %d, want 23", l.Serving)
	}
	if l := advance(t, s, p, at(502*time.Second)); l.Serving != 25 {
		t.Fatalf("2s later: serving %d, want 25", l.Serving)
	}
}

// testByTheClock: 100 people waiting, 60 a minute, nobody asking for the
// first minute after the opening: the first call finds 61 called (the
// burst of 1 at the opening, then one a second), each at its own instant.
func testByTheClock(t *testing.T, s admission.Store) {
	p := Params()
	p.Burst = 1
	p.ClaimWindow = 2 * time.Minute
	for n := range 100 {
		join(t, s, p, n, at(-time.Second))
	}
	l := advance(t, s, p, at(time.Minute))
	if l.Serving != 61 || l.Admitted != 61 || l.Active != 61 {
		t.Fatalf("a minute after the opening, first call: %+v, want 61 called", l)
	}
	// Each was called at its own instant: the claim reports it.
	sh := admission.NewShuffle(p.Seed, 100)
	for n := range 100 {
		rec := status(t, s, p, n, at(time.Minute))
		pl := sh.Place(rec.Index)
		if pl > 60 {
			if rec.State != admission.StateWaiting || rec.Ahead != int64(pl-61) {
				t.Fatalf("place %d: %+v, want waiting with %d ahead", pl, rec, pl-61)
			}
			continue
		}
		if want := at(time.Duration(pl) * time.Second); rec.State != admission.StateAdmitted || !rec.Admitted.Equal(want) {
			t.Fatalf("place %d: %s admitted at %v, want admitted at %v", pl, rec.State, rec.Admitted.Sub(Opening), want.Sub(Opening))
		}
	}
}

// testLeasesEndOnTime: with the cap full, a lease that ends inside a quiet
// interval frees its place at its own deadline, and the next person is
// called then, not at the next call.
func testLeasesEndOnTime(t *testing.T, s admission.Store) {
	p := Params()
	p.Cap = 1
	for n := range 10 {
		join(t, s, p, n, at(-time.Second))
	}
	// Nobody claims: place 0 at 0s, its lease ends at 10s (the claim
	// window), place 1 called at 10s, place 2 at 20s, place 3 at 30s.
	l := advance(t, s, p, at(35*time.Second))
	if l.Serving != 4 || l.Active != 1 || l.Admitted != 4 {
		t.Fatalf("35s after the opening with cap 1 and nobody claiming: %+v, want 4 called, 1 active", l)
	}
	sh := admission.NewShuffle(p.Seed, 10)
	for n := range 10 {
		rec := status(t, s, p, n, at(35*time.Second))
		switch pl := sh.Place(rec.Index); {
		case pl == 3:
			if rec.State != admission.StateAdmitted || !rec.Admitted.Equal(at(30*time.Second)) {
				t.Fatalf("place 3: %+v, want admitted at 30s", rec)
			}
		case pl < 3:
			if rec.State != admission.StateWaiting || !rec.Returning {
				t.Fatalf("place %d, called while away: %+v, want a returner", pl, rec)
			}
		}
	}
}

// testLimits: the old rate applies up to the change, the new one after;
// burst and cap changes hold at once; every instance sees them.
func testLimits(t *testing.T, s admission.Store) {
	p := Params()
	p.Burst = 1
	p.ClaimWindow = time.Hour
	for n := range 1000 {
		join(t, s, p, n, at(-time.Second))
	}
	// 1 a second until 10s: 11 called (1 at the opening).
	l, err := s.SetLimits(ctx, at(10*time.Second), room, p, admission.Limits{Rate: 600, Burst: 1})
	if err != nil {
		t.Fatal(err)
	}
	if l.Serving != 11 || l.Limits != (admission.Limits{Rate: 600, Burst: 1}) {
		t.Fatalf("at the change: %+v, want 11 called and the new limits", l)
	}
	// Then 10 a second: 100 more by 20s, whatever the caller's params say.
	if l := advance(t, s, p, at(20*time.Second)); l.Serving != 111 || l.Limits.Rate != 600 {
		t.Fatalf("10s after the change: %+v, want 111 called at the new rate", l)
	}
	if _, err := s.SetLimits(ctx, at(20*time.Second), room, p, admission.Limits{Rate: 600, Burst: 1, Cap: 5}); err != nil {
		t.Fatal(err)
	}
	// 111 active already, cap 5: nobody more until leases end.
	if l := advance(t, s, p, at(30*time.Second)); l.Serving != 111 || l.Limits.Cap != 5 {
		t.Fatalf("over the new cap: %+v, want nobody more called", l)
	}
	// A bigger burst after a blocked spell: the bucket (full at the old
	// burst of 1) grows from there.
	if _, err := s.SetLimits(ctx, at(30*time.Second), room, p, admission.Limits{Rate: 600, Burst: 50}); err != nil {
		t.Fatal(err)
	}
	if l := advance(t, s, p, at(30*time.Second)); l.Serving != 112 {
		t.Fatalf("cap lifted, burst raised: %+v, want 1 token's worth at once (112)", l)
	}
	if l := advance(t, s, p, at(31*time.Second)); l.Serving != 122 {
		t.Fatalf("1s later: %+v, want 122", l)
	}
	for _, bad := range []admission.Limits{{}, {Rate: 60}, {Rate: 60, Burst: 1, Cap: -1}, {Rate: -1, Burst: 1}} {
		if _, err := s.SetLimits(ctx, at(32*time.Second), room, p, bad); err == nil {
			t.Fatalf("SetLimits(%+v): no error", bad)
		}
	}
	if l := advance(t, s, p, at(32*time.Second)); l.Limits != (admission.Limits{Rate: 600, Burst: 50}) {
		t.Fatalf("refused limits changed the room: %+v", l.Limits)
	}
}

// testDenseSparse drives one crowd (the same joins, claims and Done at the
// same instants) in two rooms: in one, an instance also calls Advance
// every few milliseconds; in the other nobody else calls. Every answer to
// the crowd's calls must be the same: the line is a function of time, not
// of how often anyone asks.
func testDenseSparse(t *testing.T, s admission.Store) {
	for seed := uint64(1); seed <= 2; seed++ {
		rng := rand.New(rand.NewPCG(seed, 99))
		p := Params()
		p.Rate = 60 + rng.IntN(600)
		p.Burst = 1 + rng.IntN(5)
		p.Cap = rng.IntN(12)
		p.ClaimWindow = time.Duration(1+rng.IntN(4)) * time.Second
		p.SessionTTL = time.Duration(2+rng.IntN(6)) * time.Second
		type call struct {
			at     time.Duration
			op     int // 0 join, 1 status, 2 done, 3 limits
			person int
			limits admission.Limits
		}
		var crowd []call
		for n := range 80 {
			j := time.Duration(rng.IntN(40000)-5000) * time.Millisecond
			crowd = append(crowd, call{at: j, op: 0, person: n})
			for range 1 + rng.IntN(3) {
				crowd = append(crowd, call{at: j + time.Duration(rng.IntN(30000))*time.Millisecond, op: 1, person: n})
			}
			if rng.IntN(5) == 0 {
				crowd = append(crowd, call{at: j + time.Duration(rng.IntN(30000))*time.Millisecond, op: 2, person: n})
			}
		}
		crowd = append(crowd, call{at: 12 * time.Second, op: 3, limits: admission.Limits{Rate: p.Rate * 2, Burst: p.Burst + 1, Cap: p.Cap}})
		slices.SortStableFunc(crowd, func(a, b call) int { return int(a.at - b.at) })
		dense, sparse := fmt.Sprint("dense-", seed), fmt.Sprint("sparse-", seed)
		tick := time.Duration(1+rng.IntN(50)) * time.Millisecond
		next := -5 * time.Second
		do := func(name string, c call) (any, error) {
			now := at(c.at)
			switch c.op {
			case 0:
				return s.Join(ctx, now, name, p, ID(c.person))
			case 1:
				return s.Status(ctx, now, name, p, ID(c.person), admission.PlaceHint{})
			case 2:
				return s.Done(ctx, now, name, p, ID(c.person))
			}
			return s.SetLimits(ctx, now, name, p, c.limits)
		}
		for i, c := range crowd {
			for ; next < c.at; next += tick {
				if _, err := s.Advance(ctx, at(next), dense, p); err != nil {
					t.Fatal(err)
				}
			}
			got, gerr := do(dense, c)
			want, werr := do(sparse, c)
			if (gerr == nil) != (werr == nil) || gerr != nil && !errors.Is(gerr, werr) && !errors.Is(werr, gerr) {
				t.Fatalf("seed %d call %d %+v: dense %v, sparse %v", seed, i, c, gerr, werr)
			}
			if gerr == nil && !equal(got, want) {
				t.Fatalf("seed %d call %d %+v (ticks every %v):\n dense  %+v\n sparse %+v", seed, i, c, tick, got, want)
			}
		}
	}
}

func testPacingBound(t *testing.T, s admission.Store) {
	p := Params()
	p.Rate = 600 // 10 a second
	p.Burst = 5
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 400 {
		join(t, s, p, n, at(-time.Second))
	}
	type obs struct {
		t time.Time
		n uint64
	}
	var seen []obs
	now := Opening
	for range 300 {
		now = now.Add(time.Duration(rng.IntN(400)) * time.Millisecond)
		l := advance(t, s, p, now)
		seen = append(seen, obs{now, l.Admitted})
	}
	for i := range seen {
		for j := i; j < len(seen); j++ {
			// Admissions in (t_i, t_j] are at most rate*(t_j - t_i) + burst.
			// Those at t_i itself belong to the burst.
			d := seen[j].t.Sub(seen[i].t)
			limit := uint64(float64(p.Rate)*d.Minutes()) + uint64(p.Burst)
			if got := seen[j].n - seen[i].n; got > limit {
				t.Fatalf("%d admitted in %v, limit %d", got, d, limit)
			}
		}
	}
	if seen[len(seen)-1].n == 0 {
		t.Fatal("nobody admitted")
	}
}

func testCap(t *testing.T, s admission.Store) {
	p := Params()
	p.Cap = 2
	p.Burst = 5
	for n := range 10 {
		join(t, s, p, n, at(-time.Second))
	}
	l := advance(t, s, p, at(5*time.Second))
	if l.Active != 2 || l.Serving != 2 {
		t.Fatalf("with cap 2: %+v", l)
	}
	// Claiming keeps the place; Done frees it and the next one enters.
	var admitted []int
	for n := range 10 {
		if rec := status(t, s, p, n, at(5*time.Second)); rec.State == admission.StateAdmitted {
			admitted = append(admitted, n)
		}
	}
	if len(admitted) != 2 {
		t.Fatalf("admitted %v, want 2 people", admitted)
	}
	if _, err := s.Done(ctx, at(6*time.Second), room, p, ID(admitted[0])); err != nil {
		t.Fatal(err)
	}
	if l := advance(t, s, p, at(6*time.Second)); l.Active != 2 || l.Serving != 3 {
		t.Fatalf("after Done: %+v, want 3 called and 2 active", l)
	}
	// The claimed session (60s) outlives the unclaimed newcomer's window
	// (10s): at 16s the newcomer's place is freed and the next one enters.
	if l := advance(t, s, p, at(16*time.Second)); l.Active != 2 || l.Serving != 4 {
		t.Fatalf("after the claim window: %+v, want 4 called, 2 active", l)
	}
	for i := range 200 {
		l := advance(t, s, p, at(16*time.Second+time.Duration(i)*time.Second))
		if l.Active > 2 {
			t.Fatalf("active %d over cap 2", l.Active)
		}
	}
}

func setSupply(t *testing.T, s admission.Store, p admission.Params, now time.Time, free, held, allowance int64) admission.Line {
	t.Helper()
	l, err := s.SetSupply(ctx, now, room, p, admission.Places{Free: free, Held: held}, allowance)
	if err != nil {
		t.Fatalf("SetSupply(%d, %d, %d at %v): %v", free, held, allowance, now, err)
	}
	return l
}

// testSupply: the supply budget bounds admissions between readings, zero
// supply with no holds is sold out and admits nobody, and the room
// resumes when places come back.
func testSupply(t *testing.T, s admission.Store) {
	p := Params()
	p.Rate, p.Burst = 600, 10
	for n := range 20 {
		join(t, s, p, n, at(-time.Second))
	}
	if l := advance(t, s, p, at(-2*time.Millisecond)); l.Supply.Known {
		t.Fatalf("supply known before any reading: %+v", l.Supply)
	}
	setSupply(t, s, p, at(-time.Millisecond), 3, 0, 3)
	l := advance(t, s, p, at(0))
	if l.Admitted != 3 || l.Supply.Budget != 0 || !l.Supply.Known || l.Supply.SoldOut() {
		t.Fatalf("3 places at the opening: %+v", l)
	}
	// The three claim their place (a session of 60s).
	var admitted []int
	for n := range 20 {
		if rec := status(t, s, p, n, at(time.Second)); rec.State == admission.StateAdmitted {
			admitted = append(admitted, n)
		}
	}
	if len(admitted) != 3 {
		t.Fatalf("admitted %v, want 3", admitted)
	}
	// The rate would let 17 more in over 10s: the budget holds them.
	if l := advance(t, s, p, at(10*time.Second)); l.Admitted != 3 {
		t.Fatalf("admitted %d beyond the budget of 3", l.Admitted)
	}
	// Two of the three leave (booked); 2 places remain free, 1 person is
	// still active: budget 1.
	for _, n := range admitted[:2] {
		if _, err := s.Done(ctx, at(11*time.Second), room, p, ID(n)); err != nil {
			t.Fatal(err)
		}
	}
	if l := advance(t, s, p, at(12*time.Second)); l.Admitted != 3 || l.Active != 1 {
		t.Fatalf("after 2 done, before a reading: %+v", l)
	}
	if l := setSupply(t, s, p, at(12*time.Second), 2, 0, 2); l.Admitted != 4 || l.Active != 2 || l.Supply.Budget != 0 {
		t.Fatalf("2 places, 1 active: %+v, want 1 more admitted", l)
	}
	// Nothing free, one hold live: not sold out, nobody admitted.
	if l := setSupply(t, s, p, at(13*time.Second), 0, 1, 0); l.Supply.SoldOut() || l.Admitted != 4 {
		t.Fatalf("a hold live: %+v", l)
	}
	// Sold out.
	l = setSupply(t, s, p, at(14*time.Second), 0, 0, 0)
	if !l.Supply.SoldOut() || l.Admitted != 4 {
		t.Fatalf("sold out: %+v", l)
	}
	// The drain does not count the time the line stood still.
	busy := l.Drain
	if l := advance(t, s, p, at(60*time.Second)); l.Admitted != 4 || l.Drain != busy {
		t.Fatalf("sold out, a minute later: %+v (drain was %+v)", l, busy)
	}
	// A hold lapses: one place back, nobody active (leases over): one more.
	if l := setSupply(t, s, p, at(90*time.Second), 1, 0, 1); l.Supply.SoldOut() || l.Admitted != 5 {
		t.Fatalf("a place back: %+v", l)
	}
	// An overbooking factor: 4 free at 1.5 -> 6 people (1 already active).
	if l := setSupply(t, s, p, at(91*time.Second), 4, 0, 6); l.Admitted != 10 || l.Active != 6 {
		t.Fatalf("overbooking 1.5 over 4 places: %+v", l)
	}
}

func testSupplyBadInput(t *testing.T, s admission.Store) {
	p := Params()
	for _, c := range [][3]int64{{-1, 0, 0}, {0, -1, 0}, {0, 0, -1}} {
		if _, err := s.SetSupply(ctx, at(0), room, p, admission.Places{Free: c[0], Held: c[1]}, c[2]); err == nil {
			t.Fatalf("SetSupply(%v): no error", c)
		}
	}
	if l := advance(t, s, p, at(time.Second)); l.Supply.Known {
		t.Fatalf("a refused reading changed the room: %+v", l.Supply)
	}
}

// testAdjustLimits: a conditional change goes through only if the limits
// were not changed since the given instant.
func testAdjustLimits(t *testing.T, s admission.Store) {
	p := Params()
	join(t, s, p, 0, at(-time.Second))
	l, err := s.SetLimits(ctx, at(time.Second), room, p, admission.Limits{Rate: 120, Burst: 2, MinRate: 30, MaxRate: 300})
	if err != nil {
		t.Fatal(err)
	}
	if !l.LimitsChanged.Equal(at(time.Second)) || l.Limits.MinRate != 30 || l.Limits.MaxRate != 300 {
		t.Fatalf("after SetLimits: %+v", l)
	}
	// Changed at 1s: a change conditional on "not since 1s" is refused.
	l, err = s.AdjustLimits(ctx, at(2*time.Second), room, p, admission.Limits{Rate: 60, Burst: 2}, at(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if l.Limits.Rate != 120 || !l.LimitsChanged.Equal(at(time.Second)) {
		t.Fatalf("conditional change went through: %+v", l)
	}
	l, err = s.AdjustLimits(ctx, at(3*time.Second), room, p, admission.Limits{Rate: 60, Burst: 2, MinRate: 30, MaxRate: 300}, at(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if l.Limits.Rate != 60 || !l.LimitsChanged.Equal(at(3*time.Second)) {
		t.Fatalf("conditional change refused: %+v", l)
	}
	if _, err := s.AdjustLimits(ctx, at(4*time.Second), room, p, admission.Limits{Rate: 60, Burst: 2, MinRate: 90, MaxRate: 30}, at(4*time.Second)); err == nil {
		t.Fatal("min above max: no error")
	}
}

func testClaim(t *testing.T, s admission.Store) {
	p := Params()
	join(t, s, p, 1, at(-time.Second))
	// The first call after the opening (at 2s) finds the person called at
	// the opening, and claims.
	rec := status(t, s, p, 1, at(2*time.Second))
	if rec.State != admission.StateAdmitted || !rec.Claimed {
		t.Fatalf("first status after admission: %+v, want admitted and claimed", rec)
	}
	if !rec.Admitted.Equal(Opening) || !rec.Deadline.Equal(at(2*time.Second+p.SessionTTL)) {
		t.Fatalf("admitted %v deadline %v, want %v and %v", rec.Admitted, rec.Deadline, Opening, at(2*time.Second+p.SessionTTL))
	}
	again := status(t, s, p, 1, at(30*time.Second))
	if again.State != admission.StateAdmitted || again.Claimed || !again.Deadline.Equal(rec.Deadline) {
		t.Fatalf("status again: %+v, want admitted, not claimed again, same deadline", again)
	}
	// Joining again is a status too.
	if j := join(t, s, p, 1, at(31*time.Second)); j.State != admission.StateAdmitted || !j.Deadline.Equal(rec.Deadline) {
		t.Fatalf("join again: %+v", j)
	}
	if rec.Line.Active != 1 {
		t.Fatalf("active %d, want 1", rec.Line.Active)
	}
}

// testJoinClaims: a join whose place is known and called, with its lease
// live, claims as Status would; a join with people ahead, an early
// arrival's join (the store does not know its place until a Status) and
// the join of someone called while away do not.
func testJoinClaims(t *testing.T, s admission.Store) {
	p := Params()
	p.Burst = 1
	join(t, s, p, 0, at(-time.Minute)) // the only early arrival: place 0, called at the opening
	// At 5s the bucket holds a token again: person 1 (place 1) is called
	// as it joins, and the join claims.
	rec := join(t, s, p, 1, at(5*time.Second))
	if rec.State != admission.StateAdmitted || !rec.Claimed || rec.Place != 1 || rec.Ahead != 0 {
		t.Fatalf("join called at once: %+v, want admitted and claimed at place 1", rec)
	}
	if !rec.Admitted.Equal(at(5*time.Second)) || !rec.Deadline.Equal(at(5*time.Second+p.SessionTTL)) {
		t.Fatalf("admitted %v deadline %v, want %v and %v", rec.Admitted, rec.Deadline, at(5*time.Second), at(5*time.Second+p.SessionTTL))
	}
	if rec.Line.Active != 2 || rec.Line.Admitted != 2 || rec.Line.Serving != 2 {
		t.Fatalf("line after the claiming join: %+v, want 2 active, 2 admitted, serving 2", rec.Line)
	}
	// People ahead: no token until 6s.
	if r := join(t, s, p, 2, at(5600*time.Millisecond)); r.State != admission.StateWaiting || r.Claimed || r.Ahead != 0 {
		t.Fatalf("join with no token: %+v, want waiting with nobody ahead", r)
	}
	if r := join(t, s, p, 3, at(5700*time.Millisecond)); r.State != admission.StateWaiting || r.Claimed || r.Ahead != 1 {
		t.Fatalf("join behind person 2: %+v, want waiting with one ahead", r)
	}
	// Joining or asking again claims nothing more.
	if j := join(t, s, p, 1, at(5800*time.Millisecond)); j.State != admission.StateAdmitted || j.Claimed || !j.Deadline.Equal(rec.Deadline) {
		t.Fatalf("join again: %+v, want admitted, not claimed again, same deadline", j)
	}
	if r := status(t, s, p, 1, at(5900*time.Millisecond)); r.State != admission.StateAdmitted || r.Claimed || !r.Deadline.Equal(rec.Deadline) {
		t.Fatalf("status after the claiming join: %+v", r)
	}
	// The early arrival, called at the opening, lease live until 10s:
	// its join does not know its place and does not claim; a Status does.
	if r := join(t, s, p, 0, at(8*time.Second)); r.State != admission.StateWaiting || r.Claimed || r.Ahead != -1 {
		t.Fatalf("early arrival's join once called: %+v, want waiting with ahead -1", r)
	}
	if r := status(t, s, p, 0, at(8*time.Second)); r.State != admission.StateAdmitted || !r.Claimed || !r.Admitted.Equal(Opening) {
		t.Fatalf("early arrival's status once called: %+v", r)
	}
	// Person 2, called at 6s, lease over at 16s: its join at 20s does not
	// claim; the next Status puts it among the returners, where a token
	// (the bucket is full again) admits it at once, and claims.
	if r := join(t, s, p, 2, at(20*time.Second)); r.State != admission.StateWaiting || r.Claimed || r.Ahead != -1 || r.Returns != 0 {
		t.Fatalf("join of someone called while away: %+v, want waiting with ahead -1", r)
	}
	if r := status(t, s, p, 2, at(20*time.Second)); r.Returns != 1 || !r.Claimed || !r.Admitted.Equal(at(20*time.Second)) {
		t.Fatalf("status of someone called while away: %+v, want returned once, admitted again and claimed", r)
	}
}

func testSessionExpires(t *testing.T, s admission.Store) {
	p := Params()
	p.Cap = 1
	join(t, s, p, 1, at(-time.Second))
	join(t, s, p, 2, at(-time.Second))
	first, second := 1, 2
	if rec := status(t, s, p, 1, Opening); rec.Place != 0 {
		first, second = 2, 1
	}
	if rec := status(t, s, p, first, Opening); rec.State != admission.StateAdmitted || rec.Place != 0 {
		t.Fatalf("place 0 at the opening: %+v", rec)
	}
	end := Opening.Add(p.SessionTTL)
	if r := status(t, s, p, first, end.Add(-time.Millisecond)); r.State != admission.StateAdmitted {
		t.Fatalf("1ms before the session's end: %s", r.State)
	}
	if r := status(t, s, p, second, end.Add(-time.Millisecond)); r.State != admission.StateWaiting || r.Ahead != 0 {
		t.Fatalf("the second person, with the cap full: %+v", r)
	}
	if r := status(t, s, p, first, end); r.State != admission.StateExpired {
		t.Fatalf("at the session's end: %s, want expired", r.State)
	}
	if r := status(t, s, p, second, end); r.State != admission.StateAdmitted {
		t.Fatalf("the second person once the first session ended: %s", r.State)
	}
	// Expired is final.
	if r := join(t, s, p, first, end.Add(time.Hour)); r.State != admission.StateExpired {
		t.Fatalf("join after expiry: %s, want expired", r.State)
	}
}

func testAway(t *testing.T, s admission.Store) {
	p := Params()
	p.Burst = 1
	p.Cap = 1
	for n := range 5 {
		join(t, s, p, n, at(time.Duration(n)*time.Millisecond-time.Hour)) // early
	}
	// Where each will stand, from the shuffle (asking the store would
	// claim place 0).
	places := map[int64]int{}
	sh := admission.NewShuffle(p.Seed, 5)
	for n := range 5 {
		places[int64(sh.Place(status(t, s, p, n, at(-time.Second)).Index))] = n
	}
	// Place 0 is admitted at the opening and never comes: the cap is held
	// for the claim window, then freed, and place 1 is called.
	if l := advance(t, s, p, Opening); l.Active != 1 || l.Serving != 1 {
		t.Fatalf("at the opening: %+v", l)
	}
	if l := advance(t, s, p, at(p.ClaimWindow-time.Millisecond)); l.Active != 1 || l.Serving != 1 {
		t.Fatalf("within the claim window: %+v", l)
	}
	l := advance(t, s, p, at(p.ClaimWindow))
	if l.Serving != 2 || l.Active != 1 {
		t.Fatalf("after the claim window: %+v, want place 1 called", l)
	}
	// Place 1 claims; place 0 comes back: it is at the head of the line.
	if r := status(t, s, p, places[1], at(p.ClaimWindow)); r.State != admission.StateAdmitted {
		t.Fatalf("place 1: %+v", r)
	}
	r := status(t, s, p, places[0], at(p.ClaimWindow+time.Second))
	if r.State != admission.StateWaiting || !r.Returning || r.Ahead != 0 || r.Returns != 1 || r.Line.Returning != 1 {
		t.Fatalf("returner: %+v, want waiting at the head", r)
	}
	if r := status(t, s, p, places[2], at(p.ClaimWindow+time.Second)); r.Ahead != 1 {
		t.Fatalf("place 2 behind the returner: ahead %d, want 1", r.Ahead)
	}
	// Place 1 is done: the returner goes in, before place 2.
	if _, err := s.Done(ctx, at(p.ClaimWindow+2*time.Second), room, p, ID(places[1])); err != nil {
		t.Fatal(err)
	}
	r = status(t, s, p, places[0], at(p.ClaimWindow+2*time.Second))
	if r.State != admission.StateAdmitted || !r.Claimed || !r.Admitted.Equal(at(p.ClaimWindow+2*time.Second)) {
		t.Fatalf("returner after Done freed the cap: %+v", r)
	}
	if r := status(t, s, p, places[2], at(p.ClaimWindow+2*time.Second)); r.State != admission.StateWaiting || r.Ahead != 0 {
		t.Fatalf("place 2: %+v", r)
	}
	if r.Line.Serving != 2 {
		t.Fatalf("serving %d, want 2: the returner is served before the counter moves", r.Line.Serving)
	}
}

func testDone(t *testing.T, s admission.Store) {
	p := Params()
	join(t, s, p, 1, at(-time.Second))
	join(t, s, p, 2, at(-time.Second))
	status(t, s, p, 1, Opening)
	status(t, s, p, 2, Opening)
	for i := range 2 {
		rec, err := s.Done(ctx, at(time.Second), room, p, ID(1))
		if err != nil {
			t.Fatal(err)
		}
		if rec.State != admission.StateDone {
			t.Fatalf("Done #%d: %s", i, rec.State)
		}
		if rec.Line.Active != 1 {
			t.Fatalf("Done #%d: active %d, want 1", i, rec.Line.Active)
		}
	}
	if r := status(t, s, p, 1, at(2*time.Second)); r.State != admission.StateDone {
		t.Fatalf("status after Done: %s", r.State)
	}
	if r := join(t, s, p, 1, at(2*time.Second)); r.State != admission.StateDone {
		t.Fatalf("join after Done: %s", r.State)
	}
	// Done while waiting leaves the line.
	join(t, s, p, 3, at(3*time.Second))
	if rec, err := s.Done(ctx, at(3*time.Second), room, p, ID(3)); err != nil || rec.State != admission.StateDone {
		t.Fatalf("Done while waiting: %+v, %v", rec, err)
	}
}

func testRetry(t *testing.T, s admission.Store) {
	p := Params()
	for n := range 10 {
		join(t, s, p, n, at(-time.Second))
	}
	now := at(1500 * time.Millisecond)
	first := status(t, s, p, 0, now)
	for range 3 {
		again := status(t, s, p, 0, now)
		join(t, s, p, 1, now)
		l := advance(t, s, p, now)
		if l.Admitted != first.Line.Admitted || l.Serving != first.Line.Serving {
			t.Fatalf("retried call at the same instant admitted more: %+v, first %+v", l, first.Line)
		}
		if again.Place != first.Place || again.Index != first.Index {
			t.Fatalf("retried status moved the place: %+v vs %+v", again, first)
		}
	}
}

func testTimeBack(t *testing.T, s admission.Store) {
	p := Params()
	for n := range 30 {
		join(t, s, p, n, at(-time.Second))
	}
	l1 := advance(t, s, p, at(10*time.Second))
	// An instance whose clock is 5s behind: treated as the latest instant.
	l2 := advance(t, s, p, at(5*time.Second))
	if l2.Admitted != l1.Admitted {
		t.Fatalf("call from the past admitted %d more", l2.Admitted-l1.Admitted)
	}
	// Had the limiter's clock gone back to 5s, this call would admit 5.
	l3 := advance(t, s, p, at(10*time.Second))
	if l3.Admitted != l1.Admitted {
		t.Fatalf("back at 10s: %d more admitted, want 0", l3.Admitted-l1.Admitted)
	}
	// A person joining with a stale clock gets a join time not before the
	// latest the room saw.
	rec := join(t, s, p, 100, at(time.Second))
	if rec.Joined.Before(at(10 * time.Second)) {
		t.Fatalf("joined %v, before the latest instant seen", rec.Joined)
	}
}

func testMisconfigured(t *testing.T, s admission.Store) {
	p := Params()
	join(t, s, p, 1, at(-time.Second))
	other := p
	other.Seed[0]++
	if _, err := s.Join(ctx, at(-time.Second), room, other, ID(2)); !errors.Is(err, admission.ErrMisconfigured) {
		t.Fatalf("join with another seed: %v, want ErrMisconfigured", err)
	}
	other = p
	other.Opening = p.Opening.Add(time.Minute)
	if _, err := s.Advance(ctx, at(-time.Second), room, other); !errors.Is(err, admission.ErrMisconfigured) {
		t.Fatalf("advance with another opening: %v, want ErrMisconfigured", err)
	}
	if l := advance(t, s, p, at(-time.Second)); l.Joined != 1 {
		t.Fatalf("refused calls changed the room: %+v", l)
	}
}

func testInvalidRoom(t *testing.T, s admission.Store) {
	p := Params()
	for _, name := range []string{"", "a}b", "{x}", "a:b", "a b", strings.Repeat("x", 65), "é"} {
		if _, err := s.Join(ctx, Opening, name, p, ID(1)); err == nil {
			t.Errorf("Join in room %q: no error", name)
		}
		if _, err := s.Advance(ctx, Opening, name, p); err == nil {
			t.Errorf("Advance of room %q: no error", name)
		}
	}
	bad := p
	bad.Rate = 0
	if _, err := s.Join(ctx, Opening, room, bad, ID(1)); err == nil {
		t.Error("Join with rate 0: no error")
	}
}

func testDrain(t *testing.T, s admission.Store) {
	p := Params() // 1 a second, drain window 10s
	for n := range 100 {
		join(t, s, p, n, at(-time.Second))
	}
	for i := 0; i <= 9; i++ {
		if l := advance(t, s, p, at(time.Duration(i)*time.Second)); l.Drain.Known() {
			t.Fatalf("at %ds: drain %+v before one window was measured", i, l.Drain)
		}
	}
	l := advance(t, s, p, at(10*time.Second))
	if !l.Drain.Known() || l.Drain.Admissions != 10 || l.Drain.Over != 10*time.Second {
		t.Fatalf("after 10s: drain %+v, want 10 over 10s", l.Drain)
	}
	// The next call comes 5s later: 5 were admitted meanwhile, one a
	// second, over 5s of busy time.
	l = advance(t, s, p, at(15*time.Second))
	if l.Drain.Admissions != 15 || l.Drain.Over != 15*time.Second {
		t.Fatalf("after 15s: drain %+v, want 15 over 15s", l.Drain)
	}
	if r := join(t, s, p, 1000, at(15*time.Second)); r.JoinDrain != l.Drain || r.JoinAhead != r.Ahead || r.JoinAhead < 0 {
		t.Fatalf("join: join drain %+v ahead %d (ahead %d), want %+v", r.JoinDrain, r.JoinAhead, r.Ahead, l.Drain)
	}
}

func testRoomsIndependent(t *testing.T, s admission.Store) {
	p := Params()
	a, err := s.Join(ctx, at(-time.Second), "room-a", p, ID(1))
	if err != nil {
		t.Fatal(err)
	}
	q := p
	q.Opening = Opening.Add(time.Hour)
	q.Seed[5] = 99
	b, err := s.Join(ctx, at(-time.Second), "room-b", q, ID(1))
	if err != nil {
		t.Fatal(err)
	}
	if a.Index != 0 || b.Index != 0 {
		t.Fatalf("indices %d and %d, want 0 in each room", a.Index, b.Index)
	}
	la, _ := s.Advance(ctx, Opening, "room-a", p)
	lb, _ := s.Advance(ctx, Opening, "room-b", q)
	if la.Admitted != 1 || lb.Admitted != 0 {
		t.Fatalf("admitted %d and %d, want 1 and 0", la.Admitted, lb.Admitted)
	}
}

func testConcurrentJoins(t *testing.T, s admission.Store) {
	p := Params()
	const people, tries = 40, 5
	var (
		mu  sync.Mutex
		idx = map[int]uint64{}
		wg  sync.WaitGroup
	)
	errs := make(chan error, people*tries)
	for g := range tries {
		for n := range people {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rec, err := s.Join(ctx, at(time.Duration(g-3)*time.Millisecond), room, p, ID(n))
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if prev, ok := idx[n]; ok && prev != rec.Index {
					errs <- fmt.Errorf("person %d: index %d and %d", n, prev, rec.Index)
				}
				idx[n] = rec.Index
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	seen := map[uint64]bool{}
	for _, i := range idx {
		if seen[i] || i >= people {
			t.Fatalf("index %d given twice or out of range: %v", i, idx)
		}
		seen[i] = true
	}
	if l := advance(t, s, p, at(time.Hour)); l.Joined != people {
		t.Fatalf("joined %d, want %d", l.Joined, people)
	}
}

// testMatchesMemory plays random calls on the store and on the memory
// store: every record and every error must be the same.
func testMatchesMemory(t *testing.T, s admission.Store) {
	for seed := uint64(1); seed <= 3; seed++ {
		ref := admission.NewMemoryStore()
		rng := rand.New(rand.NewPCG(seed, 7))
		p := Params()
		p.Rate = 30 + rng.IntN(300)
		p.Burst = 1 + rng.IntN(4)
		p.Cap = rng.IntN(6)
		p.ClaimWindow = time.Duration(1+rng.IntN(5)) * time.Second
		p.SessionTTL = time.Duration(2+rng.IntN(8)) * time.Second
		p.DrainWindow = time.Duration(1+rng.IntN(4)) * time.Second
		name := fmt.Sprint("random-", seed)
		indexOf := map[admission.IdentityHash]uint64{}
		early := int64(-1)
		now := Opening.Add(-5 * time.Second)
		for step := range 400 {
			// Time moves by 0 to 1s, now and then by up to 20s; sometimes a
			// call comes from a clock that is behind.
			now = now.Add(time.Duration(rng.IntN(1000)) * time.Millisecond)
			if rng.IntN(30) == 0 {
				now = now.Add(time.Duration(rng.IntN(20)) * time.Second)
			}
			callAt := now
			if rng.IntN(10) == 0 {
				callAt = now.Add(-time.Duration(rng.IntN(3000)) * time.Millisecond)
			}
			id := ID(rng.IntN(25))
			var (
				op        string
				got, want any
				gotErr    error
				wantErr   error
			)
			switch k := rng.IntN(10); {
			case step%97 == 50:
				// The limits change now and then, from any instance.
				l := admission.Limits{Rate: 30 + rng.IntN(300), Burst: 1 + rng.IntN(4), Cap: rng.IntN(6)}
				op = fmt.Sprintf("SetLimits(%+v)", l)
				got, gotErr = s.SetLimits(ctx, callAt, name, p, l)
				want, wantErr = ref.SetLimits(ctx, callAt, name, p, l)
			case step%53 == 20:
				// A supply reading, now and then from zero.
				pl := admission.Places{Free: int64(rng.IntN(8)), Held: int64(rng.IntN(3))}
				if rng.IntN(4) == 0 {
					pl = admission.Places{}
				}
				a := pl.Free * int64(1+rng.IntN(2))
				op = fmt.Sprintf("SetSupply(%+v, %d)", pl, a)
				got, gotErr = s.SetSupply(ctx, callAt, name, p, pl, a)
				want, wantErr = ref.SetSupply(ctx, callAt, name, p, pl, a)
			case step%61 == 30:
				// A pacer's conditional change.
				l := admission.Limits{Rate: 30 + rng.IntN(300), Burst: 1 + rng.IntN(4), Cap: rng.IntN(6)}
				since := callAt.Add(-time.Duration(rng.IntN(30)) * time.Second)
				op = fmt.Sprintf("AdjustLimits(%+v, since %v)", l, since.Sub(Opening))
				got, gotErr = s.AdjustLimits(ctx, callAt, name, p, l, since)
				want, wantErr = ref.AdjustLimits(ctx, callAt, name, p, l, since)
			case k < 3:
				op = "Join"
				got, gotErr = s.Join(ctx, callAt, name, p, id)
				want, wantErr = ref.Join(ctx, callAt, name, p, id)
			case k < 8:
				// Half the time with the place computed as a Room does.
				op = "Status"
				var hint admission.PlaceHint
				if idx, ok := indexOf[id]; ok && early >= 0 && rng.IntN(2) == 0 {
					e := uint64(early)
					hint = admission.PlaceHint{Known: true, Index: idx, Early: e, Place: idx}
					if idx < e {
						hint.Place = admission.NewShuffle(p.Seed, e).Place(idx)
					}
				}
				got, gotErr = s.Status(ctx, callAt, name, p, id, hint)
				want, wantErr = ref.Status(ctx, callAt, name, p, id, hint)
			case k < 9:
				op = "Done"
				got, gotErr = s.Done(ctx, callAt, name, p, id)
				want, wantErr = ref.Done(ctx, callAt, name, p, id)
			default:
				op = "Advance"
				got, gotErr = s.Advance(ctx, callAt, name, p)
				want, wantErr = ref.Advance(ctx, callAt, name, p)
			}
			if !errors.Is(gotErr, wantErr) && !(gotErr == nil && wantErr == nil) {
				t.Fatalf("seed %d step %d: %s: error %v, memory store %v", seed, step, op, gotErr, wantErr)
			}
			if gotErr == nil && !equal(got, want) {
				t.Fatalf("seed %d step %d: %s at %v:\n got    %+v\n memory %+v", seed, step, op, callAt.Sub(Opening), got, want)
			}
			switch w := want.(type) {
			case admission.Record:
				indexOf[id] = w.Index
				early = w.Line.Early
			case admission.Line:
				early = w.Early
			}
		}
	}
}

// equal compares records with time.Time.Equal.
func equal(a, b any) bool {
	switch a := a.(type) {
	case admission.Record:
		b := b.(admission.Record)
		return a.Joined.Equal(b.Joined) && a.Admitted.Equal(b.Admitted) && a.Deadline.Equal(b.Deadline) &&
			stripTimes(a) == stripTimes(b)
	case admission.Line:
		return a == b.(admission.Line)
	}
	return false
}

func stripTimes(r admission.Record) admission.Record {
	r.Joined, r.Admitted, r.Deadline = time.Time{}, time.Time{}, time.Time{}
	return r
}
