package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-go/gatehouse/admission"
	"github.com/gatehouse-go/gatehouse/internal/redistest"
)

// lostReplies is a go-redis hook that, while armed, lets slot-store calls
// run on Redis but reports each to the caller as timed out: the reply that
// never arrived after a stall or a dropped connection.
type lostReplies struct{ armed atomic.Int64 }

func (h *lostReplies) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *lostReplies) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (h *lostReplies) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		args := cmd.Args()
		if err == nil && (cmd.Name() == "fcall" || cmd.Name() == "evalsha" || cmd.Name() == "eval") && len(args) > 3 &&
			strings.Contains(fmt.Sprint(args[3]), ":slots:") && h.armed.Add(-1) >= 0 {
			return fmt.Errorf("i/o timeout (test: the call ran, its reply was lost): %w", context.DeadlineExceeded)
		}
		return err
	}
}

// TestConfirmWithUnknownOutcome: a confirm whose store call fails after the
// script ran is never answered "nothing was booked". The server asks again
// with the same key and answers with the booking; or, when that fails too,
// says the outcome is unknown, and the booking is found afterwards. Either
// way, once the booking is known the person's place in the room ends.
func TestConfirmWithUnknownOutcome(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	rdb := srv.Client()
	var hook lostReplies
	rdb.AddHook(&hook)
	ts := newTestServer(t, redisConfig(rdb))
	ts.setTime(ts.opensAt())
	for i, lost := range []int64{1, 2} {
		name := fmt.Sprintf("Person %d", i)
		c := ts.newClient()
		c.signIn(name, "1967-03-15")
		c.must(http.StatusOK, "POST", "/api/queue/join", nil)
		c.status()
		if c.pass == "" {
			t.Fatal("not admitted")
		}
		hold := c.must(http.StatusCreated, "POST", "/api/holds", `{"slot":"city-hall-0900"}`)["hold"].(map[string]any)
		hook.armed.Store(lost)
		r := c.do("POST", "/api/holds/"+hold["id"].(string)+"/confirm", nil, "Idempotency-Key", fmt.Sprint("confirm-", i))
		hook.armed.Store(0)
		if strings.Contains(strings.ToLower(string(r.Body)), "nothing was booked") {
			t.Fatalf("lost %d replies: the server said nothing was booked: %s", lost, r)
		}
		identity := session{Name: name, BirthDate: "1967-03-15"}.identity()
		room := ts.s.roomAt(ts.clk.Now())
		switch lost {
		case 1: // asking again told the outcome
			if r.Status != http.StatusOK {
				t.Fatalf("lost 1 reply: %s, want the booking (asked again with the same key)", r)
			}
		case 2: // asking again failed too: unknown, and said so
			if m := r.json(t); r.Status != http.StatusServiceUnavailable || m["outcome"] != "unknown" {
				t.Fatalf("lost 2 replies: %s, want 503 with outcome unknown", r)
			}
			if st, err := room.Status(context.Background(), identity); err != nil || st.State == admission.StateDone {
				t.Fatalf("before the booking is known the place is %v, %v; want it kept", st.State, err)
			}
			// The booking exists; looking it up ends the place.
			if b := c.must(http.StatusOK, "GET", "/api/bookings/me", nil); b["booking"] == nil {
				t.Fatalf("after an unknown outcome: %v, want the booking", b)
			}
		}
		st, err := room.Status(context.Background(), identity)
		if err != nil || st.State != admission.StateDone {
			t.Fatalf("lost %d replies: once the booking is known the place is %v (%v), want done", lost, st.State, err)
		}
	}
}
