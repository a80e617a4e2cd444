package eligibility

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/window"
)

func utcAt(day, hour int) time.Time { return time.Date(2021, 7, day, hour, 0, 0, 0, time.UTC) }

func w(d1, h1, d2, h2 int) window.Window {
	return window.Window{Start: utcAt(d1, h1), End: utcAt(d2, h2)}
}

func mustNew(t *testing.T, cfg Config) *Campaign {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestBackToBackWindows: windows of a cohort that touch count as one run
// for "open until"; a gap ends the run. Order of windows does not matter.
func TestBackToBackWindows(t *testing.T) {
	c := mustNew(t, Config{Name: "x", Zone: "UTC", Cohorts: []Cohort{{
		Name: "all", Rule: Everyone(),
		Windows: []window.Window{w(3, 0, 4, 0), w(1, 0, 2, 0), w(2, 0, 3, 0), w(5, 0, 6, 0)},
	}}})
	p := person("1980-01-01")
	cases := []struct {
		at   time.Time
		want want
	}{
		{utcAt(0, 12), want{StatusNotYet, ReasonWindowAhead, "all", utcAt(1, 0), utcAt(4, 0)}},
		{utcAt(1, 0), want{StatusOpen, ReasonWindowOpen, "all", utcAt(1, 0), utcAt(4, 0)}},
		{utcAt(2, 12), want{StatusOpen, ReasonWindowOpen, "all", utcAt(1, 0), utcAt(4, 0)}},
		{utcAt(3, 23), want{StatusOpen, ReasonWindowOpen, "all", utcAt(1, 0), utcAt(4, 0)}},
		{utcAt(4, 0), want{StatusNotYet, ReasonWindowAhead, "all", utcAt(5, 0), utcAt(6, 0)}},
		{utcAt(6, 0), want{StatusClosed, ReasonWindowsOver, "all", utcAt(5, 0), utcAt(6, 0)}},
	}
	for _, tc := range cases {
		d := c.Decide(tc.at, p)
		if d.Status != tc.want.status || d.Reason != tc.want.reason || !d.OpensAt.Equal(tc.want.opens) || !d.ClosesAt.Equal(tc.want.closes) {
			t.Errorf("at %s: got %s, want %s", tc.at, d, tc.want)
		}
	}
}

// TestBackToBackRotation: a run of touching windows stops at the first one
// whose date does not admit the person.
func TestBackToBackRotation(t *testing.T) {
	var days []window.Window
	for d := 1; d <= 12; d++ {
		days = append(days, w(d, 0, d+1, 0))
	}
	// Born on a day ending in 1: admitted on 1 and 11 July only.
	c := mustNew(t, Config{Name: "x", Zone: "UTC", Cohorts: []Cohort{{Name: "r", Rule: BirthDayLastDigitMatchesToday(), Windows: days}}})
	d := c.Decide(utcAt(1, 5), person("1980-01-21"))
	if d.Status != StatusOpen || !d.ClosesAt.Equal(utcAt(2, 0)) {
		t.Fatalf("got %s, want open until 2 July", d)
	}
	d = c.Decide(utcAt(2, 5), person("1980-01-21"))
	if d.Status != StatusNotYet || d.Reason != ReasonTurnAhead || !d.OpensAt.Equal(utcAt(11, 0)) || !d.ClosesAt.Equal(utcAt(12, 0)) {
		t.Fatalf("got %s, want opens 11 July until 12 July", d)
	}
	d = c.Decide(utcAt(12, 5), person("1980-01-21"))
	if d.Status != StatusClosed || d.Reason != ReasonWindowsOver || !d.ClosesAt.Equal(utcAt(12, 0)) {
		t.Fatalf("got %s, want closed since 12 July", d)
	}
}

// TestCohortPrecedence: open beats not yet beats closed; among open ones the
// one open longest; among upcoming ones the earliest; among closed ones the
// last to close; ties go to the cohort listed first.
func TestCohortPrecedence(t *testing.T) {
	cohort := func(name string, ws ...window.Window) Cohort {
		return Cohort{Name: name, Rule: Everyone(), Windows: ws}
	}
	cases := []struct {
		name    string
		cohorts []Cohort
		at      time.Time
		want    string
	}{
		{"open beats earlier upcoming", []Cohort{cohort("a", w(5, 0, 6, 0)), cohort("b", w(1, 0, 9, 0))}, utcAt(2, 0), "b"},
		{"open longest", []Cohort{cohort("a", w(1, 0, 3, 0)), cohort("b", w(1, 0, 4, 0))}, utcAt(2, 0), "b"},
		{"open tie: first listed", []Cohort{cohort("a", w(1, 0, 4, 0)), cohort("b", w(0, 0, 4, 0))}, utcAt(2, 0), "a"},
		{"upcoming earliest", []Cohort{cohort("a", w(5, 0, 6, 0)), cohort("b", w(4, 0, 5, 0))}, utcAt(2, 0), "b"},
		{"upcoming tie: first listed", []Cohort{cohort("a", w(4, 0, 5, 0)), cohort("b", w(4, 0, 9, 0))}, utcAt(2, 0), "a"},
		{"upcoming beats closed", []Cohort{cohort("a", w(1, 0, 2, 0)), cohort("b", w(9, 0, 10, 0))}, utcAt(3, 0), "b"},
		{"closed last", []Cohort{cohort("a", w(1, 0, 2, 0)), cohort("b", w(1, 0, 3, 0))}, utcAt(4, 0), "b"},
		{"closed tie: first listed", []Cohort{cohort("a", w(1, 0, 3, 0)), cohort("b", w(2, 0, 3, 0))}, utcAt(4, 0), "a"},
	}
	for _, tc := range cases {
		c := mustNew(t, Config{Name: "x", Zone: "UTC", Cohorts: tc.cohorts})
		if d := c.Decide(tc.at, person("1980-01-01")); d.Cohort != tc.want {
			t.Errorf("%s: got %s, want cohort %s", tc.name, d, tc.want)
		}
	}
}

func TestDecideInvalidPerson(t *testing.T) {
	c := rotationCampaign(t)
	for _, p := range []Person{{}, {BirthDate: Date{2001, 2, 29}}, {BirthDate: Date{1980, 13, 1}}} {
		d := c.Decide(catchUpOpens, p)
		if d.Status != StatusNotEligible || d.Reason != ReasonInvalidBirthDate || d.Cohort != "" || !d.OpensAt.IsZero() {
			t.Errorf("%v: %s", p, d)
		}
	}
}

func TestDecisionJSON(t *testing.T) {
	c, err := LoadFile("testdata/korea-2021-07.json")
	if err != nil {
		t.Fatal(err)
	}
	d := c.Decide(kst(7, 20, 2, 30), person("1967-03-04"))
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"status":"open","reason":"window_open","cohort":"53-54","opens_at":"2021-07-19T20:00:00+09:00","closes_at":"2021-07-20T18:00:00+09:00","at":"2021-07-20T02:30:00+09:00"}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
	var back Decision
	if err := json.Unmarshal(b, &back); err != nil || back.Status != StatusOpen || !back.ClosesAt.Equal(d.ClosesAt) {
		t.Fatalf("decode: %v %+v", err, back)
	}
	ne := c.Decide(kst(7, 20, 2, 30), person("1990-01-01"))
	b, _ = json.Marshal(ne)
	if want := `{"status":"not_eligible","reason":"no_matching_cohort","at":"2021-07-20T02:30:00+09:00"}`; string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
	var s Status
	if err := s.UnmarshalText([]byte("maybe")); err == nil {
		t.Fatal("unknown status decoded")
	}
	if Status(9).String() != "Status(9)" {
		t.Fatal(Status(9).String())
	}
}

// TestDecideIgnoresMonotonic: an instant straight from time.Now (with a
// monotonic reading) decides like the same wall instant without one.
func TestDecideIgnoresMonotonic(t *testing.T) {
	c := mustNew(t, Config{Name: "x", Zone: "UTC", Cohorts: []Cohort{{Name: "a", Rule: Everyone(),
		Windows: []window.Window{{Start: time.Now().Add(-time.Hour), End: time.Now().Add(time.Hour)}}}}})
	now := time.Now()
	if d1, d2 := c.Decide(now, person("1980-01-01")), c.Decide(now.Round(0), person("1980-01-01")); d1 != d2 || d1.Status != StatusOpen {
		t.Fatalf("%v / %v", d1, d2)
	}
}

func TestZeroCampaign(t *testing.T) {
	var c Campaign
	if d := c.Decide(time.Now(), person("1980-01-01")); d.Status != StatusNotEligible || d.Reason != ReasonNoMatchingCohort {
		t.Fatalf("got %s", d)
	}
}
