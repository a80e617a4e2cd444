package main

import (
	"testing"
	"time"
)

// TestOverlap: ticks that run at once keep every check of a healthy run
// (the opening and a maintenance window among them), follow-ups planned
// for a tick already started do run (a tick late, counted), a call reads a
// clock at most lanes-1 ticks past its own with one room (none with a
// room per lane, -lane-rooms), -overlap-for bounds the lanes by simulated
// time, and -overlap 1 runs one tick at a time with none late.
func TestOverlap(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		lanes int
	}{
		{"4", []string{"-overlap", "4"}, 4},
		{"4-lane-rooms", []string{"-overlap", "4", "-lane-rooms"}, 4},
		{"10-within-300ms", []string{"-overlap", "10", "-overlap-for", "300ms"}, 3},
		{"1", []string{"-overlap", "1"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-people", itoa(rushPeople(12000, 4000)), "-fault", "maintenance@2m+1m"}, tc.args...)
			rep := runReport(t, testConfig(t, args...))
			checkHealthy(t, rep)
			if tc.lanes == 1 {
				if rep.Overlap != 1 || rep.Late != 0 {
					t.Errorf("-overlap 1: overlap %d, %d late follow-ups; want 1 and none", rep.Overlap, rep.Late)
				}
				return
			}
			if rep.Overlap != tc.lanes || rep.Late == 0 {
				t.Errorf("%v: overlap %d, %d late follow-ups; want %d and some (the ticks did not overlap)", tc.args, rep.Overlap, rep.Late, tc.lanes)
			}
			tick := testConfig(t).Tick
			most := time.Duration(tc.lanes-1) * tick
			lead := rep.ClockLeadMS
			switch {
			case rep.LaneRooms && lead != 0:
				t.Errorf("a call read a clock %.0f ms past its own tick: each lane's room should read its lane's clock", lead)
			case !rep.LaneRooms && (lead <= 0 || lead > float64(most.Milliseconds())):
				t.Errorf("a call read a clock at most %.0f ms past its tick, want some and at most %d ticks (%v)", lead, tc.lanes-1, most)
			}
			if rep.PastOpening != 0 {
				t.Errorf("%d calls before the opening could read a clock past it", rep.PastOpening)
			}
			if n := rep.Outcomes["hold"]["maintenance"] + rep.Outcomes["confirm"]["maintenance"]; n == 0 {
				t.Error("no booking was refused for maintenance: the fault did not bite")
			}
		})
	}
}
