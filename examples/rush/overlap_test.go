package main

import "testing"

// TestOverlap: ticks that run at once keep every check of a healthy run
// (the opening and a maintenance window among them), follow-ups planned
// for a tick already started do run (a tick late, counted), a call reads a
// clock at most 3 ticks past its own with one room (none with a room per
// lane, -lane-rooms), and -overlap 1 runs one tick at a time with none
// late.
func TestOverlap(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"4", []string{"-overlap", "4"}},
		{"4-lane-rooms", []string{"-overlap", "4", "-lane-rooms"}},
		{"1", []string{"-overlap", "1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-people", itoa(rushPeople(12000, 4000)), "-fault", "maintenance@2m+1m"}, tc.args...)
			rep := runReport(t, testConfig(t, args...))
			checkHealthy(t, rep)
			if tc.name == "1" {
				if rep.Overlap != 1 || rep.Late != 0 {
					t.Errorf("-overlap 1: overlap %d, %d late follow-ups; want 1 and none", rep.Overlap, rep.Late)
				}
				return
			}
			if rep.Overlap != 4 || rep.Late == 0 {
				t.Errorf("-overlap 4: overlap %d, %d late follow-ups; want 4 and some (the ticks did not overlap)", rep.Overlap, rep.Late)
			}
			tick := testConfig(t).Tick
			lead := rep.ClockLeadMS
			switch {
			case rep.LaneRooms && lead != 0:
				t.Errorf("a call read a clock %.0f ms past its own tick: each lane's room should read its lane's clock", lead)
			case !rep.LaneRooms && (tc.name != "4" || lead <= 0 || lead > float64(3*tick.Milliseconds())):
				t.Errorf("lane rooms %v, clock at most %.0f ms past a call's tick, want some and at most 3 ticks (%v)", rep.LaneRooms, lead, 3*tick)
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
