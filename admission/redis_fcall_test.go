package admission_test

import (
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/admission"
	"github.com/gatehouse-go/gatehouse/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// TestRedisFunctionsReloaded: the store loads its function library on a
// server that lacks it (here after FUNCTION FLUSH, as after a restart
// without persistence) and the room goes on where it was.
func TestRedisFunctionsReloaded(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	c := srv.Client()
	store := redisStore(t, c)
	p := admission.Params{Opening: opening, Rate: 60, Burst: 1, ClaimWindow: time.Minute,
		SessionTTL: time.Minute, DrainWindow: time.Minute, Seed: seed}
	a := admission.HashIdentity(identityKey, "a")
	b := admission.HashIdentity(identityKey, "b")
	if _, err := store.Join(ctx, opening.Add(-time.Second), "reload", p, a); err != nil {
		t.Fatal(err)
	}
	if err := c.FunctionFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if n, _ := c.FunctionList(ctx, redis.FunctionListQuery{}).Result(); len(n) != 0 {
		t.Fatalf("%d libraries after FUNCTION FLUSH", len(n))
	}
	rec, err := store.Join(ctx, opening.Add(-time.Second), "reload", p, b)
	if err != nil {
		t.Fatalf("Join after FUNCTION FLUSH: %v", err)
	}
	if rec.Index != 1 {
		t.Fatalf("second person's index %d, want 1 (the room kept its line)", rec.Index)
	}
	if libs, _ := c.FunctionList(ctx, redis.FunctionListQuery{}).Result(); len(libs) != 1 {
		t.Fatalf("%d libraries loaded, want 1", len(libs))
	}
}
