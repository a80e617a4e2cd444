package main

import (
	"bytes"
	"context"
	"testing"
)

func testConfig(t *testing.T, args ...string) config {
	t.Helper()
	cfg, err := parseFlags(append([]string{"-quiet"}, args...), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestFakeRush(t *testing.T) {
	cfg := testConfig(t, "-people", "5000", "-fault", "maintenance@3m+1m")
	var out bytes.Buffer
	rep, err := simulate(context.Background(), &cfg, runEnv{stdout: &out, newTarget: fakeFactory(false)})
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Violations.Total != 0 {
		t.Errorf("violations: %+v", rep.Violations)
	}
}
