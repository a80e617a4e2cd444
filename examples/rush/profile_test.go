package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/pprof/profile"
)

// TestCPUProfileParts: with -cpuprofile the profile splits the main loop's
// CPU into the target's part and the crowd's (pprof label part), and the
// target's part holds the library's calls and no crowd decision.
func TestCPUProfileParts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cpu.prof")
	var out bytes.Buffer
	code := runWith(context.Background(), []string{"-quiet", "-people", itoa(rushPeople(8000, 3000)), "-tail", "5m", "-cpuprofile", path},
		runEnv{stdout: &out, stderr: &out})
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, out.String())
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := profile.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	// Per part, the samples, and whether any of them is inside the
	// library's Room.Poll.
	samples := map[string]int{}
	inPoll := map[string]bool{}
	for _, sm := range p.Sample {
		part := ""
		if v := sm.Label["part"]; len(v) == 1 {
			part = v[0]
		}
		samples[part]++
		for _, loc := range sm.Location {
			for _, l := range loc.Line {
				if l.Function != nil && l.Function.Name == "github.com/gatehouse-go/gatehouse/admission.(*Room).Poll" {
					inPoll[part] = true
				}
			}
		}
	}
	t.Logf("samples by part: %v; in Room.Poll: %v", samples, inPoll)
	if samples["target"] == 0 || samples["crowd"] == 0 {
		t.Fatalf("samples by part %v: want both target and crowd", samples)
	}
	if !inPoll["target"] || inPoll["crowd"] {
		t.Errorf("Room.Poll's samples by part %v: want all under target", inPoll)
	}
}

// TestTickLog: -ticklog writes a header and one line per tick run, ticks
// in order, whose events add up to the report's and whose store events
// are among them.
func TestTickLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ticks.txt")
	rep := runReport(t, testConfig(t, "-people", "3000", "-tail", "5m", "-ticklog", path))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if lines[0] != "# tick events store_events wall_us start_us" {
		t.Fatalf("first line %q, want the header", lines[0])
	}
	var events, store, prev, prevStart int64 = 0, 0, -1, -1
	for _, l := range lines[1:] {
		var tick, n, calls, us, start int64
		if k, err := fmt.Sscanf(l, "%d %d %d %d %d", &tick, &n, &calls, &us, &start); k != 5 || err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if tick <= prev || n <= 0 || calls < 0 || calls > n || us < 0 || start < prevStart {
			t.Fatalf("line %q after tick %d (started at %d µs): want a later tick, events, store events among them, a duration, a start no earlier", l, prev, prevStart)
		}
		prev, prevStart = tick, start
		events += n
		store += calls
	}
	if events != rep.Events || store == 0 {
		t.Errorf("the log's events %d (of which %d call the store), want the report's %d", events, store, rep.Events)
	}
}
