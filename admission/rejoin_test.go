package admission_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/admission"
)

// TestRejoin: a join sent again with a valid ticket (a reconnect storm, a
// reloaded page) asks the store nothing while the place is not called and
// keeps the place; a missing or refused ticket is a Join (one store call,
// the same place); once the place is called a rejoin claims it in one
// store call; after Done an old ticket says done once the place is reached.
func TestRejoin(t *testing.T) {
	clk := newClock(time.Second)
	store := &countingStore{Store: admission.NewMemoryStore()}
	mod := func(o *admission.Options) { o.Rate, o.Burst, o.ClaimWindow = 6, 1, time.Hour } // one every 10 s
	room := newRoom(t, store, options(t, "rejoin", clk, mod))
	first := mustJoin(t, room, person(0)) // place 0: admitted at once
	if first.State != admission.StateAdmitted {
		t.Fatalf("first: %+v", first)
	}
	st := mustJoin(t, room, person(1)) // place 1: 10 s to wait
	if st.Place != 1 || st.Ticket == "" {
		t.Fatalf("second: %+v", st)
	}
	other := mustJoin(t, room, person(2))

	// A storm of rejoins with the ticket: no store call, same place.
	before := store.calls.Load()
	for range 10 {
		got, err := room.Rejoin(ctx, person(1), st.Ticket)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != admission.StateWaiting || got.Place != 1 || got.Ahead != st.Ahead || got.Ticket != st.Ticket || got.Index != st.Index {
			t.Fatalf("rejoin with the ticket: %+v, want waiting at place 1 with its ticket", got)
		}
	}
	if n := store.calls.Load() - before; n != 0 {
		t.Fatalf("10 rejoins with a valid ticket cost %d store calls", n)
	}

	// No ticket, or one the room refuses: a Join, the same place.
	forger := mustKeyring(t, admission.Key{ID: keyCur.ID, Secret: []byte(strings.Repeat("forged-secret-", 3))})
	forged, err := forger.SignTicket(admission.Ticket{Room: "rejoin", Identity: room.Hash(person(1)), Index: 0, Place: 0,
		Joined: clk.Now(), Expires: clk.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	for name, tk := range map[string]string{
		"none": "", "forged for place 0": forged, "another identity's": other.Ticket,
		"a pass": first.Pass, "garbage": "gt1.x.y.z",
	} {
		before := store.calls.Load()
		got, err := room.Rejoin(ctx, person(1), tk)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got.State != admission.StateWaiting || got.Place != 1 {
			t.Fatalf("%s ticket: %+v, want waiting at place 1", name, got)
		}
		if n := store.calls.Load() - before; n != 1 {
			t.Fatalf("%s ticket: %d store calls, want 1 (a Join)", name, n)
		}
	}

	// Called: the rejoin claims in one call and carries the pass.
	clk.Add(10 * time.Second)
	before = store.calls.Load() - store.advances.Load()
	got, err := room.Rejoin(ctx, person(1), st.Ticket)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != admission.StateAdmitted || got.Pass == "" {
		t.Fatalf("rejoin once called: %+v", got)
	}
	if err := room.Verify(clk.Now(), got.Pass, person(1)); err != nil {
		t.Fatalf("pass: %v", err)
	}
	if n := store.calls.Load() - store.advances.Load() - before; n != 1 {
		t.Fatalf("rejoin once called: %d store calls beside the snapshot's refresh, want 1", n)
	}

	// Done, then a rejoin with the old ticket: done, never admitted again.
	if _, err := room.Done(ctx, person(1)); err != nil {
		t.Fatal(err)
	}
	got, err = room.Rejoin(ctx, person(1), st.Ticket)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != admission.StateDone || got.Pass != "" {
		t.Fatalf("rejoin after done: %+v", got)
	}

	if _, err := room.Rejoin(ctx, "", st.Ticket); !errors.Is(err, admission.ErrNoIdentity) {
		t.Fatalf("rejoin without identity: %v", err)
	}
}

// TestHandlerJoinWithTicket: the join endpoint reads the ticket as status
// does (cookie or header), so a reloaded page costs no store call.
func TestHandlerJoinWithTicket(t *testing.T) {
	clk := newClock(time.Second)
	store := &countingStore{Store: admission.NewMemoryStore()}
	room := newRoom(t, store, options(t, "vaccine", clk, func(o *admission.Options) { o.Rate, o.Burst = 60, 1 }))
	h := room.Handler(identityFromHeader)
	do(t, h, call{method: "POST", path: "/q/join", user: person(0)})
	w := do(t, h, call{method: "POST", path: "/q/join", user: person(1)})
	var first struct {
		Place  int64  `json:"place"`
		Ticket string `json:"ticket"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &first); err != nil || w.Code != 200 || first.Ticket == "" {
		t.Fatalf("join: %d %s", w.Code, w.Body)
	}
	for _, via := range []string{"cookie", "header"} {
		before := store.calls.Load()
		c := call{method: "POST", path: "/q/join", user: person(1)}
		if via == "cookie" {
			c.ticket = first.Ticket
			w = do(t, h, c)
		} else {
			req := httptest.NewRequest(http.MethodPost, "/q/join", nil)
			req.Header.Set("X-User", person(1))
			req.Header.Set(admission.DefaultTicketHeader, first.Ticket)
			w = httptest.NewRecorder()
			h.ServeHTTP(w, req)
		}
		var again struct {
			State string `json:"state"`
			Place int64  `json:"place"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &again); err != nil || w.Code != 200 || again.State != "waiting" || again.Place != first.Place {
			t.Fatalf("join again with the ticket (%s): %d %s", via, w.Code, w.Body)
		}
		if n := store.calls.Load() - before; n != 0 {
			t.Fatalf("join again with the ticket (%s): %d store calls", via, n)
		}
	}
	before := store.calls.Load()
	w = do(t, h, call{method: "POST", path: "/q/join", user: person(1)})
	if w.Code != http.StatusOK || store.calls.Load()-before != 1 {
		t.Fatalf("join again without the ticket: %d, %d store calls", w.Code, store.calls.Load()-before)
	}
}
