package redisproc

import (
	"strings"
	"testing"
)

// The process lifecycle (start, kill -9, restart, clusters) is exercised
// through internal/redistest, which wraps this package for every Redis test.

func TestFreePortNeverDefault(t *testing.T) {
	for range 200 {
		p, err := FreePort(true)
		if err != nil {
			t.Fatal(err)
		}
		if p == forbiddenPort || p == forbiddenPort+10000 || p+10000 > 65535 {
			t.Fatalf("FreePort(true) = %d", p)
		}
	}
}

func TestStartRefusesBadOptions(t *testing.T) {
	if _, err := Start("redis-server", Options{}); err == nil || !strings.Contains(err.Error(), "Dir") {
		t.Fatalf("no Dir: %v", err)
	}
	if _, err := Start("redis-server", Options{Dir: t.TempDir(), Fsync: "sometimes"}); err == nil || !strings.Contains(err.Error(), "Fsync") {
		t.Fatalf("bad Fsync: %v", err)
	}
}
