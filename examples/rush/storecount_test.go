package main

import (
	"os"
	"testing"
)

// TestMachineCPU: on Linux the machine's CPU time is counted, busy within
// all of it, and it only grows.
func TestMachineCPU(t *testing.T) {
	if _, err := os.Stat("/proc/stat"); err != nil {
		t.Skip("no /proc/stat")
	}
	b0, t0 := machineCPU()
	if t0 <= 0 || b0 < 0 || b0 > t0 {
		t.Fatalf("busy %v of %v ticks", b0, t0)
	}
	x := 0
	for i := range 20_000_000 {
		x += i & 3
	}
	_ = x
	b1, t1 := machineCPU()
	if b1 < b0 || t1 < t0 || b1-b0 > t1-t0 {
		t.Fatalf("busy %v -> %v, total %v -> %v", b0, b1, t0, t1)
	}
}
