package eligibility

import (
	"fmt"
	"testing"
	"time"
)

// The August 2021 rotation fixture: the window opening at 20:00 on day D
// (9-18 August) is for birth days ending in D's last digit, until 18:00 on
// D+1; then a catch-up window for all, 19 August 20:00 to 18 September 18:00.
func rotationCampaign(t *testing.T) *Campaign {
	t.Helper()
	c, err := LoadFile("testdata/rotation-2021-08.json")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var (
	catchUpOpens  = kst(8, 19, 20, 0)
	catchUpCloses = kst(9, 18, 18, 0)
)

// turnOf returns the rotation window of a birth day ending in digit k.
func turnOf(k int) (opens, closes time.Time) {
	day := 9 + (k+1)%10 // 9 August is for 9, 10 August for 0, ...
	return kst(8, day, 20, 0), kst(8, day+1, 18, 0)
}

func TestRotationAugust2021(t *testing.T) {
	c := rotationCampaign(t)
	type row struct {
		at   time.Time
		want want
	}
	for k := 0; k <= 9; k++ {
		opens, closes := turnOf(k)
		rows := []row{
			{kst(8, 1, 12, 0), notYet("18-49 rotation", opens, closes)},
			{opens.Add(-time.Nanosecond), notYet("18-49 rotation", opens, closes)},
			{opens, open("18-49 rotation", opens, closes)},
			{opens.Add(5 * time.Hour), open("18-49 rotation", opens, closes)}, // 01:00 the next day: still theirs
			{closes.Add(-time.Nanosecond), open("18-49 rotation", opens, closes)},
			{closes, notYet("18-49 catch-up", catchUpOpens, catchUpCloses)},
			{catchUpOpens.Add(-time.Nanosecond), notYet("18-49 catch-up", catchUpOpens, catchUpCloses)},
			{catchUpOpens, open("18-49 catch-up", catchUpOpens, catchUpCloses)},
			{catchUpCloses.Add(-time.Nanosecond), open("18-49 catch-up", catchUpOpens, catchUpCloses)},
			{catchUpCloses, closed("18-49 catch-up", catchUpOpens, catchUpCloses)},
		}
		// In everyone else's windows: before one's turn, "your turn is
		// ahead"; after it, the catch-up.
		for j := 0; j <= 9; j++ {
			if j == k {
				continue
			}
			o, _ := turnOf(j)
			w := want{StatusNotYet, ReasonTurnAhead, "18-49 rotation", opens, closes}
			if o.After(opens) {
				w = notYet("18-49 catch-up", catchUpOpens, catchUpCloses)
			}
			rows = append(rows, row{o.Add(time.Hour), w})
		}
		for _, day := range []int{k, 10 + k, 20 + k} {
			if day == 0 {
				continue
			}
			for _, birth := range []string{fmt.Sprintf("1972-01-%02d", day), fmt.Sprintf("2003-12-%02d", day)} {
				p := person(birth)
				for _, r := range rows {
					d := c.Decide(r.at, p)
					if d.Status != r.want.status || d.Reason != r.want.reason || d.Cohort != r.want.cohort ||
						!d.OpensAt.Equal(r.want.opens) || !d.ClosesAt.Equal(r.want.closes) {
						t.Fatalf("born %s at %s:\n got %s\nwant %s", birth, r.at.Format(time.RFC3339Nano), d, r.want)
					}
				}
			}
		}
	}
	// Outside 18-49: never eligible, whatever the digit.
	for _, birth := range []string{"1971-12-31", "2004-01-01", "1971-08-09"} {
		for _, at := range []time.Time{kst(8, 9, 20, 0), kst(8, 10, 1, 0), catchUpOpens} {
			if d := c.Decide(at, person(birth)); d.Status != StatusNotEligible || d.Reason != ReasonNoMatchingCohort {
				t.Fatalf("born %s at %s: %s", birth, at, d)
			}
		}
	}
}

// TestRotationAcrossMidnight is the case a rule reading "today" from the
// instant would get wrong: at 01:00 on 10 August the window that opened on
// the 9th for birth days ending in 9 is still theirs, and not yet for those
// ending in 0.
func TestRotationAcrossMidnight(t *testing.T) {
	c := rotationCampaign(t)
	at := kst(8, 10, 1, 0)
	if d := c.Decide(at, person("1990-03-19")); d.String() != `open until 2021-08-10T18:00:00+09:00 (cohort "18-49 rotation", window_open)` {
		t.Errorf("born on the 19th: %s", d)
	}
	if d := c.Decide(at, person("1990-03-20")); d.String() != `opens at 2021-08-10T20:00:00+09:00 (cohort "18-49 rotation", turn_ahead)` {
		t.Errorf("born on the 20th: %s", d)
	}
}
