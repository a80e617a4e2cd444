package main

import (
	"strings"
	"testing"
	"time"
)

// -redis-timeout sets the one budget the three Redis stores get; a negative
// or huge one is refused with the flag's name.
func TestRedisTimeoutFlag(t *testing.T) {
	cfg, err := parseFlags([]string{"-redis-timeout", "2s"}, new(strings.Builder))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RedisTimeout != 2*time.Second {
		t.Errorf("-redis-timeout 2s gave %v", cfg.RedisTimeout)
	}
	if cfg, err = parseFlags(nil, new(strings.Builder)); err != nil || cfg.RedisTimeout != 0 {
		t.Errorf("default -redis-timeout = %v, %v; want 0 (the libraries' default)", cfg.RedisTimeout, err)
	}
	for _, bad := range []string{"-1s", "2m"} {
		if _, err := parseFlags([]string{"-redis-timeout", bad}, new(strings.Builder)); err == nil || !strings.Contains(err.Error(), "-redis-timeout") {
			t.Errorf("-redis-timeout %s: %v", bad, err)
		}
	}
}
