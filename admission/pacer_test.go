package admission_test

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/admission"
)

func TestPacingOptions(t *testing.T) {
	bad := []admission.PacingOptions{
		{},
		{Min: 0, Max: 10, Target: time.Second},
		{Min: 20, Max: 10, Target: time.Second},
		{Min: 1, Max: 10},
		{Min: 1, Max: 10, Target: time.Second, Backoff: 1},
		{Min: 1, Max: 10, Target: time.Second, MaxErrors: -0.1},
		{Min: 1, Max: 10, Target: time.Second, Interval: time.Microsecond},
		{Min: 1, Max: 10, Target: time.Second, SlowShare: 1},
		{Min: 1, Max: 10, Target: time.Second, Step: -1},
	}
	for _, o := range bad {
		if _, err := admission.NewPacer(o); err == nil {
			t.Errorf("NewPacer(%+v): no error", o)
		}
	}
	p, err := admission.NewPacer(admission.PacingOptions{Min: 60, Max: 660, Target: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if o := p.Options(); o.Interval != admission.DefaultPacingInterval || o.Step != 30 || o.Backoff != admission.DefaultPacingBackoff {
		t.Fatalf("defaults: %+v", o)
	}
}

// scenarioPacer: three instances, each with its own pacer observing its
// own booking calls, over one store, on a mock clock. The backend answers
// in 50ms up to 300 people a minute and 2ms slower per person a minute
// above it (the target is 100ms). The rate is never
// outside [min, max], changes at most once per interval (one rate shared
// by all), settles around the backend's capacity, follows an operator's
// narrower bounds live, and sinks to the minimum (not below) while the
// backend is failing.
func scenarioPacer(t *testing.T, newStore func(testing.TB) admission.Store) {
	const (
		lo, hi   = 60, 600
		capacity = 300
		step     = 30
		interval = 5 * time.Second
	)
	clk := newClock(-time.Second)
	store := newStore(t)
	var (
		rooms  []*admission.Room
		pacers []*admission.Pacer
	)
	for range 3 {
		p, err := admission.NewPacer(admission.PacingOptions{Min: lo, Max: hi, Target: 100 * time.Millisecond, Interval: interval, Step: step})
		if err != nil {
			t.Fatal(err)
		}
		pacers = append(pacers, p)
		rooms = append(rooms, newRoom(t, store, options(t, "paced", clk, func(o *admission.Options) {
			o.Rate, o.Burst, o.Pacer = 120, 10, p
			o.RefreshInterval = 500 * time.Millisecond
		})))
	}
	mustJoin(t, rooms[0], person(0)) // someone in the room
	clk.Set(opening)
	changes := map[time.Time]bool{}
	var rates []int
	run := func(d time.Duration, capacity int, failing bool, bound [2]int) {
		t.Helper()
		for end := clk.Now().Add(d); clk.Now().Before(end); clk.Add(500 * time.Millisecond) {
			// Every instance refreshes; each sees the store's rate before
			// or after this step's decision (one refresh interval apart).
			before, err := store.Advance(ctx, clk.Now(), "paced", rooms[0].Params())
			if err != nil {
				t.Fatal(err)
			}
			var seen []int
			for _, r := range rooms {
				pl, err := r.Line(ctx)
				if err != nil {
					t.Fatal(err)
				}
				seen = append(seen, pl.Limits.Rate)
			}
			s := mustStats(t, rooms[0])
			rate := s.Limits.Rate
			for _, r := range seen {
				if r != rate && r != before.Limits.Rate {
					t.Fatalf("at %v an instance saw rate %d, the store had %d then %d", clk.Now().Sub(opening), r, before.Limits.Rate, rate)
				}
			}
			for _, rate := range append(seen, rate) {
				if rate < bound[0] || rate > bound[1] {
					t.Fatalf("at %v rate %d outside [%d, %d]", clk.Now().Sub(opening), rate, bound[0], bound[1])
				}
			}
			changes[s.LimitsChanged] = true
			rates = append(rates, rate)
			// Each instance sees three booking calls per step.
			for _, p := range pacers {
				for range 3 {
					switch {
					case failing:
						p.Observe(2*time.Second, errors.New("timeout"))
					default:
						p.Observe(50*time.Millisecond+time.Duration(max(0, rate-capacity))*2*time.Millisecond, nil)
					}
				}
			}
		}
	}
	run(10*time.Minute, capacity, false, [2]int{lo, hi})
	if n, most := len(changes), int(10*time.Minute/interval)+1; n > most {
		t.Fatalf("%d rate changes in %d intervals: instances acted on one interval twice", n, most)
	}
	// Converged: over the last five minutes, between the backoff under
	// capacity and one step over it, and around it on average.
	// The latency reaches the target at 325 a minute.
	const knee = capacity + 25
	last := rates[len(rates)/2:]
	sum := 0
	for _, r := range last {
		if r < knee/2-step || r > knee+step {
			t.Fatalf("rate %d after 5 minutes: not settled around %d", r, knee)
		}
		sum += r
	}
	if mean := sum / len(last); mean < knee/2 || mean > knee+step {
		t.Fatalf("mean rate %d over the last 5 minutes", mean)
	}
	// An operator narrows the bounds live, on one instance.
	if _, err := rooms[1].SetLimits(ctx, admission.Limits{Rate: 200, Burst: 10, MinRate: 100, MaxRate: 200}); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Second)
	run(2*time.Minute, 1000, false, [2]int{100, 200})
	if r := rates[len(rates)-1]; r != 200 {
		t.Fatalf("healthy under narrowed bounds: rate %d, want the max 200", r)
	}
	// The backend fails: down to the minimum, never below.
	if _, err := rooms[2].SetLimits(ctx, admission.Limits{Rate: 200, Burst: 10}); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Second)
	run(2*time.Minute, capacity, true, [2]int{lo, hi})
	if r := rates[len(rates)-1]; r != lo {
		t.Fatalf("backend failing for 2 minutes: rate %d, want the min %d", r, lo)
	}
}

// TestPacerGradient: the further past the target, the deeper the cut; a
// healthy interval adds a step; the bounds hold.
func TestPacerGradient(t *testing.T) {
	clk := newClock(-time.Second)
	p, err := admission.NewPacer(admission.PacingOptions{Min: 10, Max: 600, Target: 100 * time.Millisecond, Interval: time.Second, Step: 5})
	if err != nil {
		t.Fatal(err)
	}
	r := newRoom(t, admission.NewMemoryStore(), options(t, "gradient", clk, func(o *admission.Options) {
		o.Rate, o.Burst, o.Pacer = 600, 10, p
	}))
	mustJoin(t, r, person(0))
	clk.Set(opening.Add(1500 * time.Millisecond))
	for _, c := range []struct {
		lat  time.Duration
		err  error
		want int
	}{
		{0, nil, 600},                          // no calls: healthy, at the max already
		{time.Second, nil, 60},                 // 10 x the target: a tenth
		{150 * time.Millisecond, nil, 30},      // 1.5 x: the backoff (0.5) is deeper
		{50 * time.Millisecond, nil, 35},       // healthy: a step up
		{50 * time.Millisecond, errBroken, 17}, // failures: the backoff
		{10 * time.Second, nil, 10},            // never below the min
	} {
		if c.lat > 0 {
			for range 20 {
				p.Observe(c.lat, c.err)
			}
		}
		clk.Add(time.Second)
		if s := mustStats(t, r); s.Limits.Rate != c.want {
			t.Fatalf("after calls of %v (err %v): rate %d, want %d", c.lat, c.err, s.Limits.Rate, c.want)
		}
	}
}
