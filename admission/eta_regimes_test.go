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

// etaRun describes a simulated line for runETA.
type etaRun struct {
	people  int
	arrival func(int) time.Duration // from the opening
	session func(int) time.Duration // admitted until Done
	mod     func(*admission.Options)
	// tick, if set, runs at every step before the people act.
	tick func(now time.Time, room *admission.Room)
	// done, if set, runs when person k leaves after being admitted.
	done func(k int)
	// until bounds the simulated time (0: until everyone is done).
	until time.Duration
}

// etaResult is what runETA saw of each person.
type etaResult struct {
	room             *admission.Room
	shown            []admission.ETA // at join
	joinedAt         []time.Duration // from the opening
	waited           []time.Duration // join to admission, if admitted
	admitted         []bool
	toldSoldOut      []bool
	timeAfterSoldOut []bool // shown a time while the room was sold out
}

// runETA drains a line on a mock clock: person k joins at arrival(k), then
// polls with the place ticket when told (PollAfter); once admitted, stays
// for session(k) and calls Done; a person told sold out goes home.
func runETA(t *testing.T, run etaRun) etaResult {
	t.Helper()
	clk := newClock(0)
	room := newRoom(t, admission.NewMemoryStore(), options(t, "eta", clk, run.mod))
	n := run.people
	res := etaResult{
		room: room, shown: make([]admission.ETA, n), joinedAt: make([]time.Duration, n),
		waited: make([]time.Duration, n), admitted: make([]bool, n), toldSoldOut: make([]bool, n),
		timeAfterSoldOut: make([]bool, n),
	}
	next := make([]time.Time, n)  // next poll; zero: not joined
	leave := make([]time.Time, n) // when to call Done; zero: not admitted
	ticket := make([]string, n)
	gone := make([]bool, n)
	finished := 0
	const step = 100 * time.Millisecond
	seen := func(k int, now time.Time, st admission.Status) {
		switch st.State {
		case admission.StateAdmitted:
			res.admitted[k] = true
			res.waited[k] = st.Admitted.Sub(st.Joined)
			leave[k] = now.Add(run.session(k))
		case admission.StateSoldOut:
			res.toldSoldOut[k] = true
			if st.ETA.Known {
				res.timeAfterSoldOut[k] = true
			}
			gone[k] = true
			finished++
		default:
			ticket[k] = st.Ticket
			next[k] = now.Add(st.PollAfter)
		}
	}
	for tick := 0; finished < n; tick++ {
		if tick > 200000 || run.until > 0 && time.Duration(tick)*step > run.until {
			break
		}
		now := opening.Add(time.Duration(tick) * step)
		clk.Set(now)
		if run.tick != nil {
			run.tick(now, room)
		}
		for k := range n {
			switch {
			case gone[k]:
			case !leave[k].IsZero():
				if !now.Before(leave[k]) {
					if run.done != nil {
						run.done(k)
					}
					if _, err := room.Done(ctx, person(k)); err != nil {
						t.Fatal(err)
					}
					gone[k] = true
					finished++
				}
			case next[k].IsZero() && now.Sub(opening) >= run.arrival(k):
				st := mustJoin(t, room, person(k))
				res.shown[k], res.joinedAt[k] = st.ETA, now.Sub(opening)
				seen(k, now, st)
			case !next[k].IsZero() && !now.Before(next[k]):
				st, err := room.Poll(ctx, person(k), ticket[k])
				if err != nil {
					t.Fatal(err)
				}
				if st.Returning {
					t.Fatalf("person %d polled as told yet missed the call", k)
				}
				seen(k, now, st)
			}
		}
	}
	return res
}

// calibration counts the people whose index keep accepts who were shown a
// known range at join and admitted, and those of them admitted inside it;
// shownNotAdmitted counts those shown a range and never admitted.
func (res etaResult) calibration(keep func(k int) bool) (shown, inside, shownNotAdmitted int) {
	for k := range res.shown {
		if !keep(k) || !res.shown[k].Known {
			continue
		}
		if !res.admitted[k] {
			shownNotAdmitted++
			continue
		}
		shown++
		if res.shown[k].Contains(res.waited[k]) {
			inside++
		}
	}
	return shown, inside, shownNotAdmitted
}

func all(int) bool { return true }

// wantCalibrated fails unless at least want of the people keep accepts
// who were shown a range (at least min of them) were admitted inside it.
func wantCalibrated(t *testing.T, res etaResult, keep func(int) bool, minShown int, want float64) {
	t.Helper()
	shown, inside, never := res.calibration(keep)
	t.Logf("%d of %d shown a range admitted inside it; %d shown a range never admitted", inside, shown, never)
	if shown < minShown {
		t.Fatalf("only %d people shown a range, want at least %d", shown, minShown)
	}
	if r := float64(inside) / float64(shown); r < want {
		t.Fatalf("calibration %.3f, want >= %.2f", r, want)
	}
	if never > 0 {
		t.Fatalf("%d people shown a range were never admitted", never)
	}
}

// TestETARateChange: an operator doubles the rate mid-run; the ranges
// shown from the next snapshot on follow the new rate (the drain measured
// over the last windows, still at the old rate, must not hold them back).
func TestETARateChange(t *testing.T) {
	t.Parallel()
	const change = 60 * time.Second
	res := runETA(t, etaRun{
		people:  400,
		arrival: func(k int) time.Duration { return time.Duration(k) * 250 * time.Millisecond },
		session: func(int) time.Duration { return 0 },
		mod: func(o *admission.Options) {
			o.Rate, o.Burst, o.DrainWindow, o.ClaimWindow = 60, 1, 20*time.Second, time.Minute
		},
		tick: func(now time.Time, room *admission.Room) {
			if now.Sub(opening) == change {
				if _, err := room.SetLimits(ctx, admission.Limits{Rate: 120, Burst: 1}); err != nil {
					t.Fatal(err)
				}
			}
		},
	})
	after := func(k int) bool { return res.joinedAt[k] >= change+time.Second }
	wantCalibrated(t, res, after, 100, 0.95)

}

// TestETACapBindsLate: the cap binds only after the first drain window
// has been measured (sessions are long), so the drain measured first is
// the rate's, twice what the cap then lets through. Ranges shown from then
// on must hold the slower drain that follows.
func TestETACapBindsLate(t *testing.T) {
	t.Parallel()
	res := runETA(t, etaRun{
		people:  240,
		arrival: func(k int) time.Duration { return time.Duration(k) * 500 * time.Millisecond },
		session: func(k int) time.Duration { return time.Duration(50+k%20) * time.Second },
		mod: func(o *admission.Options) {
			// Rate 30/min; cap 15 with stays of about 60 s: 15/min.
			o.Rate, o.Burst, o.Cap, o.DrainWindow = 30, 1, 15, 20*time.Second
			o.ClaimWindow, o.SessionTTL = time.Minute, 5*time.Minute
		},
	})
	wantCalibrated(t, res, all, 60, 0.95)
	// Nobody was shown a time before the first measured departures made
	// the cap's drain known, and the first person saw none at all.
	if res.shown[0].Known {
		t.Fatal("the first person saw an ETA before any measurement")
	}
}

// TestETASupply: 60 places for 200 people. A person with more people
// ahead than places surely left is told no time (places may run out);
// everyone shown a time is admitted inside it; once sold out, nobody is
// shown a time again.
func TestETASupply(t *testing.T) {
	t.Parallel()
	var free atomic.Int64
	free.Store(60)
	res := runETA(t, etaRun{
		people:  200,
		arrival: func(k int) time.Duration { return time.Duration(k) * 300 * time.Millisecond },
		session: func(k int) time.Duration { return time.Duration(2+k%5) * time.Second },
		done: func(int) {
			if free.Load() > 0 {
				free.Add(-1)
			}
		},
		mod: func(o *admission.Options) {
			o.Rate, o.Burst, o.DrainWindow, o.ClaimWindow = 60, 1, 10*time.Second, time.Minute
			o.Supply = admission.SupplyFunc(func(context.Context, time.Time) (admission.Places, error) {
				return admission.Places{Free: free.Load()}, nil
			})
		},
		until: 20 * time.Minute,
	})
	wantCalibrated(t, res, all, 20, 0.95)
	short, told := 0, 0
	for k := range res.shown {
		if res.shown[k].PlacesShort {
			short++
		}
		if res.toldSoldOut[k] {
			told++
		}
		if res.timeAfterSoldOut[k] {
			t.Fatalf("person %d was shown a time while the room was sold out", k)
		}
	}
	t.Logf("%d told places may run out at join, %d told sold out", short, told)
	if short == 0 || told == 0 {
		t.Fatalf("%d told places may run out, %d told sold out: want both", short, told)
	}
}

// TestETAPacerFault: the booking backend fails for two minutes; the pacer
// cuts the rate to its minimum and climbs back afterwards. People who
// joined from two minutes into the fault on, and after it, are admitted
// within the range they were shown: it spans the slow rate seen lately
// and the pacer's maximum.
func TestETAPacerFault(t *testing.T) {
	t.Parallel()
	pacer, err := admission.NewPacer(admission.PacingOptions{Min: 12, Max: 120, Target: 200 * time.Millisecond, Interval: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	const from, to = 2 * time.Minute, 5 * time.Minute
	errTimeout := errors.New("timeout")
	res := runETA(t, etaRun{
		people:  700,
		arrival: func(k int) time.Duration { return time.Duration(k) * 600 * time.Millisecond },
		session: func(int) time.Duration { return time.Second },
		mod: func(o *admission.Options) {
			o.Rate, o.Burst, o.DrainWindow, o.ClaimWindow = 120, 2, 20*time.Second, time.Minute
			o.Pacer = pacer
		},
		tick: func(now time.Time, room *admission.Room) {
			if at := now.Sub(opening); at >= from && at < to {
				pacer.Observe(2*time.Second, errTimeout)
			} else {
				pacer.Observe(50*time.Millisecond, nil)
			}
			// The line endpoint's readers refresh the snapshot, where
			// the pacer decides.
			if _, err := room.Line(ctx); err != nil {
				t.Fatal(err)
			}
		},
	})
	// Waits overlapping the fault's first two minutes were shown a range
	// before anything could foresee it: reported, not judged.
	outside := func(k int) bool {
		j := res.joinedAt[k]
		end := j + res.waited[k]
		return !(j < from+2*time.Minute && end > from)
	}
	wantCalibrated(t, res, outside, 150, 0.95)
	during := func(k int) bool { return res.joinedAt[k] >= from+2*time.Minute && res.joinedAt[k] < to }
	shown, inside, _ := res.calibration(during)
	t.Logf("joined during the fault after its first two minutes: %d of %d inside", inside, shown)
}

// TestETAPlacesShortJSON: the status document says why no time is given.
func TestETAPlacesShortJSON(t *testing.T) {
	st := admission.Status{State: admission.StateWaiting, Place: 9, Ahead: 9, ETA: admission.ETA{PlacesShort: true}}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"eta":{"known":false,"places_may_run_out":true}`) {
		t.Fatalf("status JSON %s", b)
	}
	st.ETA = admission.ETA{Known: true, Min: time.Minute, Max: 2 * time.Minute}
	if b, _ = json.Marshal(st); strings.Contains(string(b), "places_may_run_out") {
		t.Fatalf("status JSON %s", b)
	}
}

// TestETAUnstableDrainWidens: a cap-bound line whose people suddenly stay
// three times longer (a booking backend slowing down). Waits that overlap
// the first two drain windows after the first slow stay began were shown
// a range before anything could tell (reported, not judged); the ranges
// shown after hold the waits, and are wider while the drain changes than
// while it was stable.
func TestETAUnstableDrainWidens(t *testing.T) {
	t.Parallel()
	const slowFrom, window = 120, 20 * time.Second
	res := runETA(t, etaRun{
		people:  360,
		arrival: func(k int) time.Duration { return time.Duration(k) * 700 * time.Millisecond },
		session: func(k int) time.Duration {
			if k >= slowFrom {
				return time.Duration(24+k%7) * time.Second
			}
			return time.Duration(8+k%5) * time.Second
		},
		mod: func(o *admission.Options) {
			o.Rate, o.Burst, o.Cap, o.DrainWindow = 600, 5, 10, window
			o.ClaimWindow, o.SessionTTL = time.Minute, 5*time.Minute
		},
	})
	change := res.joinedAt[slowFrom] + res.waited[slowFrom] // the first slow stay begins
	blind := change + 2*window
	judged := func(k int) bool { return res.joinedAt[k] >= blind || res.joinedAt[k]+res.waited[k] < change }
	wantCalibrated(t, res, judged, 150, 0.95)
	// Relative width (max/min) of the ranges shown while the drain was
	// stable, and while it changed.
	rel := func(keep func(time.Duration) bool) float64 {
		var sum float64
		n := 0
		for k, e := range res.shown {
			if e.Known && e.Min > 0 && keep(res.joinedAt[k]) {
				sum += e.Max.Seconds() / e.Min.Seconds()
				n++
			}
		}
		return sum / float64(max(n, 1))
	}
	stable := rel(func(j time.Duration) bool { return j < change-window })
	moving := rel(func(j time.Duration) bool { return j >= blind && j < blind+2*window })
	t.Logf("slowdown at %v; mean max/min of the ranges: %.2f while stable, %.2f while the stay grows", change, stable, moving)
	if moving <= stable {
		t.Fatalf("ranges did not widen while the drain changed: %.2f, stable %.2f", moving, stable)
	}
}

// TestETACapChange: an operator triples the cap of a cap-bound room; the
// ranges shown from the next snapshot on follow the new cap (the stay
// measured does not depend on it), not the drain measured under the old
// one.
func TestETACapChange(t *testing.T) {
	t.Parallel()
	const change = 2 * time.Minute
	res := runETA(t, etaRun{
		people:  500,
		arrival: func(k int) time.Duration { return time.Duration(k) * 500 * time.Millisecond },
		session: func(k int) time.Duration { return time.Duration(25+k%10) * time.Second },
		mod: func(o *admission.Options) {
			o.Rate, o.Burst, o.Cap, o.DrainWindow = 120, 2, 5, 20*time.Second
			o.ClaimWindow, o.SessionTTL = time.Minute, 5*time.Minute
		},
		tick: func(now time.Time, room *admission.Room) {
			if now.Sub(opening) == change {
				if _, err := room.SetLimits(ctx, admission.Limits{Rate: 120, Burst: 2, Cap: 15}); err != nil {
					t.Fatal(err)
				}
			}
		},
	})
	after := func(k int) bool { return res.joinedAt[k] >= change+time.Second }
	wantCalibrated(t, res, after, 100, 0.95)
}
