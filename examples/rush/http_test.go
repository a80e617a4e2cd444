package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestRushHTTP drives the whole stack: it builds examples/reservation,
// lets the simulator start it on a loopback port (-server-cmd) and runs a
// small crowd against its JSON API in wall-clock time, maintenance window
// included; the audit reads every person's booking back through the API.
func TestRushHTTP(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the reservation server for ~20 s; skipped with -short")
	}
	t.Parallel()
	bin := buildReservation(t)
	args := []string{"-mode", "http",
		// A crowd with many no-shows (skippers, double bookers) for 18
		// places: the room admits up to three people per free place.
		"-server-cmd", bin + " -addr {addr} -client-limit 0 -opens-in 5s -rate 600 -max-active 100 -overbooking 3",
		"-people", "60", "-prequeue", "4s", "-spike-width", "2s", "-tail", "5s",
		"-think", "1s", "-confirm-think", "500ms", "-poll-min", "1s", "-comeback", "0",
		"-skippers", "0.15", "-backdoor", "0.1", "-double", "0.1", "-retry", "0.1", "-abandon-within", "10s",
		"-fault", "maintenance@3s+3s", "-max-wall", "2m",
	}
	cfg := testConfig(t, args...)
	var out, errOut bytes.Buffer
	rep, err := simulate(context.Background(), &cfg, runEnv{stdout: &out, stderr: &errOut})
	t.Log("\n" + out.String() + errOut.String())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Violations.Total != 0 || exitStatus(rep) != exitOK {
		t.Errorf("violations: %+v", rep.Violations)
	}
	if rep.Stopped != "" || rep.Fates["unfinished"] != 0 {
		t.Errorf("did not finish: %q, %d unfinished", rep.Stopped, rep.Fates["unfinished"])
	}
	// The demo server offers 18 places: all booked, and the audit, read
	// back through the API person by person, agrees with the ledger.
	if rep.Counts.Booked != int64(rep.Places) || rep.Audit.Booked != rep.Counts.Booked || rep.Audit.PeopleWithBook != rep.Counts.Booked {
		t.Errorf("booked %d of %d places; audit %+v", rep.Counts.Booked, rep.Places, rep.Audit)
	}
	tried, refused := rep.Attacks.Backdoor.Tried, rep.Attacks.Backdoor.Refused
	for _, a := range rep.Attacks.Skippers {
		tried, refused = tried+a.Tried, refused+a.Refused
	}
	if tried == 0 || refused != tried {
		t.Errorf("attacks: %d of %d refused", refused, tried)
	}
	if rep.Outcomes["join"]["maintenance"]+rep.Outcomes["status"]["maintenance"]+rep.Outcomes["hold"]["maintenance"] == 0 {
		t.Error("nothing was refused for maintenance: the fault did not reach the server")
	}
}

// buildReservation builds examples/reservation into a temporary directory
// and returns the binary's path; it skips the test without a go command.
func buildReservation(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the reservation server")
	}
	bin := filepath.Join(t.TempDir(), "reservation")
	if out, err := exec.Command(goBin, "build", "-o", bin, "github.com/gatehouse-go/gatehouse/examples/reservation").CombinedOutput(); err != nil {
		t.Fatalf("go build reservation: %v\n%s", err, out)
	}
	return bin
}
