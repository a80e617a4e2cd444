package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestRushSoldOut: a crowd four times the places. With the room knowing
// its supply nobody is admitted after the last place is booked, every
// person then waiting hears "sold out" within the longest poll interval,
// nobody hears it early; without it (-supply=false) the room admits far
// more people than places, as on main before.
func TestRushSoldOut(t *testing.T) {
	t.Parallel()
	people := rushPeople(4000, 800)
	run := func(supply string) *report {
		return runReport(t, testConfig(t, "-people", itoa(people), "-slots", itoa(people/4), "-supply="+supply))
	}
	rep := run("true")
	s := rep.Supply
	switch {
	case s == nil || s.SoldOutAtS == nil:
		t.Fatalf("never sold out: %+v", s)
	case s.AdmittedAfterSoldOut != 0:
		t.Errorf("%d admitted after the sell-out", s.AdmittedAfterSoldOut)
	case s.WaitingAtSoldOut < int64(people/4) || s.NeverTold != 0 || s.ToldBeforeSoldOut != 0:
		t.Errorf("told: %+v", s)
	case s.ToldP99S > s.LongestPollIntervalS:
		t.Errorf("told sold out p99 %.1fs, longest poll interval %.1fs", s.ToldP99S, s.LongestPollIntervalS)
	case s.ToldAtJoin == 0:
		t.Errorf("nobody who joined after the sell-out was told at once: %+v", s)
	}
	if rep.Counts.Admitted > int64(people/4)*11/10 {
		t.Errorf("admitted %d for %d places", rep.Counts.Admitted, people/4)
	}
	if off := run("false"); off.Counts.Admitted < int64(people/4)*2 {
		t.Errorf("without the supply the room admitted only %d for %d places: the run does not show the difference", off.Counts.Admitted, people/4)
	}
}

// TestRushBackendSlow: the booking backend loses four fifths of its
// capacity for two minutes. The same crowd with the controller off times
// out most booking calls during the fault; with it, at most 1 %, the rate
// is back to 90 % of its pre-fault value within 2 minutes of the fault's
// end, and the ETA stays calibrated outside the fault.
func TestRushBackendSlow(t *testing.T) {
	t.Parallel()
	people := rushPeople(6000, 2000)
	dir := t.TempDir()
	js := filepath.Join(dir, "rush.json")
	var out bytes.Buffer
	// The booking calls (two per person admitted) take 40 % of the
	// backend's capacity at the full rate: twice what is left during the
	// fault.
	code := runWith(context.Background(), []string{"-quiet", "-people", itoa(people), "-rate", itoa(people / 5), "-tail", "10m",
		"-think", "5s", "-confirm-think", "3s",
		"-backend-capacity", itoa(people / 60), "-backend-timeout", "10s", "-fault", "backend-slow@3m+2m", "-pacing-target", "500ms",
		"-pacing-compare", "-json", js, "-plot", dir}, runEnv{stdout: &out})
	t.Log("\n" + out.String())
	if code != exitOK {
		t.Fatalf("exit status %d", code)
	}
	b, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	var rep report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	on := rep.Pacing
	if on == nil || on.WithoutController == nil || !on.Controller || on.WithoutController.Controller {
		t.Fatalf("pacing block: %+v", on)
	}
	off := on.WithoutController
	if on.CallsDuringFault < 100 || on.TimeoutShareDuringFault > 0.01 {
		t.Errorf("with the controller: %d of %d calls timed out during the fault", on.TimeoutsDuringFault, on.CallsDuringFault)
	}
	if off.TimeoutShareDuringFault < 0.1 {
		t.Errorf("without the controller only %.3f of the calls timed out during the fault: the fault does not bite", off.TimeoutShareDuringFault)
	}
	if on.RecoveredAfterS == nil || *on.RecoveredAfterS > 120 {
		t.Errorf("rate not back to 90%% of %d within 2 minutes: %v", on.RateBeforeFault, on.RecoveredAfterS)
	}
	if on.ETASamplesOutsideFault < 100 || on.ETACalibrationOutsideFault < minETACalibration {
		t.Errorf("ETA calibration outside the fault %.3f over %d", on.ETACalibrationOutsideFault, on.ETASamplesOutsideFault)
	}
	if st, err := os.Stat(filepath.Join(dir, "rush-pacing.png")); err != nil || st.Size() == 0 {
		t.Errorf("rush-pacing.png: %v", err)
	}
}
