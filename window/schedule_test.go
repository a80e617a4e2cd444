package window_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/window"
)

func TestScheduleAt(t *testing.T) {
	s := july2021(t)
	first, second := s.Openings[0], s.Openings[1]
	for _, tc := range []struct {
		at            string
		phase         window.Phase
		opens, closes time.Time
		next          time.Time
	}{
		{"2021-07-01T00:00", window.NotYet, first.Booking.Start, first.Booking.End, first.PreQueue},
		{"2021-07-12T19:00", window.PreQueue, first.Booking.Start, first.Booking.End, first.Booking.Start},
		{"2021-07-12T20:00", window.Open, first.Booking.Start, first.Booking.End, first.Booking.End},
		{"2021-07-17T18:00", window.NotYet, second.Booking.Start, second.Booking.End, second.PreQueue},
		{"2021-07-19T19:30", window.PreQueue, second.Booking.Start, second.Booking.End, second.Booking.Start},
		{"2021-07-20T17:00", window.Open, second.Booking.Start, second.Booking.End, second.Booking.End},
		// Once over, the answer names the last window, and nothing is next.
		{"2021-07-20T18:00", window.Closed, second.Booking.Start, second.Booking.End, time.Time{}},
	} {
		st := s.At(kst(t, tc.at))
		if st.Phase != tc.phase || st.Scheduled != tc.phase || !st.OpensAt.Equal(tc.opens) || !st.ClosesAt.Equal(tc.closes) || !st.Next.Equal(tc.next) {
			t.Errorf("At(%s) = %+v, want %v opens %s closes %s next %s", tc.at, st, tc.phase, tc.opens, tc.closes, tc.next)
		}
		if st.OpensAt.Location() != seoul || (!st.Next.IsZero() && st.Next.Location() != seoul) {
			t.Errorf("At(%s): times not in the schedule's zone: %v %v", tc.at, st.OpensAt.Location(), st.Next.Location())
		}
	}
	// An opening without a pre-queue goes from NotYet straight to Open.
	w, _ := window.New(kst(t, "2021-07-21T20:00"), kst(t, "2021-07-24T18:00"))
	plain := window.Schedule{Zone: seoul, Openings: []window.Opening{{Booking: w}}}
	if err := plain.Validate(); err != nil {
		t.Fatal(err)
	}
	if st := plain.At(w.Start.Add(-1)); st.Phase != window.NotYet || !st.Next.Equal(w.Start) {
		t.Errorf("no pre-queue, before start: %+v", st)
	}
	if st := plain.At(w.Start); st.Phase != window.Open {
		t.Errorf("no pre-queue, at start: %+v", st)
	}
}

func TestScheduleValidate(t *testing.T) {
	w := func(a, b string) window.Window { return window.Window{Start: kst(t, a), End: kst(t, b)} }
	for name, s := range map[string]window.Schedule{
		"no zone":     {Openings: july2021(t).Openings},
		"no openings": {Zone: seoul},
		"empty window": {Zone: seoul, Openings: []window.Opening{
			{Booking: w("2021-07-12T20:00", "2021-07-12T20:00")}}},
		"pre-queue after start": {Zone: seoul, Openings: []window.Opening{
			{PreQueue: kst(t, "2021-07-12T20:01"), Booking: w("2021-07-12T20:00", "2021-07-12T21:00")}}},
		"out of order": {Zone: seoul, Openings: []window.Opening{
			{Booking: w("2021-07-19T20:00", "2021-07-20T18:00")}, {Booking: w("2021-07-12T20:00", "2021-07-17T18:00")}}},
		"pre-queue overlaps the previous window": {Zone: seoul, Openings: []window.Opening{
			{Booking: w("2021-07-12T20:00", "2021-07-17T18:00")},
			{PreQueue: kst(t, "2021-07-17T17:00"), Booking: w("2021-07-19T20:00", "2021-07-20T18:00")}}},
	} {
		if err := s.Validate(); !errors.Is(err, window.ErrInvalidSchedule) {
			t.Errorf("%s: %v, want ErrInvalidSchedule", name, err)
		}
	}
	// Back to back is fine: the first ends where the second begins.
	ok := window.Schedule{Zone: seoul, Openings: []window.Opening{
		{Booking: w("2021-07-12T20:00", "2021-07-17T18:00")},
		{PreQueue: kst(t, "2021-07-17T18:00"), Booking: w("2021-07-19T20:00", "2021-07-20T18:00")}}}
	if err := ok.Validate(); err != nil {
		t.Errorf("back to back: %v", err)
	}
}

func TestPhaseNames(t *testing.T) {
	b, err := json.Marshal([]window.Phase{window.NotYet, window.PreQueue, window.Open, window.Closed, window.Maintenance})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `["not_yet","pre_queue","open","closed","maintenance"]` {
		t.Errorf("phases as JSON: %s", b)
	}
	if s := window.Phase(9).String(); s != "Phase(9)" {
		t.Error(s)
	}
}
