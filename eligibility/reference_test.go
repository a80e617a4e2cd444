package eligibility

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/window"
)

// refDecide is Decide written the plain way, as the package documentation
// states it: ask the whole rule about every window on its opening date,
// merge back-to-back admitting windows into runs, take the run containing
// now, else the next, else the last; then rank cohorts.
func refDecide(cfg Config, zone *time.Location, p Person, now time.Time) Decision {
	d := Decision{At: now.In(zone)}
	if p.BirthDate.Valid() != nil {
		d.Reason = ReasonInvalidBirthDate
		return d
	}
	type run struct{ start, end time.Time }
	best := -1
	var bestRank int
	for ci, co := range cfg.Cohorts {
		ws := slices.Clone(co.Windows)
		slices.SortFunc(ws, func(a, b window.Window) int { return a.Start.Compare(b.Start) })
		var runs []run
		busyForOthers := false
		for _, w := range ws {
			if !co.Rule.Match(Input{Person: p, Date: DateIn(w.Start, zone)}) {
				if w.Contains(now) {
					busyForOthers = true
				}
				continue
			}
			if n := len(runs); n > 0 && runs[n-1].end.Equal(w.Start) {
				runs[n-1].end = w.End
			} else {
				runs = append(runs, run{w.Start, w.End})
			}
		}
		if len(runs) == 0 {
			continue
		}
		var c Decision
		c.Cohort = co.Name
		found := false
		for _, r := range runs {
			if !now.Before(r.start) && now.Before(r.end) {
				c.Status, c.Reason, c.OpensAt, c.ClosesAt, found = StatusOpen, ReasonWindowOpen, r.start, r.end, true
				break
			}
			if now.Before(r.start) {
				c.Status, c.Reason, c.OpensAt, c.ClosesAt, found = StatusNotYet, ReasonWindowAhead, r.start, r.end, true
				if busyForOthers {
					c.Reason = ReasonTurnAhead
				}
				break
			}
		}
		if !found {
			last := runs[len(runs)-1]
			c.Status, c.Reason, c.OpensAt, c.ClosesAt = StatusClosed, ReasonWindowsOver, last.start, last.end
		}
		rank := map[Status]int{StatusOpen: 3, StatusNotYet: 2, StatusClosed: 1}[c.Status]
		better := best < 0 || rank > bestRank ||
			rank == bestRank && (c.Status == StatusNotYet && c.OpensAt.Before(d.OpensAt) ||
				c.Status != StatusNotYet && c.ClosesAt.After(d.ClosesAt))
		if better {
			best, bestRank = ci, rank
			c.At = d.At
			d = c
		}
	}
	if best < 0 {
		d.Reason = ReasonNoMatchingCohort
		return d
	}
	d.OpensAt, d.ClosesAt = d.OpensAt.In(zone), d.ClosesAt.In(zone)
	return d
}

// randomRule builds a rule of the package's kinds, depth at most 3.
func randomRule(r *rand.Rand, depth int) Rule {
	date := func() Date { return Date{1950 + r.IntN(60), time.Month(1 + r.IntN(12)), 1 + r.IntN(28)} }
	digits := func() []int {
		perm := r.Perm(10)
		return perm[:1+r.IntN(4)]
	}
	k := r.IntN(13)
	if depth >= 3 && k >= 9 {
		k = r.IntN(9)
	}
	switch k {
	case 0:
		a, b := date(), date()
		if b.Before(a) {
			a, b = b, a
		}
		switch r.IntN(3) {
		case 0:
			a = Date{}
		case 1:
			b = Date{}
		}
		return BornBetween(a, b)
	case 1, 2:
		lo := r.IntN(70)
		on := Date{}
		if k == 1 {
			on = Date{2021, time.Month(1 + r.IntN(12)), 1 + r.IntN(28)}
		}
		return AgeBetween(lo, lo+r.IntN(15), on)
	case 3, 4:
		lo := r.IntN(70)
		y := 0
		if k == 3 {
			y = 2020 + r.IntN(3)
		}
		return KoreanAgeBetween(lo, lo+r.IntN(15), y)
	case 5:
		return BirthYearLastDigit(digits()...)
	case 6:
		return BirthDayLastDigit(digits()...)
	case 7:
		return BirthDayLastDigitMatchesToday()
	case 8:
		return Everyone()
	case 9, 10:
		rules := make([]Rule, 1+r.IntN(3))
		for i := range rules {
			rules[i] = randomRule(r, depth+1)
		}
		if k == 9 {
			return All(rules...)
		}
		return Any(rules...)
	}
	return Not(randomRule(r, depth+1))
}

// TestDecideMatchesReference compares Decide (binary search, rules split
// into a once-per-decision guard and a per-window rest) with refDecide on
// random campaigns, people and instants, window edges included.
func TestDecideMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(2021, 7))
	zones := []string{"Asia/Seoul", "UTC", "America/New_York", "Australia/Lord_Howe"}
	seen := map[Reason]int{}
	for range 150 {
		zone := window.MustLoadZone(zones[r.IntN(len(zones))])
		var cohorts []Cohort
		var edges []time.Time
		for ci := range 1 + r.IntN(5) {
			// Windows laid end to end with random gaps (often none), then
			// shuffled: New must not care about their order.
			at := time.Date(2021, time.Month(7+r.IntN(6)), 1+r.IntN(28), r.IntN(24), 0, 0, 0, zone)
			var ws []window.Window
			for range 1 + r.IntN(12) {
				if r.IntN(3) > 0 {
					at = at.Add(time.Duration(r.IntN(48)) * time.Hour)
				}
				end := at.Add(time.Duration(1+r.IntN(30)) * time.Hour)
				ws = append(ws, window.Window{Start: at, End: end})
				edges = append(edges, at, end)
				at = end
			}
			r.Shuffle(len(ws), func(i, j int) { ws[i], ws[j] = ws[j], ws[i] })
			cohorts = append(cohorts, Cohort{Name: string(rune('a' + ci)), Rule: randomRule(r, 0), Windows: ws})
		}
		cfg := Config{Name: "random", Zone: zone.String(), Cohorts: cohorts}
		c, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for range 12 {
			p := Person{BirthDate: Date{1950 + r.IntN(60), time.Month(1 + r.IntN(12)), 1 + r.IntN(28)}}
			for range 12 {
				now := edges[r.IntN(len(edges))].Add(time.Duration(r.IntN(3)-1) * time.Nanosecond)
				if r.IntN(4) == 0 {
					now = now.Add(time.Duration(r.Int64N(int64(50 * time.Hour))))
				}
				got, want := c.Decide(now, p), refDecide(cfg, zone, p, now)
				seen[got.Reason]++
				if !sameDecision(got, want) {
					enc, _ := c.MarshalJSON()
					t.Fatalf("born %s at %s:\n got %s\nwant %s\n%s", p.BirthDate, now.Format(time.RFC3339Nano), got, want, enc)
				}
			}
		}
	}
	t.Logf("answers: %v", seen)
	// The comparison is worth something only if every kind of answer came up.
	for _, reason := range []Reason{ReasonNoMatchingCohort, ReasonWindowOpen, ReasonWindowAhead, ReasonTurnAhead, ReasonWindowsOver} {
		if seen[reason] < 20 {
			t.Errorf("only %d %s answers: %v", seen[reason], reason, seen)
		}
	}
}
