package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
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
