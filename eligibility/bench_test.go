package eligibility

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/gatehouse-go/gatehouse/window"
)

// benchCampaign has 20 cohorts in Asia/Seoul: 12 birth-year bands with two
// windows each, 4 by age by year of the opening date (rules that depend on
// the date) with three windows each, and 4 ten-day rotations (one window
// per day, each asked on its own date).
func benchCampaign(tb testing.TB) *Campaign {
	tb.Helper()
	var cohorts []Cohort
	day := func(d, h int) time.Time { return time.Date(2021, 7, 1, h, 0, 0, 0, seoul).AddDate(0, 0, d) }
	for i := range 12 {
		from := Date{1940 + 5*i, time.January, 1}
		to := Date{1944 + 5*i, time.December, 31}
		cohorts = append(cohorts, Cohort{
			Name: fmt.Sprintf("born %d-%d", from.Year, to.Year),
			Rule: BornBetween(from, to),
			Windows: []window.Window{
				{Start: day(2*i, 20), End: day(2*i+1, 18)},
				{Start: day(40+i, 20), End: day(41+i, 18)},
			},
		})
	}
	for i := range 4 {
		cohorts = append(cohorts, Cohort{
			Name: fmt.Sprintf("aged %d-%d", 20+10*i, 29+10*i),
			Rule: KoreanAgeBetween(20+10*i, 29+10*i, 0),
			Windows: []window.Window{
				{Start: day(i, 9), End: day(i, 18)},
				{Start: day(10+i, 9), End: day(10+i, 18)},
				{Start: day(20+i, 9), End: day(20+i, 18)},
			},
		})
	}
	for i := range 4 {
		var ws []window.Window
		for d := range 10 {
			ws = append(ws, window.Window{Start: day(30+10*i+d, 20), End: day(31+10*i+d, 18)})
		}
		cohorts = append(cohorts, Cohort{
			Name:    fmt.Sprintf("rotation %d", i),
			Rule:    All(BornBetween(Date{1972 + 8*i, 1, 1}, Date{1979 + 8*i, 12, 31}), BirthDayLastDigitMatchesToday()),
			Windows: ws,
		})
	}
	c, err := New(Config{Name: "bench", Zone: "Asia/Seoul", Cohorts: cohorts})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// benchQueries are (person, instant) pairs across the campaign.
func benchQueries() ([]Person, []time.Time) {
	var people []Person
	for y := 1938; y < 2006; y += 4 {
		people = append(people, Person{BirthDate: Date{y, time.Month(1 + y%12), 1 + y%28}})
	}
	var at []time.Time
	for d := -1; d < 80; d += 7 {
		at = append(at, time.Date(2021, 7, 1, 21, 30, 0, 0, seoul).AddDate(0, 0, d).UTC())
	}
	return people, at
}

// BenchmarkDecide: one decision over a 20-cohort campaign, cycling through
// people and instants (before, during, between and after windows).
func BenchmarkDecide(b *testing.B) {
	c := benchCampaign(b)
	people, at := benchQueries()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c.Decide(at[i%len(at)], people[i%len(people)])
		i++
	}
}

// BenchmarkHandler: a whole HTTP request through Handler (body parse,
// decision, JSON answer) with httptest, over the same campaign.
func BenchmarkHandler(b *testing.B) {
	c := benchCampaign(b)
	clk := clock.NewMock()
	clk.Set(time.Date(2021, 7, 20, 2, 30, 0, 0, seoul))
	h, err := NewHandler(c, HandlerOptions{Clock: clk})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "/eligibility", strings.NewReader(`{"birth_date":"1967-03-04"}`))
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
}

// TestDecideDoesNotAllocate holds Decide to its promise (skipped under the
// race detector, which allocates on its own account).
func TestDecideDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	c := benchCampaign(t)
	people, at := benchQueries()
	i := 0
	allocs := testing.AllocsPerRun(200, func() {
		c.Decide(at[i%len(at)], people[i%len(people)])
		i++
	})
	if allocs != 0 {
		t.Fatalf("Decide allocates %.1f times per call", allocs)
	}
}

// TestBenchCampaignDecides: the benchmark measures real answers, not only
// "not eligible".
func TestBenchCampaignDecides(t *testing.T) {
	c := benchCampaign(t)
	people, at := benchQueries()
	seen := map[Status]int{}
	reasons := map[Reason]int{}
	for _, p := range people {
		for _, a := range at {
			d := c.Decide(a, p)
			seen[d.Status]++
			reasons[d.Reason]++
		}
	}
	for _, s := range []Status{StatusNotEligible, StatusNotYet, StatusOpen, StatusClosed} {
		if seen[s] == 0 {
			t.Errorf("no %s answers: %v", s, seen)
		}
	}
	if reasons[ReasonTurnAhead] == 0 {
		t.Errorf("no turn_ahead answers: %v", reasons)
	}
}
