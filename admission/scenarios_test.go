package admission_test

import (
	"errors"
	"math/rand/v2"
	"slices"
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
	room := newRoom(t, newStore(t), options(t, "fair", clk, func(o *admission.Options) { o.Rate = 600; o.ClaimWindow = time.Hour }))
	rng := rand.New(rand.NewPCG(2021, 7))
	index := map[string]uint64{}
	var ids []string
	for _, n := range rng.Perm(early) {
		clk.Add(time.Duration(1+rng.IntN(5000)) * time.Millisecond)
		st := mustJoin(t, room, person(n))
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
		st := mustJoin(t, room, person(n))
		if st.Early || st.Place != int64(st.Index) {
			t.Fatalf("late arrival: %+v", st)
		}
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
			if st := mustStatus(t, room, id); st.State == admission.StateAdmitted {
				admitted[id] = st.Admitted
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
		mu     sync.Mutex
		joined = map[int]bool{}
		failed error
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
					j := joined[n]
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
						st, err = room.Status(ctx, person(n))
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
	room := newRoom(t, newStore(t), options(t, "away", clk, func(o *admission.Options) { o.Cap = 1 }))
	x, a, b, c := person(0), person(1), person(2), person(3)
	if st := mustJoin(t, room, x); st.State != admission.StateAdmitted {
		t.Fatalf("first in: %+v", st)
	}
	for _, id := range []string{a, b, c} {
		clk.Add(time.Second)
		mustJoin(t, room, id)
	}
	clk.Add(time.Second)
	if _, err := room.Done(ctx, x); err != nil {
		t.Fatal(err)
	}
	// a is called now but is away (does not poll).
	if st := mustStatus(t, room, b); st.State != admission.StateWaiting || st.Ahead != 0 {
		t.Fatalf("b while a holds the place: %+v", st)
	}
	if s := mustStats(t, room); s.Active != 1 || s.Serving != 2 {
		t.Fatalf("after x is done: %+v", s.Line)
	}
	clk.Add(10 * time.Second) // the claim window
	st := mustStatus(t, room, b)
	if st.State != admission.StateAdmitted || st.Pass == "" {
		t.Fatalf("b after a's claim window: %+v, want admitted", st)
	}
	// a comes back (b's session runs until 75s): head of the line, ahead
	// of c.
	clk.Add(30 * time.Second)
	st = mustStatus(t, room, a)
	if st.State != admission.StateWaiting || !st.Returning || st.Ahead != 0 {
		t.Fatalf("a back: %+v, want waiting at the head", st)
	}
	if st := mustStatus(t, room, c); st.Ahead != 1 {
		t.Fatalf("c: ahead %d, want 1 (a first)", st.Ahead)
	}
	if _, err := room.Done(ctx, b); err != nil {
		t.Fatal(err)
	}
	if st := mustStatus(t, room, c); st.State != admission.StateWaiting || st.Ahead != 0 {
		t.Fatalf("c once b is done: %+v, want still waiting behind a", st)
	}
	st = mustStatus(t, room, a)
	if st.State != admission.StateAdmitted || st.Pass == "" {
		t.Fatalf("a once b is done: %+v, want admitted", st)
	}
	if err := room.Verify(st.Pass, a, clk.Now()); err != nil {
		t.Fatalf("a's pass: %v", err)
	}
}
