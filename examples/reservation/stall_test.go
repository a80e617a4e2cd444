package main

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-go/gatehouse/internal/redistest"
	"github.com/gatehouse-go/gatehouse/window"
)

// stallSlack is the generous slack on latency bounds under -race on two
// busy cores; the bounds (healthz < 100 ms, every gated route
// within the switch's read budget + 100 ms) are what runs without it show.
const stallSlack = 500 * time.Millisecond

// commandCounter is a go-redis hook that counts the commands sent, to show
// which requests ask Redis at all.
type commandCounter struct{ n atomic.Int64 }

func (c *commandCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *commandCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}
func (c *commandCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

// TestRedisStallNeverFreezesTheSite stalls Redis (SIGSTOP, DEBUG SLEEP) and
// breaks it (dropped connections, a restart) under the server on -store
// redis, with a client that honours context deadlines and one that does
// not: the health check answers at once, the front page and a hold answer
// within the switch's read budget, three rounds in a row, nothing is held,
// and everything recovers by itself when Redis answers again.
func TestRedisStallNeverFreezesTheSite(t *testing.T) {
	// AOF: the restart keeps the slots.
	redistest.RunFaults(t, redistest.Options{AOF: true}, func(t *testing.T, srv *redistest.Server, rdb redis.UniversalClient, f redistest.Fault) {
		var sent commandCounter
		rdb.AddHook(&sent)
		ts := newTestServer(t, redisConfig(rdb))
		ts.setTime(ts.opensAt())
		c := ts.newClient()
		c.signIn("Han Seo-yeon", "1967-03-15")
		c.must(http.StatusOK, "POST", "/api/queue/join", nil)
		c.status()
		if c.pass == "" {
			t.Fatal("not admitted")
		}
		end := f.Begin(t, srv)
		ts.setTime(ts.clk.Now().Add(2 * time.Second)) // the switch's reading is stale
		budget := window.DefaultRedisTimeout
		for round := range 3 {
			timed := func(method, path string, body any, bound time.Duration, want ...int) {
				t.Helper()
				start := time.Now()
				r := c.do(method, path, body)
				d := time.Since(start)
				if d > bound {
					t.Errorf("round %d, %s: %s %s took %v, want at most %v + slack", round, f.Name, method, path, d, bound-stallSlack)
				}
				if !f.Recovers && !containsInt(want, r.Status) {
					t.Errorf("round %d, %s: %s %s = %s, want %v", round, f.Name, method, path, r, want)
				}
			}
			before := sent.n.Load()
			timed("GET", "/healthz", nil, 100*time.Millisecond+stallSlack, http.StatusOK)
			if sent.n.Load() != before {
				t.Errorf("round %d, %s: GET /healthz sent Redis a command", round, f.Name)
			}
			timed("GET", "/", nil, budget+100*time.Millisecond+stallSlack, http.StatusServiceUnavailable)
			timed("POST", "/api/holds", `{"slot":"station-1800"}`, budget+100*time.Millisecond+stallSlack, http.StatusServiceUnavailable)
		}
		end()
		var held bool
		for range 100 { // the switch and the store find Redis again
			ts.setTime(ts.clk.Now().Add(300 * time.Millisecond))
			if r := c.do("GET", "/api/bookings/me", nil); r.Status == http.StatusOK || r.Status == http.StatusNotFound {
				held = strings.Contains(string(r.Body), "station-1800")
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if held && !f.Recovers {
			t.Fatalf("a hold refused during %s exists", f.Name)
		}
		if r := c.do("POST", "/api/holds", `{"slot":"station-1800"}`); r.Status != http.StatusCreated && !held {
			t.Fatalf("after %s: POST /api/holds = %s, want 201", f.Name, r)
		}
	})
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
