package slots_test

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-go/gatehouse/internal/redistest"
	"github.com/gatehouse-go/gatehouse/slots"
)

// TestRedisReloadsFunctionsAfterFlush: the store loads its function
// library where a call finds it missing (a fresh server, or after FUNCTION
// FLUSH, as a server restarted without persistence would be), and the call
// then runs once: a hold made before the flush is still there and is
// confirmed, not made again.
func TestRedisReloadsFunctionsAfterFlush(t *testing.T) {
	rdb := redistest.Start(t, redistest.Options{}).Client()
	s := freshStore(t, rdb, slots.RedisOptions{})
	ctx := t.Context()
	const c = slots.Campaign("reload")
	if err := s.DefineSlots(ctx, t0, slots.DefineRequest{Campaign: c, Slots: []slots.Slot{{ID: "a", Capacity: 1}}, Key: "d"}); err != nil {
		t.Fatal(err)
	}
	hd, err := s.Hold(ctx, t0, slots.HoldRequest{Campaign: c, Slot: "a", Person: "p", TTL: time.Hour, Key: "h"})
	if err != nil {
		t.Fatal(err)
	}
	if err := rdb.FunctionFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := rdb.FunctionList(ctx, redis.FunctionListQuery{}).Result(); err != nil || len(n) != 0 {
		t.Fatalf("libraries after FUNCTION FLUSH: %v, %v", n, err)
	}
	b, err := s.Confirm(ctx, t0, slots.ConfirmRequest{Campaign: c, HoldID: hd.ID, Person: "p", Key: "c"})
	if err != nil || b.ID != hd.ID {
		t.Fatalf("Confirm after FUNCTION FLUSH: %+v, %v", b, err)
	}
	if libs, err := rdb.FunctionList(ctx, redis.FunctionListQuery{}).Result(); err != nil || len(libs) != 1 {
		t.Fatalf("libraries after the Confirm: %v, %v; want the store's, loaded again", libs, err)
	}
	snap := snapshot(t, s, t0, c)
	if len(snap.Bookings) != 1 || snap.Slots[0].Booked != 1 || snap.Slots[0].Free != 0 {
		t.Fatalf("after the reload: %+v", snap)
	}
}
