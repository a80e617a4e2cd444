package admission_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/gatehouse-go/gatehouse/admission"
)

var (
	ctx     = context.Background()
	opening = time.Date(2021, 7, 12, 11, 0, 0, 0, time.UTC) // 20:00 in Seoul
	seed    = mustSeed("5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed")

	keyOld = admission.Key{ID: "2021-06", Secret: bytes.Repeat([]byte{1}, 32)}
	keyCur = admission.Key{ID: "2021-07", Secret: bytes.Repeat([]byte{2}, 32)}

	identityKey = bytes.Repeat([]byte{7}, 32)
)

func mustSeed(s string) admission.Seed {
	v, err := admission.ParseSeed(s)
	if err != nil {
		panic(err)
	}
	return v
}

func mustKeyring(t testing.TB, signing admission.Key, accepted ...admission.Key) *admission.Keyring {
	t.Helper()
	k, err := admission.NewKeyring(signing, accepted...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// manualClock is a clock.Clock whose Now only moves when told, the only
// method a room calls. Unlike clock.Mock, setting it does not sleep, which
// matters in simulations of thousands of steps.
type manualClock struct {
	clock.Clock // the rest, from a clock.Mock, unused by rooms
	mu          sync.Mutex
	now         time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func (c *manualClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newClock returns a manual clock set to d after the opening.
func newClock(d time.Duration) *manualClock {
	return &manualClock{Clock: clock.NewMock(), now: opening.Add(d)}
}

// options returns a room's options for tests; mod adjusts them.
func options(t testing.TB, name string, clk clock.Clock, mod func(*admission.Options)) admission.Options {
	o := admission.Options{
		Name:        name,
		Opening:     opening,
		Rate:        60,
		Burst:       1,
		ClaimWindow: 10 * time.Second,
		SessionTTL:  time.Minute,
		DrainWindow: 10 * time.Second,
		Keyring:     mustKeyring(t, keyCur, keyOld),
		IdentityKey: identityKey,
		Seed:        seed,
		Clock:       clk,
	}
	if mod != nil {
		mod(&o)
	}
	return o
}

func newRoom(t testing.TB, store admission.Store, o admission.Options) *admission.Room {
	t.Helper()
	r, err := admission.NewRoom(store, o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func person(n int) string { return fmt.Sprintf("user-%04d@example.org", n) }

func mustJoin(t testing.TB, r *admission.Room, id string) admission.Status {
	t.Helper()
	st, err := r.Join(ctx, id)
	if err != nil {
		t.Fatalf("Join(%s): %v", id, err)
	}
	return st
}

func mustStatus(t testing.TB, r *admission.Room, id string) admission.Status {
	t.Helper()
	st, err := r.Status(ctx, id)
	if err != nil {
		t.Fatalf("Status(%s): %v", id, err)
	}
	return st
}

func mustStats(t testing.TB, r *admission.Room) admission.Stats {
	t.Helper()
	st, err := r.Stats(ctx)
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	return st
}

// brokenStore fails every call, as a store whose server is gone.
type brokenStore struct{}

var errBroken = errors.New("dial tcp 127.0.0.1:1: connect: connection refused")

func (brokenStore) Join(context.Context, time.Time, string, admission.Params, admission.IdentityHash) (admission.Record, error) {
	return admission.Record{}, errBroken
}
func (brokenStore) Status(context.Context, time.Time, string, admission.Params, admission.IdentityHash, admission.PlaceHint) (admission.Record, error) {
	return admission.Record{}, errBroken
}
func (brokenStore) Done(context.Context, time.Time, string, admission.Params, admission.IdentityHash) (admission.Record, error) {
	return admission.Record{}, errBroken
}
func (brokenStore) Advance(context.Context, time.Time, string, admission.Params) (admission.Line, error) {
	return admission.Line{}, errBroken
}
func (brokenStore) SetLimits(context.Context, time.Time, string, admission.Params, admission.Limits) (admission.Line, error) {
	return admission.Line{}, errBroken
}
func (brokenStore) AdjustLimits(context.Context, time.Time, string, admission.Params, admission.Limits, time.Time) (admission.Line, error) {
	return admission.Line{}, errBroken
}
func (brokenStore) SetSupply(context.Context, time.Time, string, admission.Params, admission.Places, int64) (admission.Line, error) {
	return admission.Line{}, errBroken
}
