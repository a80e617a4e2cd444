package admission_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/admission"
	"github.com/gatehouse-go/gatehouse/window/problem"
)

// identityFromHeader is the test's stand-in for the host's authentication.
func identityFromHeader(r *http.Request) (string, bool) {
	id := r.Header.Get("X-User")
	return id, id != ""
}

var booked = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "booking form") })

type call struct {
	method, path, user, pass, cookie, bearer, ticket string
}

func do(t *testing.T, h http.Handler, c call) *httptest.ResponseRecorder {
	t.Helper()
	if c.method == "" {
		c.method = http.MethodGet
	}
	req := httptest.NewRequest(c.method, c.path, nil)
	if c.user != "" {
		req.Header.Set("X-User", c.user)
	}
	if c.pass != "" {
		req.Header.Set(admission.DefaultPassHeader, c.pass)
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", c.bearer)
	}
	if c.cookie != "" {
		req.AddCookie(&http.Cookie{Name: admission.DefaultPassCookie, Value: c.cookie})
	}
	if c.ticket != "" {
		req.AddCookie(&http.Cookie{Name: admission.DefaultTicketCookie, Value: c.ticket})
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// wantProblem checks a problem+json refusal with code.
func wantProblem(t *testing.T, w *httptest.ResponseRecorder, code int, what string) map[string]any {
	t.Helper()
	if w.Code != code {
		t.Fatalf("%s: status %d, want %d; body %s", what, w.Code, code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != problem.ContentType {
		t.Fatalf("%s: Content-Type %q", what, ct)
	}
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if m["status"] != float64(code) || m["title"] == "" {
		t.Fatalf("%s: problem %v", what, m)
	}
	if code == 401 && !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "GatehousePass realm=") {
		t.Fatalf("%s: 401 without WWW-Authenticate", what)
	}
	if strings.Contains(w.Body.String(), "booking form") {
		t.Fatalf("%s: reached the protected handler", what)
	}
	return m
}

// TestAirplaneMode is the July 2021 queue skip: a protected route is
// reached only with a valid pass for the request's own identity, in this
// room, signed by an accepted key, not expired.
func TestAirplaneMode(t *testing.T) {
	clk := newClock(time.Second)
	store := admission.NewMemoryStore()
	// The room signed with the old key when alice was admitted.
	before := newRoom(t, store, options(t, "vaccine", clk, func(o *admission.Options) {
		o.Keyring = mustKeyring(t, keyOld)
	}))
	alice, bob := person(1), person(2)
	old := mustJoin(t, before, alice)
	if old.State != admission.StateAdmitted || old.Pass == "" {
		t.Fatalf("alice: %+v", old)
	}
	// Keys rotated: the room now signs with the current key and still
	// accepts the old one.
	room := newRoom(t, store, options(t, "vaccine", clk, nil))
	clk.Add(time.Second)
	cur := mustStatus(t, room, alice)
	if cur.Pass == "" {
		t.Fatalf("alice: %+v", cur)
	}
	other := newRoom(t, admission.NewMemoryStore(), options(t, "other-room", clk, nil))
	otherPass := mustJoin(t, other, alice).Pass
	mustJoin(t, room, bob) // waiting: no pass
	retired := newRoom(t, store, options(t, "vaccine", clk, func(o *admission.Options) {
		o.Keyring = mustKeyring(t, keyCur) // the old key retired
	}))

	forged := []byte(cur.Pass)
	forged[len(forged)-2] ^= 1
	protected := room.Protect(booked, identityFromHeader)

	for _, c := range []struct {
		name string
		h    http.Handler
		call call
		code int
	}{
		{"no identity", protected, call{path: "/book", pass: cur.Pass}, 401},
		{"no pass", protected, call{path: "/book", user: alice}, 401},
		{"waiting, no pass", protected, call{path: "/book", user: bob}, 401},
		{"forged pass", protected, call{path: "/book", user: alice, pass: string(forged)}, 403},
		{"garbage", protected, call{path: "/book", user: alice, pass: "gh1.x.y.z"}, 403},
		{"another identity's pass", protected, call{path: "/book", user: bob, pass: cur.Pass}, 403},
		{"another room's pass", protected, call{path: "/book", user: alice, pass: otherPass}, 403},
		{"retired key", retired.Protect(booked, identityFromHeader), call{path: "/book", user: alice, pass: old.Pass}, 403},
		{"forged cookie", protected, call{path: "/book", user: alice, cookie: string(forged)}, 403},
		{"current key", protected, call{path: "/book", user: alice, pass: cur.Pass}, 200},
		{"current key in the cookie", protected, call{path: "/book", user: alice, cookie: cur.Pass}, 200},
		{"current key as a bearer token", protected, call{path: "/book", user: alice, bearer: "Bearer " + cur.Pass}, 200},
		{"bearer scheme in lower case", protected, call{path: "/book", user: alice, bearer: "bearer " + cur.Pass}, 200},
		{"forged bearer token", protected, call{path: "/book", user: alice, bearer: "Bearer " + string(forged)}, 403},
		{"another identity's bearer token", protected, call{path: "/book", user: bob, bearer: "Bearer " + cur.Pass}, 403},
		{"basic credentials are no pass", protected, call{path: "/book", user: alice, bearer: "Basic " + cur.Pass}, 401},
		{"accepted old key", protected, call{path: "/book", user: alice, pass: old.Pass}, 200},
	} {
		w := do(t, c.h, c.call)
		if c.code == 200 {
			if w.Code != 200 || w.Body.String() != "booking form" {
				t.Fatalf("%s: %d %s", c.name, w.Code, w.Body)
			}
			continue
		}
		wantProblem(t, w, c.code, c.name)
	}
	// Expired: at the session's end exactly.
	clk.Set(cur.PassExpires)
	m := wantProblem(t, do(t, protected, call{path: "/book", user: alice, pass: cur.Pass}), 403, "expired pass")
	if m["title"] != "Pass expired" {
		t.Fatalf("expired pass: title %v", m["title"])
	}
}

// TestProtectNeedsNoStore: verification works while the store is down, so
// admitted people keep booking, and refuses as before.
func TestProtectNeedsNoStore(t *testing.T) {
	clk := newClock(time.Minute)
	room := newRoom(t, brokenStore{}, options(t, "vaccine", clk, nil))
	kr := mustKeyring(t, keyCur)
	pass, err := kr.Sign(admission.Pass{Room: "vaccine", Identity: room.Hash(person(1)), Issued: clk.Now(), Expires: clk.Now().Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	protected := room.Protect(booked, identityFromHeader)
	if w := do(t, protected, call{path: "/book", user: person(1), pass: pass}); w.Code != 200 {
		t.Fatalf("valid pass with the store down: %d %s", w.Code, w.Body)
	}
	wantProblem(t, do(t, protected, call{path: "/book", user: person(2), pass: pass}), 403, "another identity, store down")
	wantProblem(t, do(t, protected, call{path: "/book", user: person(2)}), 401, "no pass, store down")
}

func TestHandler(t *testing.T) {
	clk := newClock(-time.Minute)
	room := newRoom(t, admission.NewMemoryStore(), options(t, "vaccine", clk, nil))
	h := room.Handler(identityFromHeader)
	alice := person(1)

	wantProblem(t, do(t, h, call{path: "/queue/status", user: alice}), 404, "status before joining")
	wantProblem(t, do(t, h, call{method: "POST", path: "/queue/join"}), 401, "join without identity")
	w := do(t, h, call{path: "/queue/join", user: alice})
	wantProblem(t, w, 405, "GET join")
	if w.Header().Get("Allow") != "POST" {
		t.Fatalf("405 Allow %q", w.Header().Get("Allow"))
	}
	wantProblem(t, do(t, h, call{path: "/queue/nothing", user: alice}), 404, "unknown endpoint")

	decode := func(w *httptest.ResponseRecorder) map[string]any {
		t.Helper()
		if w.Code != 200 {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		if w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("headers %v", w.Header())
		}
		var m map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	m := decode(do(t, h, call{method: "POST", path: "/queue/join", user: alice}))
	if m["state"] != "waiting" || m["early"] != true || m["place"] != nil || m["ahead"] != nil ||
		m["index"] != float64(0) || m["room"] != "vaccine" || m["opens_at"] != "2021-07-12T11:00:00Z" {
		t.Fatalf("join before the opening: %v", m)
	}
	if eta := m["eta"].(map[string]any); eta["known"] != false || eta["min_seconds"] != nil {
		t.Fatalf("eta before the opening: %v", eta)
	}
	if m["poll_after_seconds"].(float64) < 1 {
		t.Fatalf("poll after %v", m["poll_after_seconds"])
	}
	f := decode(do(t, h, call{path: "/queue/fairness"}))
	if f["seed_commitment"] != room.SeedCommitment() || f["seed"] != nil || f["early_arrivals"] != nil {
		t.Fatalf("fairness before the opening: %v", f)
	}

	clk.Set(opening.Add(time.Second))
	w = do(t, h, call{path: "/queue/status", user: alice})
	m = decode(w)
	if m["state"] != "admitted" || m["pass"] == "" || m["place"] != float64(0) || m["ahead"] != float64(0) || m["admitted_at"] == nil {
		t.Fatalf("status once admitted: %v", m)
	}
	if _, err := time.Parse(time.RFC3339, m["pass_expires_at"].(string)); err != nil {
		t.Fatal(err)
	}
	cookies := w.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Name != admission.DefaultPassCookie || cookies[0].Value != m["pass"] ||
		!cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteLaxMode || cookies[0].MaxAge <= 0 {
		t.Fatalf("pass cookie: %+v", cookies)
	}
	if err := room.Verify(clk.Now(), m["pass"].(string), alice); err != nil {
		t.Fatal(err)
	}
	f = decode(do(t, h, call{path: "/queue/fairness"}))
	if f["seed"] != seed.String() || f["early_arrivals"] != float64(1) {
		t.Fatalf("fairness after the opening: %v", f)
	}
	w = do(t, h, call{method: "POST", path: "/queue/done", user: alice})
	if m = decode(w); m["state"] != "done" || m["pass"] != nil {
		t.Fatalf("done: %v", m)
	}
	if c := w.Result().Cookies(); len(c) != 1 || c[0].MaxAge >= 0 {
		t.Fatalf("done should clear the cookie: %+v", c)
	}
}

// TestHandlerFailsClosed: with the store down every endpoint that needs it
// answers 503 problem+json with Retry-After, and nobody gets a pass.
func TestHandlerFailsClosed(t *testing.T) {
	clk := newClock(time.Minute)
	var events []admission.Event
	room := newRoom(t, brokenStore{}, options(t, "vaccine", clk, func(o *admission.Options) {
		o.Observer = func(e admission.Event) { events = append(events, e) }
	}))
	h := room.Handler(identityFromHeader)
	for _, c := range []call{
		{method: "POST", path: "/q/join", user: person(1)},
		{path: "/q/status", user: person(1)},
		{method: "POST", path: "/q/done", user: person(1)},
		{path: "/q/fairness"},
	} {
		w := do(t, h, c)
		wantProblem(t, w, 503, c.path)
		if w.Header().Get("Retry-After") != "5" {
			t.Fatalf("%s: Retry-After %q", c.path, w.Header().Get("Retry-After"))
		}
		if len(w.Result().Cookies()) != 0 {
			t.Fatalf("%s: cookie set during an outage", c.path)
		}
	}
	for _, f := range []func() error{
		func() error { _, err := room.Join(ctx, person(1)); return err },
		func() error { _, err := room.Status(ctx, person(1)); return err },
		func() error { _, err := room.Done(ctx, person(1)); return err },
		func() error { _, err := room.Stats(ctx); return err },
	} {
		if err := f(); !errors.Is(err, admission.ErrUnavailable) || !errors.Is(err, errBroken) {
			t.Fatalf("%v, want ErrUnavailable wrapping the cause", err)
		}
	}
	if len(events) != 8 {
		t.Fatalf("%d events, want 8", len(events))
	}
	for _, e := range events {
		if !errors.Is(e.Err, admission.ErrUnavailable) || e.Claimed {
			t.Fatalf("event %+v", e)
		}
	}
}
