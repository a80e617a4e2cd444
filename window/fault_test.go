package window_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-go/gatehouse/internal/redistest"
	"github.com/gatehouse-go/gatehouse/window"
)

// The fault-injection suite of the switch and the gate: Redis stalled
// (SIGSTOP, DEBUG SLEEP), its connections dropped, or restarted. Latency
// bounds are asserted with generous slack (-race on two busy cores); the
// figures the issue asks for (healthz < 100 ms, a gated route within the read
// budget + 100 ms) are what the slack-free runs show.
const (
	faultBudget = window.DefaultRedisTimeout
	faultSlack  = 500 * time.Millisecond
	// infraBound bounds a route that does not need the switch. That it
	// does not ask the switch at all is checked exactly (countingSwitch).
	infraBound = 100*time.Millisecond + faultSlack
)

// faultSeq numbers the switches of the fault suite, each under its own prefix.
var faultSeq atomic.Int64

// countingSwitch counts the calls of On, to show which requests ask the
// switch.
type countingSwitch struct {
	window.Switch
	on atomic.Int64
}

func (s *countingSwitch) On(ctx context.Context) (bool, error) {
	s.on.Add(1)
	return s.Switch.On(ctx)
}

// TestGateUnderRedisFaults: during each fault, a health check never waits
// for the switch; a gated route answers 503 within the read budget, the
// first time and every time after, and its handler is never reached; after
// it, everything recovers by itself.
func TestGateUnderRedisFaults(t *testing.T) {
	redistest.RunFaults(t, redistest.Options{}, testGateUnderFault)
}

func testGateUnderFault(t *testing.T, srv *redistest.Server, c redis.UniversalClient, f redistest.Fault) {
	const ttl = 200 * time.Millisecond
	sw, err := window.NewRedisSwitch(c, window.RedisOptions{Prefix: fmt.Sprintf("fault%d:", faultSeq.Add(1)), TTL: ttl, Retry: ttl})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sw.Close() })
	var reached atomic.Int64
	counted := &countingSwitch{Switch: sw}
	gate, err := window.NewGate(window.GateOptions{
		Schedule: july2021(t),
		Switch:   counted,
		Clock:    mockAt(kst(t, "2021-07-12T21:00")), // booking open
		Routes: []window.Route{
			{Allow: window.Always, Patterns: []string{"GET /healthz"}},
			{Allow: window.DuringOpen, Patterns: []string{"POST /api/book"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	h := gate.Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/book" {
			reached.Add(1)
		}
	}))
	call := func(method, path string) (int, time.Duration) {
		start := time.Now()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		return rec.Code, time.Since(start)
	}
	if code, _ := call("POST", "/api/book"); code != http.StatusOK {
		t.Fatalf("before the fault: %d", code)
	}

	end := f.Begin(t, srv)
	time.Sleep(ttl) // the reading from before the fault is stale now
	reached.Store(0)
	deadline := time.Now().Add(2*faultBudget + ttl) // a slow read, fast refusals, another read
	var slow, fast, allowed int
	for time.Now().Before(deadline) {
		asked := counted.on.Load()
		if code, d := call("GET", "/healthz"); code != http.StatusOK || d > infraBound {
			t.Errorf("healthz during %s: %d after %v, want 200 within %v", f.Name, code, d, infraBound)
		}
		if counted.on.Load() != asked {
			t.Errorf("healthz during %s asked the switch", f.Name)
		}
		code, d := call("POST", "/api/book")
		switch {
		case d > faultBudget+faultSlack:
			t.Errorf("gated route during %s: %d after %v, want an answer within %v + slack", f.Name, code, d, faultBudget)
		case code == http.StatusOK && f.Recovers:
			allowed++
		case code != http.StatusServiceUnavailable:
			t.Errorf("gated route during %s: %d, want 503", f.Name, code)
		case d > faultBudget/2:
			slow++
		default:
			fast++
		}
	}
	if n := reached.Load(); n != int64(allowed) {
		t.Errorf("during %s the booking handler was reached %d times, %d allowed", f.Name, n, allowed)
	}
	if !f.Recovers && slow > 0 && fast == 0 {
		t.Errorf("during %s every refusal waited for a read (%d slow, 0 fast): a failed read is not remembered for Retry", f.Name, slow)
	}
	end()
	waitFor(t, 10*time.Second, "recovery after "+f.Name, func() bool {
		code, _ := call("POST", "/api/book")
		return code == http.StatusOK
	})
}

// TestRedisSwitchFailedReadStampedWhenItFails: a read that fails after the
// read budget is remembered for Retry from the moment it failed, so the
// next On answers at once instead of waiting for another read.
func TestRedisSwitchFailedReadStampedWhenItFails(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	c := srv.Client()
	sw, err := window.NewRedisSwitch(c, window.RedisOptions{Timeout: 300 * time.Millisecond, Retry: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sw.Close() })
	srv.Pause()
	on := func() time.Duration {
		start := time.Now()
		on, err := sw.On(context.Background())
		if !on || !errors.Is(err, window.ErrSwitchUnavailable) {
			t.Fatalf("On during a stall = %v, %v; want on and ErrSwitchUnavailable", on, err)
		}
		return time.Since(start)
	}
	if d := on(); d < 250*time.Millisecond || d > 300*time.Millisecond+faultSlack {
		t.Fatalf("first On took %v, want the read budget (300ms)", d)
	}
	if d := on(); d >= 250*time.Millisecond {
		t.Fatalf("On right after a failed read took %v: it read again instead of answering from the failure", d)
	}
}
