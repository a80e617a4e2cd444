package admission_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/admission"
)

// countingStore counts the calls that reach a store, and fails them all
// while down is set.
type countingStore struct {
	admission.Store
	calls, advances atomic.Int64
	down            atomic.Bool
}

func (c *countingStore) count() error {
	c.calls.Add(1)
	if c.down.Load() {
		return errBroken
	}
	return nil
}

func (c *countingStore) Join(ctx context.Context, now time.Time, room string, p admission.Params, id admission.IdentityHash) (admission.Record, error) {
	if err := c.count(); err != nil {
		return admission.Record{}, err
	}
	return c.Store.Join(ctx, now, room, p, id)
}

func (c *countingStore) Status(ctx context.Context, now time.Time, room string, p admission.Params, id admission.IdentityHash, h admission.PlaceHint) (admission.Record, error) {
	if err := c.count(); err != nil {
		return admission.Record{}, err
	}
	return c.Store.Status(ctx, now, room, p, id, h)
}

func (c *countingStore) Done(ctx context.Context, now time.Time, room string, p admission.Params, id admission.IdentityHash) (admission.Record, error) {
	if err := c.count(); err != nil {
		return admission.Record{}, err
	}
	return c.Store.Done(ctx, now, room, p, id)
}

func (c *countingStore) Advance(ctx context.Context, now time.Time, room string, p admission.Params) (admission.Line, error) {
	c.advances.Add(1)
	if err := c.count(); err != nil {
		return admission.Line{}, err
	}
	return c.Store.Advance(ctx, now, room, p)
}

func (c *countingStore) SetLimits(ctx context.Context, now time.Time, room string, p admission.Params, l admission.Limits) (admission.Line, error) {
	if err := c.count(); err != nil {
		return admission.Line{}, err
	}
	return c.Store.SetLimits(ctx, now, room, p, l)
}

func (c *countingStore) AdjustLimits(ctx context.Context, now time.Time, room string, p admission.Params, l admission.Limits, since time.Time) (admission.Line, error) {
	if err := c.count(); err != nil {
		return admission.Line{}, err
	}
	return c.Store.AdjustLimits(ctx, now, room, p, l, since)
}

func (c *countingStore) SetSupply(ctx context.Context, now time.Time, room string, p admission.Params, pl admission.Places, allowance int64) (admission.Line, error) {
	c.advances.Add(1)
	if err := c.count(); err != nil {
		return admission.Line{}, err
	}
	return c.Store.SetSupply(ctx, now, room, p, pl, allowance)
}

func mustPoll(t testing.TB, r *admission.Room, id, ticket string) admission.Status {
	t.Helper()
	st, err := r.Poll(ctx, id, ticket)
	if err != nil {
		t.Fatalf("Poll(%s): %v", id, err)
	}
	return st
}

// TestPollCostsNoStoreCall: a waiting person polling with a ticket costs
// no store call until the place is called; the snapshot is refreshed at
// most once per refresh interval, by one caller; the call that finds the
// place called claims it in the store and carries the pass.
func TestPollCostsNoStoreCall(t *testing.T) {
	clk := newClock(-time.Minute)
	store := &countingStore{Store: admission.NewMemoryStore()}
	room := newRoom(t, store, options(t, "poll", clk, func(o *admission.Options) {
		o.Rate, o.Burst, o.RefreshInterval = 60, 2, 2*time.Second
		o.ClaimWindow = time.Hour
	}))
	tickets := map[string]string{}
	for n := range 20 {
		st := mustJoin(t, room, person(n))
		if st.Ticket == "" || st.Place != -1 {
			t.Fatalf("early join: %+v", st)
		}
		tickets[person(n)] = st.Ticket
	}
	if got := store.calls.Load(); got != 20 {
		t.Fatalf("20 joins cost %d store calls", got)
	}
	// Before the opening: answered from the snapshot (the joins refreshed it).
	for n := range 20 {
		st := mustPoll(t, room, person(n), tickets[person(n)])
		if st.State != admission.StateWaiting || st.Ahead != -1 || st.Ticket != tickets[person(n)] {
			t.Fatalf("poll before the opening: %+v", st)
		}
	}
	if got := store.calls.Load(); got != 20 {
		t.Fatalf("polls before the opening cost %d store calls", got-20)
	}
	clk.Set(opening.Add(10 * time.Second)) // 12 called: 2 at once, then 1 a second
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		admitted = map[string]bool{}
	)
	for round := range 3 {
		before := store.calls.Load()
		for n := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				mu.Lock()
				tk := tickets[person(n)]
				mu.Unlock()
				st := mustPoll(t, room, person(n), tk)
				mu.Lock()
				defer mu.Unlock()
				if st.Ticket != "" {
					tickets[person(n)] = st.Ticket
				}
				if st.State == admission.StateAdmitted {
					admitted[person(n)] = true
					if err := room.Verify(clk.Now(), st.Pass, person(n)); err != nil {
						t.Errorf("pass of %s: %v", person(n), err)
					}
				} else if st.Place < 12 || st.Ahead != st.Place-12 {
					t.Errorf("round %d: %s waiting at place %d with %d ahead", round, person(n), st.Place, st.Ahead)
				}
			}()
		}
		wg.Wait()
		// Round 0: one refresh and 12 claims. Then the admitted poll the
		// store (claimed already); the waiting do not.
		want := int64(12)
		if round == 0 {
			want = 13
		}
		if got := store.calls.Load() - before; got != want {
			t.Fatalf("round %d: %d store calls for 20 polls, want %d", round, got, want)
		}
	}
	if len(admitted) != 12 {
		t.Fatalf("%d admitted, want 12", len(admitted))
	}
	if got := store.advances.Load(); got != 1 {
		t.Fatalf("%d snapshot refreshes within one refresh interval, want 1", got)
	}
	// The snapshot is refreshed once the interval has passed.
	clk.Add(2 * time.Second)
	for n := range 20 {
		mustPoll(t, room, person(n), tickets[person(n)])
	}
	if got := store.advances.Load(); got != 2 {
		t.Fatalf("%d refreshes, want 2", got)
	}
}

// TestPollVersion1Tickets: a room signs version 2 tickets and still
// answers version 1 tickets, which rooms signed before, from the snapshot
// without a store call (a rolling upgrade keeps its tickets); the status
// hands the holder the ticket it came with.
func TestPollVersion1Tickets(t *testing.T) {
	clk := newClock(-time.Minute)
	store := &countingStore{Store: admission.NewMemoryStore()}
	room := newRoom(t, store, options(t, "poll", clk, func(o *admission.Options) { o.Rate, o.Burst = 60, 2 }))
	st := mustJoin(t, room, person(3))
	keys := mustKeyring(t, keyCur, keyOld)
	tk, err := keys.DecodeTicketFor(clk.Now(), st.Ticket, person(3))
	if err != nil || !strings.HasPrefix(st.Ticket, "gt2.") || tk.Identity != room.Hash(person(3)) || tk.Room != "poll" {
		t.Fatalf("join's ticket %q: %+v, %v", st.Ticket, tk, err)
	}
	if _, err := keys.DecodeTicketFor(clk.Now(), st.Ticket, person(4)); !errors.Is(err, admission.ErrInvalidTicket) {
		t.Fatalf("version 2 ticket decoded for another identity: %v", err)
	}
	v1, err := keys.SignTicket(tk)
	if err != nil {
		t.Fatal(err)
	}
	before := store.calls.Load()
	got := mustPoll(t, room, person(3), v1)
	if store.calls.Load() != before || got.State != admission.StateWaiting || got.Ticket != v1 || got.Index != tk.Index {
		t.Fatalf("poll with a version 1 ticket: %+v, %d store calls", got, store.calls.Load()-before)
	}
	// Version 1 bound to another identity's hash is refused: the store answers.
	mustJoin(t, room, person(4))
	before = store.calls.Load()
	if got := mustPoll(t, room, person(4), v1); store.calls.Load() == before || got.State != admission.StateWaiting || got.Ticket == v1 {
		t.Fatalf("another identity's version 1 ticket: %+v", got)
	}
}

// TestPollRefusesBadTickets: a forged, expired, other room's or identity's
// ticket, or a pass, is not trusted: the room asks the store, which knows
// the real place, and hands a new ticket. Nobody gets a pass from a
// forged place.
func TestPollRefusesBadTickets(t *testing.T) {
	clk := newClock(time.Second)
	mem := admission.NewMemoryStore()
	store := &countingStore{Store: mem}
	mod := func(o *admission.Options) { o.Rate, o.Burst = 6, 1 } // one every 10s
	room := newRoom(t, store, options(t, "tickets", clk, mod))
	other := newRoom(t, mem, options(t, "tickets-b", clk, mod))
	first := mustJoin(t, room, person(0)) // admitted at once: place 0
	if first.State != admission.StateAdmitted || first.Pass == "" {
		t.Fatalf("first: %+v", first)
	}
	st := mustJoin(t, room, person(1)) // place 1, waits
	if st.Place != 1 || st.Ticket == "" {
		t.Fatalf("second: %+v", st)
	}
	mustJoin(t, other, person(1))
	otherTicket := mustPoll(t, other, person(1), "").Ticket
	forger := mustKeyring(t, admission.Key{ID: keyCur.ID, Secret: []byte(strings.Repeat("forged-secret-", 3))})
	forged, err := forger.SignTicket(admission.Ticket{Room: "tickets", Identity: room.Hash(person(1)), Index: 0, Place: 0,
		Joined: clk.Now(), Expires: clk.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	forged2, err := forger.SignTicketFor(admission.Ticket{Room: "tickets", Identity: room.Hash(person(1)), Index: 0, Place: 0,
		Joined: clk.Now(), Expires: clk.Now().Add(time.Hour)}, person(1))
	if err != nil {
		t.Fatal(err)
	}
	// Version 1, signed with the room's own key, for place 0 but bound to
	// another identity's hash.
	otherHash, err := mustKeyring(t, keyCur).SignTicket(admission.Ticket{Room: "tickets", Identity: room.Hash(person(0)), Index: 0, Place: 0,
		Joined: clk.Now(), Expires: clk.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	// Version 2 with the room's key and person 1's hash, but bound to
	// another raw identity: its MAC fails for person 1.
	otherBound, err := mustKeyring(t, keyCur).SignTicketFor(admission.Ticket{Room: "tickets", Identity: room.Hash(person(1)), Index: 0, Place: 0,
		Joined: clk.Now(), Expires: clk.Now().Add(time.Hour)}, person(0))
	if err != nil {
		t.Fatal(err)
	}
	shortLived := newRoom(t, mem, options(t, "tickets", clk, func(o *admission.Options) { mod(o); o.TicketTTL = time.Second }))
	expired := mustPoll(t, shortLived, person(1), "").Ticket
	aliceTicket := mustJoin(t, room, person(2)).Ticket
	clk.Add(1500 * time.Millisecond) // the short-lived ticket expires; place 1 not yet called
	for name, tk := range map[string]string{
		"forged for place 0":            forged,
		"forged version 2 for place 0":  forged2,
		"version 1 of another identity": otherHash,
		"version 2 bound to another":    otherBound,
		"another room's":                otherTicket,
		"another identity's":            aliceTicket,
		"expired":                       expired,
		"a pass":                        first.Pass,
		"garbage":                       "gt1.x.y.z",
		"garbage version 2":             "gt2.x.y.z",
	} {
		before := store.calls.Load()
		got := mustPoll(t, room, person(1), tk)
		if got.State == admission.StateAdmitted || got.Place != 1 {
			t.Fatalf("%s ticket: %+v, want waiting at place 1", name, got)
		}
		if store.calls.Load() == before {
			t.Fatalf("%s ticket answered without the store", name)
		}
		if _, _, _, h, err := mustKeyring(t, keyCur, keyOld).VerifyTicketFor(clk.Now(), got.Ticket, "tickets", person(1)); err != nil || h != room.Hash(person(1)) {
			t.Fatalf("%s ticket: new ticket refused: %v", name, err)
		}
	}
	// A ticket is never a pass.
	w := do(t, room.Protect(booked, identityFromHeader), call{path: "/book", user: person(1), pass: st.Ticket})
	if w.Code != http.StatusForbidden {
		t.Fatalf("ticket as a pass: %d", w.Code)
	}
}

// TestPollStaleSnapshot: while the store is down, polls are answered from
// the snapshot until it is older than StaleAfter; then they fail with
// ErrUnavailable (503), and nobody is admitted.
func TestPollStaleSnapshot(t *testing.T) {
	clk := newClock(time.Second)
	store := &countingStore{Store: admission.NewMemoryStore()}
	room := newRoom(t, store, options(t, "stale", clk, func(o *admission.Options) {
		o.Rate, o.Burst, o.RefreshInterval, o.StaleAfter = 60, 1, time.Second, 5*time.Second
	}))
	mustJoin(t, room, person(0))
	tk := mustJoin(t, room, person(9)).Ticket
	for n := 1; n < 9; n++ {
		mustJoin(t, room, person(n))
	}
	store.down.Store(true)
	clk.Add(3 * time.Second) // place 9 not called before 10s
	if st := mustPoll(t, room, person(9), tk); st.State != admission.StateWaiting {
		t.Fatalf("within the staleness bound: %+v", st)
	}
	clk.Add(3 * time.Second)
	if _, err := room.Poll(ctx, person(9), tk); !errors.Is(err, admission.ErrUnavailable) {
		t.Fatalf("snapshot 6s old, store down: %v, want ErrUnavailable", err)
	}
	w := do(t, room.Handler(identityFromHeader), call{path: "/q/status", user: person(9), ticket: tk})
	wantProblem(t, w, http.StatusServiceUnavailable, "stale snapshot")
	w = do(t, room.Handler(identityFromHeader), call{path: "/q/line"})
	wantProblem(t, w, http.StatusServiceUnavailable, "stale line")
	clk.Add(10 * time.Second) // place 9 is called by now, but the store is down
	if _, err := room.Poll(ctx, person(9), tk); !errors.Is(err, admission.ErrUnavailable) {
		t.Fatalf("called while the store is down: %v, want ErrUnavailable", err)
	}
	store.down.Store(false)
	if st := mustPoll(t, room, person(9), tk); st.State != admission.StateAdmitted {
		t.Fatalf("store back: %+v", st)
	}
}

func TestRefreshIntervalValidated(t *testing.T) {
	clk := newClock(0)
	for _, c := range []struct {
		mod func(*admission.Options)
		ok  bool
	}{
		{func(o *admission.Options) { o.Rate, o.Burst, o.RefreshInterval = 60, 2, 2*time.Second }, true},
		{func(o *admission.Options) { o.Rate, o.Burst, o.RefreshInterval = 60, 2, 2001*time.Millisecond }, false},
		{func(o *admission.Options) { o.Rate, o.Burst, o.RefreshInterval = 6000, 10, 0 }, true},
		{func(o *admission.Options) { o.RefreshInterval, o.StaleAfter = time.Second, 500*time.Millisecond }, false},
		{func(o *admission.Options) { o.TicketTTL = -time.Second }, false},
	} {
		_, err := admission.NewRoom(admission.NewMemoryStore(), options(t, "refresh", clk, c.mod))
		if (err == nil) != c.ok {
			t.Errorf("NewRoom: %v, want ok %v", err, c.ok)
		}
	}
}

// TestSetLimits: a room's limits change for every instance at once in the
// store, and in each instance's answers from its next refresh.
func TestSetLimits(t *testing.T) {
	clk := newClock(-time.Second)
	store := admission.NewMemoryStore()
	a := newRoom(t, store, options(t, "limits", clk, func(o *admission.Options) { o.ClaimWindow = time.Hour }))
	b := newRoom(t, store, options(t, "limits", clk, func(o *admission.Options) { o.ClaimWindow = time.Hour }))
	for n := range 500 {
		mustJoin(t, a, person(n))
	}
	clk.Set(opening.Add(10 * time.Second))
	if _, err := a.SetLimits(ctx, admission.Limits{Rate: 600, Burst: 10}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.SetLimits(ctx, admission.Limits{Rate: 0, Burst: 10}); err == nil {
		t.Fatal("rate 0 accepted")
	}
	clk.Add(10 * time.Second)
	s := mustStats(t, b)
	if s.Limits != (admission.Limits{Rate: 600, Burst: 10}) || s.Serving != 11+100 {
		t.Fatalf("instance b 10s after instance a changed the limits: %+v", s.Line)
	}
}

// TestHandlerTicketAndLine: the join sets the ticket cookie; a status with
// it is answered without the store; the line endpoint is public and
// cacheable, and from it a client computes the position the room reports.
func TestHandlerTicketAndLine(t *testing.T) {
	clk := newClock(time.Second)
	store := &countingStore{Store: admission.NewMemoryStore()}
	room := newRoom(t, store, options(t, "vaccine", clk, func(o *admission.Options) { o.Rate, o.Burst = 60, 1 }))
	h := room.Handler(identityFromHeader)
	for n := range 5 {
		do(t, h, call{method: "POST", path: "/q/join", user: person(n)})
	}
	w := do(t, h, call{method: "POST", path: "/q/join", user: person(9)})
	var ticket string
	for _, c := range w.Result().Cookies() {
		if c.Name == admission.DefaultTicketCookie {
			ticket = c.Value
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
				t.Fatalf("ticket cookie: %+v", c)
			}
		}
	}
	if ticket == "" {
		t.Fatalf("join set no ticket cookie: %v", w.Result().Cookies())
	}
	before := store.calls.Load()
	w = do(t, h, call{path: "/q/status", user: person(9), ticket: ticket})
	var st struct {
		State string `json:"state"`
		Place int64  `json:"place"`
		Ahead int64  `json:"ahead"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil || w.Code != 200 || st.State != "waiting" {
		t.Fatalf("status: %d %s", w.Code, w.Body)
	}
	if store.calls.Load() != before {
		t.Fatal("status with a ticket asked the store")
	}
	w = do(t, h, call{path: "/q/line"})
	if w.Code != 200 || w.Header().Get("Cache-Control") != "public, max-age=1" {
		t.Fatalf("line: %d %q %s", w.Code, w.Header().Get("Cache-Control"), w.Body)
	}
	var line admission.PublicLine
	if err := json.Unmarshal(w.Body.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	if !line.Opened || line.Limits.Rate != 60 || line.Joined != 6 {
		t.Fatalf("line: %+v", line)
	}
	// The client's own computation, as documented on PublicLine.
	if ahead := line.Returning + st.Place - int64(line.Serving); ahead != st.Ahead {
		t.Fatalf("position from the line: %d ahead, the room says %d", ahead, st.Ahead)
	}
	// No identity needed, and the line endpoint sets no cookie.
	if len(w.Result().Cookies()) != 0 {
		t.Fatalf("line set cookies: %v", w.Result().Cookies())
	}
}
