package main

import "testing"

// TestOverlap: ticks that run at once keep every check of a healthy run
// (the opening and a maintenance window among them), follow-ups planned
// for a tick already started do run (a tick late, counted), no call reads
// a clock past its own tick (each lane has its own), and -overlap 1 runs
// one tick at a time with none late.
func TestOverlap(t *testing.T) {
	for _, n := range []string{"4", "1"} {
		t.Run(n, func(t *testing.T) {
			rep := runReport(t, testConfig(t, "-people", itoa(rushPeople(12000, 4000)), "-overlap", n, "-fault", "maintenance@2m+1m"))
			checkHealthy(t, rep)
			if n == "1" {
				if rep.Overlap != 1 || rep.Late != 0 {
					t.Errorf("-overlap 1: overlap %d, %d late follow-ups; want 1 and none", rep.Overlap, rep.Late)
				}
				return
			}
			if rep.Overlap != 4 || rep.Late == 0 {
				t.Errorf("-overlap 4: overlap %d, %d late follow-ups; want 4 and some (the ticks did not overlap)", rep.Overlap, rep.Late)
			}
			if lead := rep.ClockLeadMS; lead != 0 {
				t.Errorf("a call read a clock %.0f ms past its own tick: each lane's composition of the library should read its lane's clock", lead)
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
