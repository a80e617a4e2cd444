package admission_test

import (
	"encoding/binary"
	"errors"
	"maps"
	"math"
	"strings"
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

// layoutStore starts a Redis and returns a store on it, its client, and
// a room's parameters, for the tests of rooms of another layout.
func layoutStore(t *testing.T) (admission.Store, *redis.Client, admission.Params) {
	t.Helper()
	c := redistest.Start(t, redistest.Options{}).Client()
	store, err := admission.NewRedisStore(c, admission.RedisOptions{Timeout: testBudget})
	if err != nil {
		t.Fatal(err)
	}
	return store, c, admission.Params{Opening: opening, Rate: 60, Burst: 1, ClaimWindow: time.Minute,
		SessionTTL: time.Minute, DrainWindow: time.Minute, Seed: seed}
}

// TestRedisStateOfAnotherVersion: a room whose state was written in
// another layout (an older gatehouse: one field v of 29 numbers) is
// refused as misconfigured, never read as a new room or misread.
func TestRedisStateOfAnotherVersion(t *testing.T) {
	store, c, p := layoutStore(t)
	// The old layout: the room's check and opening, then 28 numbers.
	old := []byte(seed.Commitment()[:16])
	old = binary.LittleEndian.AppendUint64(old, math.Float64bits(float64(opening.UnixMilli())))
	old = append(old, make([]byte, 28*8)...)
	if err := c.HSet(ctx, admission.DefaultRedisPrefix+"{old}:s", "v", old).Err(); err != nil {
		t.Fatal(err)
	}
	a := admission.HashIdentity(identityKey, "a")
	if _, err := store.Join(ctx, opening, "old", p, a); !errors.Is(err, admission.ErrMisconfigured) {
		t.Fatalf("Join in a room of another layout: %v, want ErrMisconfigured", err)
	}
	if n, _ := c.HLen(ctx, admission.DefaultRedisPrefix+"{old}:s").Result(); n != 1 {
		t.Fatalf("the room's hash has %d fields after the refused join, want 1", n)
	}
}

// TestRedisStateOfAnotherLayoutSameLength: a room whose state has the
// length of this version's but another layout's stamp (here the layout
// before the stamp, whose check was the bare commitment's start) is
// refused as another version, and nothing of it changes; so instances of
// two layouts on one room fail closed even when their states are as long.
func TestRedisStateOfAnotherLayoutSameLength(t *testing.T) {
	store, c, p := layoutStore(t)
	a, b := admission.HashIdentity(identityKey, "a"), admission.HashIdentity(identityKey, "b")
	if _, err := store.Join(ctx, opening, "prev", p, a); err != nil {
		t.Fatal(err)
	}
	key := admission.DefaultRedisPrefix + "{prev}:s"
	v, err := c.HGet(ctx, key, "v").Result()
	if err != nil {
		t.Fatal(err)
	}
	// The layout before the stamp: the same numbers after a check that
	// was the commitment's first 16 bytes.
	old := seed.Commitment()[:16] + v[16:]
	if err := c.HSet(ctx, key, "v", old).Err(); err != nil {
		t.Fatal(err)
	}
	before, err := c.HGetAll(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []admission.IdentityHash{a, b} {
		_, err := store.Join(ctx, opening.Add(time.Second), "prev", p, id)
		if !errors.Is(err, admission.ErrMisconfigured) || !strings.Contains(err.Error(), "another version") {
			t.Fatalf("Join in a room of the previous layout: %v, want ErrMisconfigured (another version)", err)
		}
	}
	if _, err := store.Advance(ctx, opening.Add(time.Second), "prev", p); !errors.Is(err, admission.ErrMisconfigured) {
		t.Fatalf("Advance in a room of the previous layout: %v, want ErrMisconfigured", err)
	}
	after, err := c.HGetAll(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(before, after) {
		t.Fatal("the refused calls changed the room's hash")
	}
}
