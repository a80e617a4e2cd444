package slots_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/internal/redistest"
	"github.com/gatehouse-go/gatehouse/slots"
	"github.com/redis/go-redis/v9"
)

// TestRedisLayoutMark: once a campaign's data hash carries the layout
// mark (what a version keeping campaigns in another layout sets before it
// books there), every call on the campaign, alone or batched, a retry
// with a recorded key included, fails with ErrMisconfigured and changes
// none of the campaign's keys; Lookup still reads; without the mark the
// campaign books again.
func TestRedisLayoutMark(t *testing.T) {
	rdb := redistest.Start(t, redistest.Options{}).Client()
	s := freshStore(t, rdb, slots.RedisOptions{Prefix: "mark:"})
	ctx := context.Background()
	c := slots.Campaign("c")
	if err := s.DefineSlots(ctx, t0, slots.DefineRequest{Campaign: c, Slots: []slots.Slot{{ID: "a", Capacity: 100}, {ID: "b", Capacity: 100}}, Key: "d"}); err != nil {
		t.Fatal(err)
	}
	hold := func(person, key string) (slots.Hold, error) {
		return s.Hold(ctx, t0, slots.HoldRequest{Campaign: c, Slot: "a", Person: person, TTL: time.Minute, Key: key})
	}
	booked, err := hold("p1", "h1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Confirm(ctx, t0, slots.ConfirmRequest{Campaign: c, HoldID: booked.ID, Person: "p1", Key: "c1"}); err != nil {
		t.Fatal(err)
	}
	held, err := hold("p2", "h2")
	if err != nil {
		t.Fatal(err)
	}

	keys := []string{"mark:{c}:v2:data", "mark:{c}:v2:gx", "mark:{c}:v2:hx", "mark:{c}:v2:slots"}
	dump := func() map[string]string {
		out := map[string]string{}
		for _, k := range keys {
			v, err := rdb.Dump(ctx, k).Result()
			if err != nil && !errors.Is(err, redis.Nil) {
				t.Fatal(err)
			}
			out[k] = v
		}
		return out
	}
	if err := rdb.HSet(ctx, keys[0], "~L", "v3").Err(); err != nil {
		t.Fatal(err)
	}
	before := dump()

	later := t0.Add(2 * time.Minute) // p2's hold has expired by then: nothing may expire it
	calls := map[string]func() error{
		"Hold":                 func() error { _, err := hold("p3", "h3"); return err },
		"Hold, a recorded key": func() error { _, err := hold("p1", "h1"); return err },
		"Confirm": func() error {
			_, err := s.Confirm(ctx, t0, slots.ConfirmRequest{Campaign: c, HoldID: held.ID, Person: "p2", Key: "c2"})
			return err
		},
		"Cancel": func() error {
			return s.Cancel(ctx, later, slots.CancelRequest{Campaign: c, ID: booked.ID, Person: "p1", Key: "x1"})
		},
		"Move": func() error {
			_, err := s.Move(ctx, later, slots.MoveRequest{Campaign: c, ID: booked.ID, Person: "p1", To: "b", Key: "m1"})
			return err
		},
		"DefineSlots": func() error {
			return s.DefineSlots(ctx, later, slots.DefineRequest{Campaign: c, Slots: []slots.Slot{{ID: "c", Capacity: 5}}, Key: "d2"})
		},
		"Availability": func() error { _, err := s.Availability(ctx, later, c, nil); return err },
		"Totals": func() error {
			_, err := s.(interface {
				Totals(context.Context, time.Time, slots.Campaign) (slots.Totals, error)
			}).Totals(ctx, later, c)
			return err
		},
		"Snapshot": func() error {
			_, err := s.(interface {
				Snapshot(context.Context, time.Time, slots.Campaign) (slots.Snapshot, error)
			}).Snapshot(ctx, later, c)
			return err
		},
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, slots.ErrMisconfigured) || errors.Is(err, slots.ErrUnavailable) {
			t.Errorf("%s on a marked campaign: %v, want ErrMisconfigured (and not ErrUnavailable)", name, err)
		}
	}
	// Concurrent holds go through the batch function.
	var wg sync.WaitGroup
	errs := make([]error, 32)
	for i := range errs {
		wg.Go(func() { _, errs[i] = hold(fmt.Sprint("q", i), fmt.Sprint("k", i)) })
	}
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, slots.ErrMisconfigured) {
			t.Fatalf("concurrent hold %d on a marked campaign: %v, want ErrMisconfigured", i, err)
		}
	}
	// With WaitReplicas a call and its WAIT go in one pipeline: a refused
	// DefineSlots is still ErrMisconfigured.
	waiting := freshStore(t, rdb, slots.RedisOptions{Prefix: "mark:", WaitReplicas: 1, WaitTimeout: 10 * time.Millisecond})
	err = waiting.DefineSlots(ctx, later, slots.DefineRequest{Campaign: c, Slots: []slots.Slot{{ID: "c", Capacity: 5}}, Key: "d3"})
	if !errors.Is(err, slots.ErrMisconfigured) || errors.Is(err, slots.ErrUnavailable) {
		t.Errorf("DefineSlots with WaitReplicas on a marked campaign: %v, want ErrMisconfigured", err)
	}
	// A writer's refusal writes nothing, so no replica's acknowledgement
	// is missing (this server has none).
	_, err = waiting.Hold(ctx, t0, slots.HoldRequest{Campaign: c, Slot: "a", Person: "p4", TTL: time.Minute, Key: "h4"})
	if !errors.Is(err, slots.ErrMisconfigured) || errors.Is(err, slots.ErrUnavailable) {
		t.Errorf("Hold with WaitReplicas on a marked campaign: %v, want ErrMisconfigured", err)
	}
	var wwg sync.WaitGroup
	werrs := make([]error, 16)
	for i := range werrs {
		wwg.Go(func() {
			_, werrs[i] = waiting.Hold(ctx, t0, slots.HoldRequest{Campaign: c, Slot: "a", Person: fmt.Sprint("w", i), TTL: time.Minute, Key: fmt.Sprint("w", i)})
		})
	}
	wwg.Wait()
	for i, err := range werrs {
		if !errors.Is(err, slots.ErrMisconfigured) || errors.Is(err, slots.ErrUnavailable) {
			t.Errorf("concurrent hold %d with WaitReplicas on a marked campaign: %v, want ErrMisconfigured", i, err)
		}
	}
	if after := dump(); !maps.Equal(before, after) {
		t.Error("calls on a marked campaign changed its keys")
	}
	if e, err := s.Lookup(ctx, t0, c, "p1"); err != nil || e.Booking == nil {
		t.Errorf("Lookup on a marked campaign: %+v, %v; want p1's booking", e, err)
	}

	if err := rdb.HDel(ctx, keys[0], "~L").Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := hold("p3", "h3"); err != nil {
		t.Errorf("Hold once the mark is gone: %v", err)
	}
}
