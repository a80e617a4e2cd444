package window_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/window"
)

func TestWindowHalfOpen(t *testing.T) {
	start, end := kst(t, "2021-07-12T20:00"), kst(t, "2021-07-17T18:00")
	if _, err := window.New(start, start); !errors.Is(err, window.ErrEmptyWindow) {
		t.Fatalf("empty window: %v", err)
	}
	if _, err := window.New(end, start); !errors.Is(err, window.ErrEmptyWindow) {
		t.Fatalf("reversed window: %v", err)
	}
	w, err := window.New(start, end)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		at                    time.Time
		contains, before, end bool
	}{
		{start.Add(-time.Nanosecond), false, true, false},
		{start, true, false, false},
		{end.Add(-time.Nanosecond), true, false, false},
		{end, false, false, true},
		{end.Add(time.Nanosecond), false, false, true},
	} {
		for _, at := range []time.Time{tc.at, tc.at.UTC(), tc.at.In(window.MustLoadZone("America/Los_Angeles"))} {
			if w.Contains(at) != tc.contains || w.Before(at) != tc.before || w.Ended(at) != tc.end {
				t.Errorf("at %s: Contains %v Before %v Ended %v; want %v %v %v", at.Format(time.RFC3339Nano),
					w.Contains(at), w.Before(at), w.Ended(at), tc.contains, tc.before, tc.end)
			}
		}
	}
	if w.Duration() != 4*24*time.Hour+22*time.Hour {
		t.Errorf("Duration %v", w.Duration())
	}
	if got := w.String(); got != "[2021-07-12T20:00:00+09:00, 2021-07-17T18:00:00+09:00)" {
		t.Errorf("String %q", got)
	}
	if got := w.In(time.UTC).String(); got != "[2021-07-12T11:00:00Z, 2021-07-17T09:00:00Z)" {
		t.Errorf("In(UTC) %q", got)
	}
	// Windows that touch share no instant.
	next, _ := window.New(end, end.Add(time.Hour))
	if w.Overlaps(next) || next.Overlaps(w) {
		t.Error("adjacent windows overlap")
	}
	inner, _ := window.New(end.Add(-time.Nanosecond), end.Add(time.Hour))
	if !w.Overlaps(inner) || !inner.Overlaps(w) {
		t.Error("windows sharing the last nanosecond do not overlap")
	}
	var zero window.Window
	if !zero.IsZero() || w.IsZero() || zero.Contains(time.Time{}) || zero.Contains(start) {
		t.Error("zero window")
	}
}

// TestFromCivil builds windows from wall-clock times across DST changes in
// a western and an eastern zone.
func TestFromCivil(t *testing.T) {
	ny := window.MustLoadZone("America/New_York")
	berlin := window.MustLoadZone("Europe/Berlin")
	for _, tc := range []struct {
		name       string
		loc        *time.Location
		start, end string
		d          window.Disambiguation
		want       time.Duration
		err        error
		errSide    string
	}{
		{"ny day of spring forward", ny, "2021-03-14T00:00", "2021-03-15T00:00", window.Reject, 23 * time.Hour, nil, ""},
		{"ny day of fall back", ny, "2021-11-07T00:00", "2021-11-08T00:00", window.Reject, 25 * time.Hour, nil, ""},
		{"berlin day of spring forward", berlin, "2021-03-28T00:00", "2021-03-29T00:00", window.Reject, 23 * time.Hour, nil, ""},
		{"berlin day of fall back", berlin, "2021-10-31T00:00", "2021-11-01T00:00", window.Reject, 25 * time.Hour, nil, ""},
		{"ny start in gap", ny, "2021-03-14T02:30", "2021-03-14T05:00", window.Reject, 0, window.ErrNonexistentTime, "start"},
		{"ny start in gap, compatible", ny, "2021-03-14T02:30", "2021-03-14T05:00", window.Compatible, 90 * time.Minute, nil, ""},
		{"ny start in gap, earlier", ny, "2021-03-14T02:30", "2021-03-14T05:00", window.Earlier, 150 * time.Minute, nil, ""},
		{"ny end in overlap", ny, "2021-11-07T00:00", "2021-11-07T01:30", window.Reject, 0, window.ErrAmbiguousTime, "end"},
		{"ny end in overlap, later", ny, "2021-11-07T00:00", "2021-11-07T01:30", window.Later, 150 * time.Minute, nil, ""},
		{"ny end in overlap, earlier", ny, "2021-11-07T00:00", "2021-11-07T01:30", window.Earlier, 90 * time.Minute, nil, ""},
		{"berlin end in gap", berlin, "2021-03-28T00:00", "2021-03-28T02:15", window.Reject, 0, window.ErrNonexistentTime, "end"},
		{"berlin end in gap, later", berlin, "2021-03-28T00:00", "2021-03-28T02:15", window.Later, 2*time.Hour + 15*time.Minute, nil, ""},
		{"berlin start in overlap", berlin, "2021-10-31T02:30", "2021-10-31T04:00", window.Reject, 0, window.ErrAmbiguousTime, "start"},
		{"berlin start in overlap, compatible", berlin, "2021-10-31T02:30", "2021-10-31T04:00", window.Compatible, 150 * time.Minute, nil, ""},
		{"berlin start in overlap, later", berlin, "2021-10-31T02:30", "2021-10-31T04:00", window.Later, 90 * time.Minute, nil, ""},
		{"gap collapses the window", ny, "2021-03-14T02:00", "2021-03-14T03:00", window.Compatible, 0, window.ErrEmptyWindow, ""},
		{"end before start", berlin, "2021-07-12T20:00", "2021-07-12T19:00", window.Reject, 0, window.ErrEmptyWindow, ""},
		{"invalid day", berlin, "2021-04-31T20:00", "2021-05-01T19:00", window.Reject, 0, window.ErrInvalidCivil, "start"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := window.ParseCivil(tc.start)
			if err != nil {
				s = window.Date(2021, 4, 31).At(20, 0, 0)
			}
			e, _ := window.ParseCivil(tc.end)
			w, err := window.FromCivil(tc.loc, s, e, tc.d)
			if tc.err != nil {
				if !errors.Is(err, tc.err) || !strings.HasPrefix(err.Error(), tc.errSide) {
					t.Fatalf("FromCivil = %v, %v; want %v on the %s", w, err, tc.err, tc.errSide)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if w.Duration() != tc.want {
				t.Fatalf("%v lasts %v, want %v", w, w.Duration(), tc.want)
			}
		})
	}
}
