package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/slots"
)

// passlessJar is a cookie jar that drops the pass cookie, so that a client
// must send its pass as Authorization: Bearer, as API clients do.
type passlessJar struct{ http.CookieJar }

func (j passlessJar) SetCookies(u *url.URL, cs []*http.Cookie) {
	var keep []*http.Cookie
	for _, c := range cs {
		if c.Name != passCookie {
			keep = append(keep, c)
		}
	}
	j.CookieJar.SetCookies(u, keep)
}

func TestAPIFlowMemory(t *testing.T) {
	ts := newTestServer(t, nil)
	apiFlow(t, ts)
}

// apiFlow is the whole JSON API, from sign-in to cancel, at mock instants:
// before opening nothing books, the room admits at opening, holds are
// idempotent, a booking moves and cancels, and the store never holds more
// than a slot's capacity.
func apiFlow(t *testing.T, ts *testServer) {
	a := ts.newClient()
	b := ts.newClient()
	b.bearer = true
	b.hc.Jar = passlessJar{b.hc.Jar}

	// Pre-queue: sign in, eligibility, join; nothing books.
	a.signIn("Kim Min-jun", "1967-03-15")
	b.signIn("Lee Seo-yeon", "1970-11-02")
	el := a.must(http.StatusOK, "GET", "/api/eligibility", nil)
	if el["status"] != "not_yet" || el["may_queue"] != true || el["phase"] != "pre_queue" {
		t.Fatalf("eligibility before opening: %v", el)
	}
	if got, want := el["opens_at"], ts.opensAt().Format(time.RFC3339); got != want {
		t.Fatalf("opens_at %v, want %v (in the campaign's zone)", got, want)
	}
	for _, c := range []*client{a, b} {
		st := c.must(http.StatusOK, "POST", "/api/queue/join", nil)
		if st["state"] != "waiting" || st["people_ahead"] != nil || st["early"] != true {
			t.Fatalf("join before opening: %v", st)
		}
	}
	if r := a.do("GET", "/api/slots", nil); r.Status != http.StatusForbidden || r.json(t)["phase"] != "pre_queue" {
		t.Fatalf("slots before opening: %s", r)
	}
	if r := a.do("POST", "/api/holds", `{"slot":"city-hall-0900"}`); r.Status != http.StatusForbidden {
		t.Fatalf("hold before opening: %s", r)
	}

	// Opening: both are admitted (the bucket holds two at the opening).
	ts.setTime(ts.opensAt())
	for _, c := range []*client{a, b} {
		st := c.status()
		if st["state"] != "admitted" || c.pass == "" {
			t.Fatalf("status at opening: %v", st)
		}
	}
	// Without a pass, booking routes are refused even while open.
	c := ts.newClient()
	c.signIn("Park Ji-ho", "1980-01-01")
	if r := c.do("POST", "/api/holds", `{"slot":"city-hall-0900"}`); r.Status != http.StatusUnauthorized {
		t.Fatalf("hold without a pass: %s", r)
	}
	// Someone else's pass is refused.
	if r := c.do("POST", "/api/holds", `{"slot":"city-hall-0900"}`, "Authorization", "Bearer "+a.pass); r.Status != http.StatusForbidden {
		t.Fatalf("hold with another person's pass: %s", r)
	}

	slotsList := a.must(http.StatusOK, "GET", "/api/slots", nil)["slots"].([]any)
	if len(slotsList) != len(demoSlots()) {
		t.Fatalf("slots: %v", slotsList)
	}

	// Hold, retried with the same key: one hold.
	h1 := a.must(http.StatusCreated, "POST", "/api/holds", `{"slot":"station-1800"}`, "Idempotency-Key", "k-1")["hold"].(map[string]any)
	h2 := a.must(http.StatusCreated, "POST", "/api/holds", `{"slot":"station-1800"}`, "Idempotency-Key", "k-1")["hold"].(map[string]any)
	if h1["id"] != h2["id"] {
		t.Fatalf("retried hold made a second hold: %v, %v", h1, h2)
	}
	// The same key for a different request is refused.
	if r := a.do("POST", "/api/holds", `{"slot":"city-hall-0900"}`, "Idempotency-Key", "k-1"); r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("reused key: %s", r)
	}
	// A second hold by the same person is refused.
	if r := a.do("POST", "/api/holds", `{"slot":"city-hall-0900"}`); r.Status != http.StatusConflict {
		t.Fatalf("second hold: %s", r)
	}
	id := h1["id"].(string)
	bk := a.must(http.StatusOK, "POST", "/api/holds/"+id+"/confirm", nil, "Idempotency-Key", "c-1")["booking"].(map[string]any)
	if bk["slot"] != "station-1800" || bk["id"] != id {
		t.Fatalf("booking: %v", bk)
	}
	me := a.must(http.StatusOK, "GET", "/api/bookings/me", nil)["booking"].(map[string]any)
	if me["slot"] != "station-1800" {
		t.Fatalf("my booking: %v", me)
	}

	// b (bearer only) fills the last place of station-1800 (capacity 2).
	hb := b.must(http.StatusCreated, "POST", "/api/holds", map[string]string{"slot": "station-1800"})["hold"].(map[string]any)
	b.must(http.StatusOK, "POST", "/api/holds/"+hb["id"].(string)+"/confirm", nil)
	av := availabilityOf(t, a, "station-1800")
	if av["left"].(float64) != 0 || av["booked"].(float64) != 2 {
		t.Fatalf("station-1800 after two bookings: %v", av)
	}

	// a moves to another slot, freeing a place; then cancels.
	mv := a.must(http.StatusOK, "POST", "/api/bookings/me/move", `{"slot":"riverside-0900"}`)["booking"].(map[string]any)
	if mv["slot"] != "riverside-0900" {
		t.Fatalf("moved booking: %v", mv)
	}
	if av := availabilityOf(t, a, "station-1800"); av["left"].(float64) != 1 {
		t.Fatalf("station-1800 after the move: %v", av)
	}
	// b cannot move into a full slot... fill riverside-0900 first? It has 3
	// places and a holds one: moving b there works.
	b.must(http.StatusOK, "POST", "/api/bookings/me/move", `{"slot":"riverside-0900"}`)
	a.must(http.StatusOK, "DELETE", "/api/bookings/me", nil)
	if r := a.do("GET", "/api/bookings/me", nil); r.Status != http.StatusNotFound {
		t.Fatalf("booking after cancel: %s", r)
	}
	if av := availabilityOf(t, b, "riverside-0900"); av["booked"].(float64) != 1 {
		t.Fatalf("riverside-0900 after a's cancel: %v", av)
	}

	// The store agrees with everything above and keeps its invariants.
	checkSnapshot(t, ts)

	// After closing, booking routes are refused but the booking is still
	// there to read.
	ts.setTime(ts.s.camp.schedule.Openings[0].Booking.End)
	if r := b.do("POST", "/api/bookings/me/move", `{"slot":"city-hall-0900"}`); r.Status != http.StatusForbidden || !strings.Contains(string(r.Body), `"closed"`) {
		t.Fatalf("move after closing: %s", r)
	}
	if m := b.must(http.StatusOK, "GET", "/api/bookings/me", nil)["booking"].(map[string]any); m["slot"] != "riverside-0900" {
		t.Fatalf("booking after closing: %v", m)
	}
}

// availabilityOf reads one slot's line of GET /api/slots.
func availabilityOf(t *testing.T, c *client, id string) map[string]any {
	t.Helper()
	for _, s := range c.must(http.StatusOK, "GET", "/api/slots", nil)["slots"].([]any) {
		if m := s.(map[string]any); m["id"] == id {
			return m
		}
	}
	t.Fatalf("no slot %s", id)
	return nil
}

// checkSnapshot checks the slot store's invariants, when it can take a
// snapshot.
func checkSnapshot(t *testing.T, ts *testServer) {
	t.Helper()
	sn, ok := ts.s.booking.Store().(slots.Snapshotter)
	if !ok {
		return
	}
	snap, err := sn.Snapshot(t.Context(), ts.clk.Now(), slotCampaign)
	if err != nil {
		t.Fatal(err)
	}
	if err := snap.Check(); err != nil {
		t.Fatal(err)
	}
}
