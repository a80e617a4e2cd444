package admission_test

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/admission"
)

func TestNewRoomOptions(t *testing.T) {
	clk := newClock(0)
	for _, c := range []struct {
		name string
		mod  func(*admission.Options)
		want string // in the error; "" for no error
	}{
		{"valid", nil, ""},
		{"no name", func(o *admission.Options) { o.Name = "" }, "room name"},
		{"name breaking the hash tag", func(o *admission.Options) { o.Name = "a}{b" }, "not allowed"},
		{"name too long", func(o *admission.Options) { o.Name = strings.Repeat("a", 65) }, "1 to 64"},
		{"no opening", func(o *admission.Options) { o.Opening = time.Time{} }, "Opening"},
		{"negative rate", func(o *admission.Options) { o.Rate = -1 }, "Rate"},
		{"negative burst", func(o *admission.Options) { o.Burst = -1 }, "Burst"},
		{"negative cap", func(o *admission.Options) { o.Cap = -1 }, "Cap"},
		{"claim window under 1ms", func(o *admission.Options) { o.ClaimWindow = time.Microsecond }, "ClaimWindow"},
		{"session TTL not whole ms", func(o *admission.Options) { o.SessionTTL = time.Second + time.Microsecond }, "SessionTTL"},
		{"negative drain window", func(o *admission.Options) { o.DrainWindow = -time.Second }, "DrainWindow"},
		{"no keyring", func(o *admission.Options) { o.Keyring = nil }, "Keyring"},
		{"short identity key", func(o *admission.Options) { o.IdentityKey = []byte("short") }, "IdentityKey"},
		{"no seed", func(o *admission.Options) { o.Seed = admission.Seed{} }, "Seed"},
	} {
		_, err := admission.NewRoom(admission.NewMemoryStore(), options(t, "room", clk, c.mod))
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: error %v, want one naming %q", c.name, err, c.want)
		}
	}
	if _, err := admission.NewRoom(nil, options(t, "room", clk, nil)); err == nil {
		t.Error("nil store: no error")
	}
	// Zero values mean the documented defaults.
	r, err := admission.NewRoom(admission.NewMemoryStore(), admission.Options{
		Name: "defaults", Opening: opening, Keyring: mustKeyring(t, keyCur), IdentityKey: identityKey, Seed: seed,
	})
	if err != nil {
		t.Fatal(err)
	}
	p := r.Params()
	if p.Rate != admission.DefaultRate || p.Burst != 1 || p.Cap != 0 || p.ClaimWindow != admission.DefaultClaimWindow ||
		p.SessionTTL != admission.DefaultSessionTTL || p.DrainWindow != admission.DefaultDrainWindow {
		t.Fatalf("defaults: %+v", p)
	}
	r, _ = admission.NewRoom(admission.NewMemoryStore(), options(t, "burst", clk, func(o *admission.Options) { o.Rate, o.Burst = 6000, 0 }))
	if r.Params().Burst != 100 {
		t.Fatalf("default burst for 6000/min: %d, want one second's worth (100)", r.Params().Burst)
	}
}

func TestRoomErrors(t *testing.T) {
	clk := newClock(time.Second)
	store := admission.NewMemoryStore()
	room := newRoom(t, store, options(t, "errors", clk, nil))
	if _, err := room.Join(ctx, ""); !errors.Is(err, admission.ErrNoIdentity) {
		t.Fatalf("empty identity: %v", err)
	}
	if _, err := room.Status(ctx, "nobody"); !errors.Is(err, admission.ErrNotJoined) {
		t.Fatalf("status of a stranger: %v", err)
	}
	if _, err := room.Done(ctx, "nobody"); !errors.Is(err, admission.ErrNotJoined) {
		t.Fatalf("done of a stranger: %v", err)
	}
	// Another instance with another seed: refused, and it changes nothing.
	mustJoin(t, room, person(1))
	other := newRoom(t, store, options(t, "errors", clk, func(o *admission.Options) { o.Seed[0] ^= 1 }))
	if _, err := other.Join(ctx, person(2)); !errors.Is(err, admission.ErrMisconfigured) {
		t.Fatalf("second seed: %v, want ErrMisconfigured", err)
	}
	w := do(t, other.Handler(identityFromHeader), call{method: "POST", path: "/q/join", user: person(2)})
	wantProblem(t, w, 500, "misconfigured join")
	if s := mustStats(t, room); s.Joined != 1 {
		t.Fatalf("joined %d, want 1", s.Joined)
	}
	if err := room.Verify(clk.Now(), "", person(1)); !errors.Is(err, admission.ErrInvalidPass) {
		t.Fatalf("empty pass: %v", err)
	}
	if err := room.Verify(clk.Now(), "x", ""); !errors.Is(err, admission.ErrInvalidPass) {
		t.Fatalf("no identity: %v", err)
	}
}

func TestSeedRevealedAtOpening(t *testing.T) {
	room := newRoom(t, admission.NewMemoryStore(), options(t, "seed", newClock(0), nil))
	if _, ok := room.Seed(opening.Add(-time.Millisecond)); ok {
		t.Fatal("seed revealed 1ms before the opening")
	}
	s, ok := room.Seed(opening)
	if !ok || s != seed || !admission.VerifyCommitment(s, room.SeedCommitment()) {
		t.Fatalf("at the opening: %v %v", s, ok)
	}
}

// TestObserverAndLogs: every operation reaches the observer; a claim
// carries the wait and the ETA shown at join; logs never carry an identity
// in clear, only the short hash.
func TestObserverAndLogs(t *testing.T) {
	clk := newClock(time.Second)
	var (
		mu     sync.Mutex
		events []admission.Event
		logs   bytes.Buffer
	)
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	mod := func(o *admission.Options) {
		o.Logger = logger
		o.Observer = func(e admission.Event) { mu.Lock(); events = append(events, e); mu.Unlock() }
	}
	room := newRoom(t, admission.NewMemoryStore(), options(t, "observed", clk, mod))
	alice := "alice.kim@example.org"
	mustJoin(t, room, alice) // admitted and claimed at once
	mustStatus(t, room, alice)
	room.Done(ctx, alice)
	mustStats(t, room)
	broken := newRoom(t, brokenStore{}, options(t, "observed", clk, mod))
	broken.Status(ctx, alice)

	// The join finds alice called at once and claims in the same store
	// call: one join event, which carries the claim.
	want := []admission.Op{admission.OpJoin, admission.OpStatus, admission.OpDone, admission.OpStats, admission.OpStatus}
	if len(events) != len(want) {
		t.Fatalf("%d events, want %d", len(events), len(want))
	}
	for i, e := range events {
		if e.Op != want[i] || e.Room != "observed" {
			t.Fatalf("event %d: %+v", i, e)
		}
	}
	if !events[0].Claimed || events[0].State != admission.StateAdmitted || events[0].Wait != 0 || events[0].JoinETA.Known {
		t.Fatalf("join that claimed at once: %+v", events[0])
	}
	if events[1].Claimed || events[2].State != admission.StateDone || events[3].Err != nil {
		t.Fatalf("events: %+v", events)
	}
	if !errors.Is(events[4].Err, admission.ErrUnavailable) {
		t.Fatalf("outage event: %+v", events[4])
	}
	out := logs.String()
	if strings.Contains(out, alice) || strings.Contains(out, "alice") {
		t.Fatalf("identity in the logs:\n%s", out)
	}
	if !strings.Contains(out, room.Hash(alice).Short()) || !strings.Contains(out, "store unavailable") {
		t.Fatalf("logs lack the short hash or the outage:\n%s", out)
	}
}
