package admission_test

import (
	"errors"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/admission"
)

// The scenarios run end to end through Room on every backend: memory here,
// Redis standalone and Cluster in TestRedis.
var scenarios = []struct {
	name string
	fn   func(t *testing.T, newStore func(testing.TB) admission.Store)
}{
	{"Fairness", scenarioFairness},
	{"Pacing", scenarioPacing},
	{"ReconnectStorm", scenarioReconnectStorm},
	{"AwayWhenCalled", scenarioAway},
	{"TicketsAndStaleSnapshot", scenarioTickets},
	{"SoldOut", scenarioSoldOut},
	{"PacerSharedByThreeInstances", scenarioPacer},
}

// instances returns three rooms over one store, built with the same
// options, as three servers would.
func instances(t testing.TB, store admission.Store, o admission.Options) []*admission.Room {
	var rooms []*admission.Room
	for range 3 {
		rooms = append(rooms, newRoom(t, store, o))
	}
	return rooms
}

func TestMemoryScenarios(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			sc.fn(t, func(testing.TB) admission.Store { return admission.NewMemoryStore() })
		})
	}
}

// scenarioFairness: early arrivals, joining in a random order, are
// admitted in the order Order(seed, E) recomputed from what the room
// publishes; later arrivals in their arrival order, after them.
func scenarioFairness(t *testing.T, newStore func(testing.TB) admission.Store) {
	const early, late = 60, 30
	clk := newClock(-10 * time.Minute)
	// 10 a second with burst 1: exactly one admission per 100ms step.
	rooms := instances(t, newStore(t), options(t, "fair", clk, func(o *admission.Options) { o.Rate = 600; o.ClaimWindow = time.Hour }))
	room := rooms[0]
	rng := rand.New(rand.NewPCG(2021, 7))
	index := map[string]uint64{}
	tickets := map[string]string{}
	var ids []string
	for _, n := range rng.Perm(early) {
		clk.Add(time.Duration(1+rng.IntN(5000)) * time.Millisecond)
		st := mustJoin(t, rooms[n%3], person(n))
		tickets[person(n)] = st.Ticket
		if !st.Early || st.Place != -1 || st.Ahead != -1 || st.ETA.Known {
			t.Fatalf("early arrival before the opening: %+v", st)
		}
		index[person(n)] = st.Index
		ids = append(ids, person(n))
	}
	if _, ok := room.Seed(clk.Now()); ok {
		t.Fatal("seed revealed before the opening")
	}
	clk.Set(opening)
	var lateIDs []string
	for n := early; n < early+late; n++ {
		clk.Add(time.Millisecond)
		st := mustJoin(t, rooms[n%3], person(n))
		if st.Early || st.Place != int64(st.Index) {
			t.Fatalf("late arrival: %+v", st)
		}
		tickets[person(n)] = st.Ticket
		lateIDs = append(lateIDs, person(n))
	}
	ids = append(ids, lateIDs...)
	admitted := map[string]time.Time{}
	for step := 0; len(admitted) < len(ids) && step < 10*len(ids); step++ {
		clk.Add(100 * time.Millisecond)
		for _, i := range rng.Perm(len(ids)) {
			id := ids[i]
			if _, ok := admitted[id]; ok {
				continue
			}
			st := mustPoll(t, rooms[i%3], id, tickets[id])
			if st.State == admission.StateAdmitted {
				admitted[id] = st.Admitted
			} else if st.Ticket != "" {
				tickets[id] = st.Ticket
			}
		}
	}
	if len(admitted) != len(ids) {
		t.Fatalf("%d of %d admitted", len(admitted), len(ids))
	}
	byTime := slices.Clone(ids)
	slices.SortFunc(byTime, func(a, b string) int { return admitted[a].Compare(admitted[b]) })
	for i := 1; i < len(byTime); i++ {
		if admitted[byTime[i]].Equal(admitted[byTime[i-1]]) {
			t.Fatalf("%s and %s admitted at the same instant", byTime[i-1], byTime[i])
		}
	}
	// Recompute the opening order from what the room publishes.
	published, ok := room.Seed(clk.Now())
	if !ok || !admission.VerifyCommitment(published, room.SeedCommitment()) {
		t.Fatal("published seed missing or not matching the commitment")
	}
	stats := mustStats(t, room)
	if stats.Early != early {
		t.Fatalf("E = %d, want %d", stats.Early, early)
	}
	order := admission.Order(published, uint64(stats.Early))
	for place, idx := range order {
		if got := index[byTime[place]]; got != idx {
			t.Fatalf("admission #%d: arrival index %d, the published shuffle says %d", place, got, idx)
		}
	}
	if !slices.Equal(byTime[early:], lateIDs) {
		t.Fatalf("later arrivals admitted in order %v, want %v", byTime[early:], lateIDs)
	}
}

// scenarioPacing: three rooms on one store, called concurrently from many
// goroutines at instants a mock clock sets, never admit more than
// rate*interval + burst over any interval, nor more than the cap at once.
func scenarioPacing(t *testing.T, newStore func(testing.TB) admission.Store) {
	const rate, burst, capacity, people = 120, 4, 12, 160
	clk := newClock(-10 * time.Second)
	store := newStore(t)
	var rooms []*admission.Room
	for range 3 {
		rooms = append(rooms, newRoom(t, store, options(t, "paced", clk, func(o *admission.Options) {
			o.Rate, o.Burst, o.Cap = rate, burst, capacity
			o.ClaimWindow, o.SessionTTL = 3*time.Second, 6*time.Second
		})))
	}
	rng := rand.New(rand.NewPCG(3, 3))
	var (
		mu      sync.Mutex
		joined  = map[int]bool{}
		tickets = map[int]string{}
		index   = map[int]uint64{}
		failed  error
	)
	type obs struct {
		at       time.Time
		admitted uint64
	}
	var seen []obs
	for round := range 120 {
		clk.Add(time.Duration(rng.IntN(900)) * time.Millisecond)
		var wg sync.WaitGroup
		for g := range 6 {
			room := rooms[g%3]
			seedA, seedB := rng.Uint64(), rng.Uint64()
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(seedA, seedB))
				for range 8 {
					n := r.IntN(people)
					mu.Lock()
					j, tk := joined[n], tickets[n]
					mu.Unlock()
					var (
						st  admission.Status
						err error
					)
					switch {
					case !j && round < 80:
						st, err = room.Join(ctx, person(n))
						mu.Lock()
						joined[n] = true
						mu.Unlock()
					case !j:
						continue
					default:
						st, err = room.Poll(ctx, person(n), tk)
					}
					if err == nil {
						mu.Lock()
						if st.Ticket != "" {
							tickets[n] = st.Ticket
						}
						if i, ok := index[n]; ok && i != st.Index {
							failed = errors.New(person(n) + " has two places")
						}
						index[n] = st.Index
						mu.Unlock()
					}
					if err == nil && st.State == admission.StateAdmitted && r.IntN(3) == 0 {
						_, err = room.Done(ctx, person(n))
					}
					if err != nil && !errors.Is(err, admission.ErrNotJoined) {
						mu.Lock()
						failed = err
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
		if failed != nil {
			t.Fatal(failed)
		}
		s := mustStats(t, rooms[round%3])
		if s.Active > capacity {
			t.Fatalf("round %d: %d active, cap %d", round, s.Active, capacity)
		}
		seen = append(seen, obs{clk.Now(), s.Admitted})
	}
	for i := range seen {
		for j := i + 1; j < len(seen); j++ {
			d := seen[j].at.Sub(seen[i].at)
			limit := uint64(rate*d.Minutes()) + burst
			if got := seen[j].admitted - seen[i].admitted; got > limit {
				t.Fatalf("%d admitted in %v (from %v), limit %d", got, d, seen[i].at.Sub(opening), limit)
			}
		}
	}
	total := seen[len(seen)-1].admitted
	if total < 60 {
		t.Fatalf("only %d admitted: the line barely moved", total)
	}
	t.Logf("%d admissions over %v", total, seen[len(seen)-1].at.Sub(opening))
}

// scenarioReconnectStorm: every identity joins many times, from many
// goroutines, through three instances: one place each, unchanged.
func scenarioReconnectStorm(t *testing.T, newStore func(testing.TB) admission.Store) {
	const people, tries = 30, 12
	clk := newClock(-time.Minute)
	store := newStore(t)
	var rooms []*admission.Room
	for range 3 {
		rooms = append(rooms, newRoom(t, store, options(t, "storm", clk, func(o *admission.Options) { o.Rate = 1 })))
	}
	storm := func(phase string) map[string]admission.Status {
		var (
			mu   sync.Mutex
			wg   sync.WaitGroup
			seen = map[string]admission.Status{}
			errs []error
		)
		for g := range people * tries {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := person(g % people)
				room := rooms[g%3]
				var (
					st  admission.Status
					err error
				)
				if g%2 == 0 {
					st, err = room.Join(ctx, id)
				} else if st, err = room.Status(ctx, id); errors.Is(err, admission.ErrNotJoined) {
					st, err = room.Join(ctx, id)
				}
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
					return
				}
				if prev, ok := seen[id]; ok && (prev.Index != st.Index || prev.Place != st.Place) {
					errs = append(errs, errors.New(phase+": "+id+" moved"))
				}
				seen[id] = st
			}()
		}
		wg.Wait()
		for _, err := range errs {
			t.Fatal(err)
		}
		return seen
	}
	before := storm("before the opening")
	if s := mustStats(t, rooms[0]); s.Joined != people {
		t.Fatalf("%d joined, want %d", s.Joined, people)
	}
	clk.Set(opening.Add(time.Second))
	after := storm("after the opening")
	places := map[int64]bool{}
	for id, st := range after {
		if st.Index != before[id].Index {
			t.Fatalf("%s: index %d, was %d", id, st.Index, before[id].Index)
		}
		if places[st.Place] || st.Place < 0 || st.Place >= people {
			t.Fatalf("%s: place %d taken twice or out of range", id, st.Place)
		}
		places[st.Place] = true
	}
	// And again: the places do not move.
	again := storm("again")
	for id, st := range again {
		if st.Place != after[id].Place {
			t.Fatalf("%s: place %d, was %d", id, st.Place, after[id].Place)
		}
	}
	if s := mustStats(t, rooms[1]); s.Joined != people {
		t.Fatalf("%d joined, want %d", s.Joined, people)
	}
}

// scenarioAway: someone called while away loses the active place after
// the claim window (the cap frees for the next), and on return is
// admitted again before later places.
func scenarioAway(t *testing.T, newStore func(testing.TB) admission.Store) {
	clk := newClock(time.Second)
	rooms := instances(t, newStore(t), options(t, "away", clk, func(o *admission.Options) { o.Cap = 1 }))
	x, a, b, c := person(0), person(1), person(2), person(3)
	tickets := map[string]string{}
	poll := func(i int, id string) admission.Status {
		t.Helper()
		st := mustPoll(t, rooms[i%3], id, tickets[id])
		if st.Ticket != "" {
			tickets[id] = st.Ticket
		}
		return st
	}
	if st := mustJoin(t, rooms[0], x); st.State != admission.StateAdmitted {
		t.Fatalf("first in: %+v", st)
	}
	for i, id := range []string{a, b, c} {
		clk.Add(time.Second)
		tickets[id] = mustJoin(t, rooms[i], id).Ticket
	}
	clk.Add(time.Second)
	if _, err := rooms[1].Done(ctx, x); err != nil {
		t.Fatal(err)
	}
	// a is called now but is away (does not poll).
	if st := poll(2, b); st.State != admission.StateWaiting || st.Ahead != 0 {
		t.Fatalf("b while a holds the place: %+v", st)
	}
	if s := mustStats(t, rooms[0]); s.Active != 1 || s.Serving != 2 {
		t.Fatalf("after x is done: %+v", s.Line)
	}
	clk.Add(10 * time.Second) // the claim window
	st := poll(0, b)
	if st.State != admission.StateAdmitted || st.Pass == "" {
		t.Fatalf("b after a's claim window: %+v, want admitted", st)
	}
	// a comes back (b's session runs until 75s): head of the line, ahead
	// of c.
	clk.Add(30 * time.Second)
	st = poll(1, a)
	if st.State != admission.StateWaiting || !st.Returning || st.Ahead != 0 {
		t.Fatalf("a back: %+v, want waiting at the head", st)
	}
	clk.Add(2 * time.Second) // the instances' snapshots catch up
	if st := poll(2, c); st.Ahead != 1 {
		t.Fatalf("c: ahead %d, want 1 (a first)", st.Ahead)
	}
	if _, err := rooms[0].Done(ctx, b); err != nil {
		t.Fatal(err)
	}
	clk.Add(2 * time.Second)
	if st := poll(1, c); st.State != admission.StateWaiting || st.Ahead != 0 {
		t.Fatalf("c once b is done: %+v, want still waiting behind a", st)
	}
	st = poll(2, a)
	if st.State != admission.StateAdmitted || st.Pass == "" {
		t.Fatalf("a once b is done: %+v, want admitted", st)
	}
	if err := rooms[0].Verify(clk.Now(), st.Pass, a); err != nil {
		t.Fatalf("a's pass: %v", err)
	}
}

// scenarioTickets: three instances; tickets forged, expired, of another
// room or identity, or a pass presented as a ticket, are refused (the
// store is asked and tells the real place); a ticket is never a pass; a
// snapshot too old with the store down is a 503, and nobody is admitted.
func scenarioTickets(t *testing.T, newStore func(testing.TB) admission.Store) {
	clk := newClock(-time.Minute)
	base := newStore(t)
	store := &countingStore{Store: base}
	mod := func(o *admission.Options) {
		o.Rate, o.Burst, o.RefreshInterval, o.StaleAfter = 6, 1, time.Second, 5*time.Second // one every 10s
	}
	rooms := instances(t, store, options(t, "tickets", clk, mod))
	other := newRoom(t, base, options(t, "tickets-other", clk, mod))
	short := newRoom(t, base, options(t, "tickets", clk, func(o *admission.Options) { mod(o); o.TicketTTL = 2 * time.Second }))
	tickets := map[int]string{}
	for n := range 10 {
		tickets[n] = mustJoin(t, rooms[n%3], person(n)).Ticket
	}
	mustJoin(t, other, person(9))
	otherTicket := mustPoll(t, other, person(9), "").Ticket
	expired := mustPoll(t, short, person(9), "").Ticket
	clk.Set(opening.Add(3 * time.Second)) // place 0 called at the opening
	var holder admission.Status
	for n := range 10 {
		if st := mustPoll(t, rooms[n%3], person(n), tickets[n]); st.State == admission.StateAdmitted {
			holder = st
		}
	}
	if holder.Pass == "" {
		t.Fatal("nobody admitted at the opening")
	}
	real := mustPoll(t, rooms[1], person(9), tickets[9])
	if real.State != admission.StateWaiting || real.Place < 1 {
		t.Fatalf("person 9: %+v", real)
	}
	forger := mustKeyring(t, admission.Key{ID: keyCur.ID, Secret: []byte(strings.Repeat("forged-secret-", 3))})
	forged, err := forger.SignTicket(admission.Ticket{Room: "tickets", Identity: rooms[0].Hash(person(9)), Index: 0, Place: 0,
		Joined: clk.Now(), Expires: clk.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	for name, tk := range map[string]string{
		"forged for place 0": forged,
		"another room's":     otherTicket,
		"another identity's": tickets[3],
		"expired":            expired,
		"a pass":             holder.Pass,
	} {
		before := store.calls.Load()
		st := mustPoll(t, rooms[2], person(9), tk)
		if st.State != admission.StateWaiting || st.Place != real.Place || st.Index != real.Index {
			t.Fatalf("%s ticket: %+v, want waiting at place %d", name, st, real.Place)
		}
		if store.calls.Load() == before {
			t.Fatalf("%s ticket trusted: answered without the store", name)
		}
	}
	if w := do(t, rooms[0].Protect(booked, identityFromHeader), call{path: "/book", user: person(9), pass: tickets[9]}); w.Code != http.StatusForbidden {
		t.Fatalf("a ticket as a pass: %d", w.Code)
	}
	// The store goes down: answers from the snapshot within StaleAfter,
	// then 503 on every instance; nobody admitted.
	store.down.Store(true)
	clk.Add(2 * time.Second)
	for i, r := range rooms {
		if st := mustPoll(t, r, person(9), real.Ticket); st.State != admission.StateWaiting {
			t.Fatalf("instance %d within the staleness bound: %+v", i, st)
		}
	}
	clk.Add(4 * time.Second)
	for i, r := range rooms {
		if _, err := r.Poll(ctx, person(9), real.Ticket); !errors.Is(err, admission.ErrUnavailable) {
			t.Fatalf("instance %d, snapshot too old: %v, want ErrUnavailable", i, err)
		}
		w := do(t, r.Handler(identityFromHeader), call{path: "/q/status", user: person(9), ticket: real.Ticket})
		wantProblem(t, w, http.StatusServiceUnavailable, "stale snapshot")
	}
	clk.Add(time.Minute) // everyone is owed a call by now, but the store is down
	for n := range 10 {
		if st, err := rooms[n%3].Poll(ctx, person(n), tickets[n]); err == nil && st.State == admission.StateAdmitted && st.Pass != holder.Pass {
			t.Fatalf("%s admitted while the store was down", person(n))
		}
	}
	store.down.Store(false)
	if st := mustPoll(t, rooms[0], person(9), real.Ticket); st.Place != real.Place {
		t.Fatalf("after the outage: %+v", st)
	}
}
