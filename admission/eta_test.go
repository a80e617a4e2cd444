package admission_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/admission"
)

// simulate drains a line on a mock clock: person k joins at arrival(k),
// then polls when told (Status.PollAfter); once admitted, stays for
// session(k) and calls Done. It returns, for every person, the ETA shown
// at join and the actual wait (join to admission), and the room.
func simulate(t *testing.T, people int, arrival func(int) time.Duration, session func(int) time.Duration,
	mod func(*admission.Options)) (shown []admission.ETA, waited []time.Duration, room *admission.Room) {
	t.Helper()
	res := runETA(t, etaRun{people: people, arrival: arrival, session: session, mod: mod})
	return res.shown, res.waited, res.room
}

// judge returns how many people saw a known ETA at join and how many of
// them waited within it, after checking that nobody saw a figure before
// the first measurement.
func judge(t *testing.T, shown []admission.ETA, waited []time.Duration, room *admission.Room) {
	t.Helper()
	known, inside := 0, 0
	for k := range shown {
		if !shown[k].Known {
			if known > 0 && waited[k] > 0 {
				// Once measured, the drain stays known.
				t.Fatalf("person %d: ETA unknown at join after others saw one", k)
			}
			continue
		}
		if shown[k].Min > shown[k].Max {
			t.Fatalf("person %d: ETA %+v", k, shown[k])
		}
		known++
		if shown[k].Contains(waited[k]) {
			inside++
		}
	}
	if shown[0].Known {
		t.Fatal("the first person saw an ETA before any measurement")
	}
	if known < len(shown)/2 {
		t.Fatalf("only %d of %d people saw a known ETA", known, len(shown))
	}
	ratio := float64(inside) / float64(known)
	t.Logf("%d of %d known ETAs held the actual wait (%.1f%%)", inside, known, 100*ratio)
	if ratio < 0.9 {
		t.Fatalf("calibration %.2f, want >= 0.9", ratio)
	}
	// The room's own figure judges the drain-only estimate recomputed
	// from the store's join figures, for everyone who saw a drain at
	// join: at least the people shown a range.
	st := mustStats(t, room)
	if st.Calibration.Samples < int64(known) {
		t.Fatalf("room calibration %+v, want at least %d samples", st.Calibration, known)
	}
}

// TestETARateBound: the rate is the bottleneck (one a second); people
// arrive twice as fast, so the line grows to minutes.
func TestETARateBound(t *testing.T) {
	t.Parallel()
	shown, waited, room := simulate(t, 300,
		func(k int) time.Duration { return time.Duration(k) * 500 * time.Millisecond },
		func(int) time.Duration { return 0 },
		func(o *admission.Options) {
			o.Rate, o.Burst, o.DrainWindow, o.ClaimWindow = 60, 1, 20*time.Second, time.Minute
		})
	judge(t, shown, waited, room)
}

// TestETACapBound: the cap is the bottleneck: 10 active, each booking for
// 5 to 15 seconds, so the line drains at about one a second however fast
// the rate would allow.
func TestETACapBound(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(12, 7))
	sessions := make([]time.Duration, 300)
	for k := range sessions {
		sessions[k] = time.Duration(5000+rng.IntN(10000)) * time.Millisecond
	}
	shown, waited, room := simulate(t, len(sessions),
		func(k int) time.Duration { return time.Duration(k) * 600 * time.Millisecond },
		func(k int) time.Duration { return sessions[k] },
		func(o *admission.Options) {
			o.Rate, o.Burst, o.Cap, o.DrainWindow, o.ClaimWindow = 600, 5, 10, 20*time.Second, time.Minute
		})
	judge(t, shown, waited, room)
}

// TestETANeverFasterThanRate: whatever was measured, the minimum is never
// below what the configured rate allows.
func TestETANeverFasterThanRate(t *testing.T) {
	clk := newClock(-time.Second)
	room := newRoom(t, admission.NewMemoryStore(), options(t, "eta", clk, func(o *admission.Options) {
		o.Rate, o.Burst, o.DrainWindow = 60, 10, time.Second
	}))
	for k := range 200 {
		mustJoin(t, room, person(k))
	}
	// The burst drains 10 at the opening: the measured drain is far above
	// the rate of one a second.
	clk.Set(opening)
	mustStats(t, room)
	clk.Add(time.Second)
	st := mustStatus(t, room, person(0))
	for k := range 200 {
		st = mustStatus(t, room, person(k))
		if st.State != admission.StateWaiting {
			continue
		}
		floor := time.Duration(st.Ahead+1-10) * time.Second
		if !st.ETA.Known || st.ETA.Min < floor {
			t.Fatalf("ahead %d: ETA %+v, the rate allows no less than %v", st.Ahead, st.ETA, floor)
		}
	}
}
