package slots_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-go/gatehouse/internal/redistest"
	"github.com/gatehouse-go/gatehouse/slots"
)

// faultSlack is the generous slack on latency bounds under -race on two
// busy cores.
const faultSlack = 500 * time.Millisecond

// TestRedisStoreUnderFaults is the slot store's part of the fault-injection
// suite: during each fault every hold and confirm returns within the
// store's budget, with ErrUnavailable (nobody is told they booked); once
// Redis answers again the store recovers by itself, a retry under the same
// idempotency key tells the outcome that was unknown, and no slot is over
// capacity.
func TestRedisStoreUnderFaults(t *testing.T) {
	redis.SetLogger(quietRedisLog{})
	redistest.RunFaults(t, redistest.Options{AOF: true}, testStoreUnderFault)
}

type quietRedisLog struct{}

func (quietRedisLog) Printf(context.Context, string, ...any) {}

func testStoreUnderFault(t *testing.T, srv *redistest.Server, c redis.UniversalClient, f redistest.Fault) {
	prefix := fmt.Sprintf("fault%d:", prefixSeq.Add(1))
	s := freshStore(t, c, slots.RedisOptions{Prefix: prefix, Timeout: slots.DefaultRedisTimeout})
	ctx := context.Background()
	const camp = slots.Campaign("fault")
	if err := s.DefineSlots(ctx, t0, slots.DefineRequest{Campaign: camp, Key: "d", Slots: []slots.Slot{{ID: "a", Capacity: 2}}}); err != nil {
		t.Fatal(err)
	}
	held, err := s.Hold(ctx, t0, slots.HoldRequest{Campaign: camp, Slot: "a", Person: "held", TTL: time.Hour, Key: "h-held"})
	if err != nil {
		t.Fatal(err)
	}

	end := f.Begin(t, srv)
	bound := slots.DefaultRedisTimeout + faultSlack
	type tried struct{ person, key string }
	var holds []tried
	var confirmed bool
	deadline := time.Now().Add(2 * slots.DefaultRedisTimeout)
	for k := 0; time.Now().Before(deadline); k++ {
		req := slots.HoldRequest{Campaign: camp, Slot: "a", Person: fmt.Sprint("p", k), TTL: time.Hour, Key: fmt.Sprint("h", k)}
		start := time.Now()
		_, err := s.Hold(ctx, t0, req)
		if d := time.Since(start); d > bound {
			t.Errorf("Hold during %s took %v, want at most %v + slack", f.Name, d, slots.DefaultRedisTimeout)
		}
		if err == nil && !f.Recovers || err != nil && !errors.Is(err, slots.ErrUnavailable) && !errors.Is(err, slots.ErrFull) {
			t.Errorf("Hold during %s = %v, want ErrUnavailable", f.Name, err)
		}
		holds = append(holds, tried{req.Person, req.Key})
		start = time.Now()
		_, err = s.Confirm(ctx, t0, slots.ConfirmRequest{Campaign: camp, HoldID: held.ID, Person: "held", Key: "c-held"})
		if d := time.Since(start); d > bound {
			t.Errorf("Confirm during %s took %v, want at most %v + slack", f.Name, d, slots.DefaultRedisTimeout)
		}
		switch {
		case err == nil && f.Recovers:
			confirmed = true
		case !errors.Is(err, slots.ErrUnavailable):
			t.Errorf("Confirm during %s = %v, want ErrUnavailable", f.Name, err)
		}
	}
	end()
	// Afterwards the checks are about outcomes, not speed: the same store
	// with a generous budget.
	s = freshStore(t, c, slots.RedisOptions{Prefix: prefix})
	deadline = time.Now().Add(10 * time.Second)
	for {
		// The same key: the outcome that was unknown during the fault.
		b, err := s.Confirm(ctx, t0, slots.ConfirmRequest{Campaign: camp, HoldID: held.ID, Person: "held", Key: "c-held"})
		if err == nil {
			if b.Person != "held" {
				t.Fatalf("retried Confirm booked %+v", b)
			}
			break
		}
		if !errors.Is(err, slots.ErrUnavailable) || time.Now().After(deadline) {
			t.Fatalf("Confirm retried after %s (acknowledged during it: %v): %v", f.Name, confirmed, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Every hold tried during the fault has one outcome, the same on retry,
	// and the slot is never over capacity.
	for _, h := range holds {
		_, err := s.Hold(ctx, t0, slots.HoldRequest{Campaign: camp, Slot: "a", Person: h.person, TTL: time.Hour, Key: h.key})
		if err != nil && !errors.Is(err, slots.ErrFull) {
			t.Errorf("Hold %s retried after %s: %v", h.key, f.Name, err)
		}
	}
	snapshot(t, s, t0, camp)
}
