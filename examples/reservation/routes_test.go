package main

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/window"
)

// pathFor is a request path that the pattern matches: wildcards filled in.
func pathFor(pattern string) (method, path string) {
	method, path, _ = strings.Cut(pattern, " ")
	path = strings.ReplaceAll(path, "{$}", "")
	path = regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(path, "x")
	if strings.HasSuffix(path, "/") && path != "/" {
		path += "style.css" // a prefix pattern: "/static/"
	}
	return method, path
}

// reached records which route handlers ran.
type reached struct {
	mu sync.Mutex
	m  map[string]int
}

func (r *reached) hook(pattern string) {
	r.mu.Lock()
	r.m[pattern]++
	r.mu.Unlock()
}

func (r *reached) take(pattern string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.m[pattern]
	delete(r.m, pattern)
	return n
}

func (r *reached) total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, v := range r.m {
		n += v
	}
	return n
}

// TestRouteTable walks the server's one route table (the slice the mux and
// the gate are both built from) and sends every route in every phase, and
// during maintenance: where the route's class does not allow the phase,
// the gate refuses it and its handler never runs, for a signed-in person,
// for an anonymous one, and for forged or expired operator tokens; only a
// valid operator token passes. Paths nobody registered, and registered
// paths with the wrong method, are refused in every phase too.
func TestRouteTable(t *testing.T) {
	ts := newTestServer(t, nil)
	hits := &reached{m: map[string]int{}}
	ts.s.onHandle = hits.hook

	// The table is what the mux serves and what the gate classifies.
	if len(ts.s.table) < 30 {
		t.Fatalf("route table has %d routes", len(ts.s.table))
	}
	for _, rt := range ts.s.table {
		method, path := pathFor(rt.pattern)
		req := httptest.NewRequest(method, path, nil)
		if _, p := ts.s.mux.Handler(req); p != rt.pattern {
			t.Errorf("mux serves %s %s with %q, want %q", method, path, p, rt.pattern)
		}
		if a, p := ts.s.gate.Classify(req); p != rt.pattern || a != rt.access.allowance() {
			t.Errorf("gate classifies %s %s as %v %q, want %v %q", method, path, a, p, rt.access.allowance(), rt.pattern)
		}
	}

	// The policy, stated apart from the classes, so that a route put in
	// the wrong class fails here: before the waiting room opens only these
	// are public; nothing that holds, confirms, moves or cancels is open
	// outside booking hours; maintenance leaves only infrastructure.
	publicBeforeWaitingRoom := map[string]bool{
		"GET /healthz": true, "GET /metrics": true, "GET /static/": true, "GET /gatehouse/": true,
		"GET /operator/signin": true, "POST /operator/signin": true, "GET /{$}": true,
	}
	for _, rt := range ts.s.table {
		a := rt.access.allowance()
		if a.Allows(window.NotYet) != publicBeforeWaitingRoom[rt.pattern] {
			t.Errorf("%s: public before the waiting room opens = %v", rt.pattern, a.Allows(window.NotYet))
		}
		method, path := pathFor(rt.pattern)
		booking := strings.HasPrefix(path, "/book") || strings.HasPrefix(path, "/api/slots") ||
			strings.HasPrefix(path, "/api/holds") || strings.HasPrefix(path, "/api/bookings")
		readsOwn := method == "GET" && (path == "/booking" || path == "/api/bookings/me")
		if booking && !readsOwn && (a != window.DuringOpen || rt.access != accessBooking) {
			t.Errorf("%s is part of booking but is %v (%v), want only while open, with a pass", rt.pattern, rt.access, a)
		}
		if a.Allows(window.Maintenance) != (publicBeforeWaitingRoom[rt.pattern] && rt.pattern != "GET /{$}") {
			t.Errorf("%s: open during maintenance = %v", rt.pattern, a.Allows(window.Maintenance))
		}
	}

	person := ts.newClient()
	person.signIn("Choi Yu-na", "1966-05-05")
	anon := ts.newClient()
	hits.take("POST /api/session") // the sign-in above
	// A token issued before every phase below: a token issued later than
	// the instant it is checked at (more than the 5 s skew allowance) is
	// refused, as it must be.
	opToken, err := ts.s.operators.Issue(t0.Add(-time.Hour), "console", 72*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	expired, err := ts.s.operators.Issue(t0.Add(-48*time.Hour), "old", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := window.NewKeyring(window.OperatorKey{ID: "op1", Secret: make([]byte, 32)})
	forged, _ := other.Issue(t0, "console", time.Hour)
	badOps := map[string][]string{
		"forged operator":  {"Authorization", "Operator " + forged},
		"expired operator": {"Authorization", "Operator " + expired},
		"forged cookie":    {"Cookie", operatorCookie + "=" + forged},
		"garbage operator": {"Authorization", "Operator v1.op1.1.2.x.y"},
	}

	opens := ts.opensAt()
	closes := ts.s.camp.schedule.Openings[0].Booking.End
	phases := []struct {
		name        string
		at          time.Time
		maintenance bool
		phase       window.Phase
	}{
		{"not yet", t0.Add(-time.Minute), false, window.NotYet},
		{"pre-queue, 30 min before opening", opens.Add(-30 * time.Minute), false, window.PreQueue},
		{"pre-queue, last instant", opens.Add(-time.Millisecond), false, window.PreQueue},
		{"open, first instant", opens, false, window.Open},
		{"open", opens.Add(time.Hour), false, window.Open},
		{"closed, first instant", closes, false, window.Closed},
		{"maintenance while open", opens.Add(time.Hour), true, window.Maintenance},
		{"maintenance before opening", opens.Add(-30 * time.Minute), true, window.Maintenance},
	}
	unregistered := []struct{ method, path string }{
		{"GET", "/admin"},
		{"GET", "/book/"},
		{"GET", "/api/holds"},           // a registered path, wrong method
		{"PUT", "/api/bookings/me"},     // a registered path, wrong method
		{"GET", "/api/queue/join"},      // a registered path, wrong method
		{"POST", "/healthz"},            // a registered path, wrong method
		{"GET", "/static"},              // would be a redirect
		{"GET", "/book/../api/slots"},   // an unclean path
		{"GET", "/api/holds/x/confirm"}, // POST only
	}

	for _, ph := range phases {
		t.Run(ph.name, func(t *testing.T) {
			ts.setTime(ph.at)
			if err := ts.s.setMaintenance(t.Context(), ph.maintenance); err != nil {
				t.Fatal(err)
			}
			defer ts.s.setMaintenance(t.Context(), false)
			if got, _ := ts.s.phase(t.Context(), ph.at); got != ph.phase {
				t.Fatalf("phase %v, want %v", got, ph.phase)
			}
			for _, rt := range ts.s.table {
				method, path := pathFor(rt.pattern)
				allowed := rt.access.allowance().Allows(ph.phase)
				for who, c := range map[string]*client{"person": person, "anonymous": anon} {
					r := c.do(method, path, nil)
					n := hits.take(rt.pattern)
					if allowed {
						if n != 1 {
							t.Errorf("%s: %s %s (%s) allowed in %v but its handler ran %d times: %s", who, method, path, rt.access, ph.phase, n, r)
						}
						continue
					}
					if n != 0 {
						t.Errorf("%s: %s %s (%s) reached its handler in %v: %s", who, method, path, rt.access, ph.phase, r)
					}
					checkRefusal(t, ph.phase, rt.access, method, path, r)
				}
				if allowed {
					continue
				}
				for what, h := range badOps {
					r := person.do(method, path, nil, h...)
					if n := hits.take(rt.pattern); n != 0 {
						t.Errorf("%s: %s %s reached its handler in %v: %s", what, method, path, ph.phase, r)
					}
					checkRefusal(t, ph.phase, rt.access, method, path, r)
				}
				// An operator passes, whatever the phase.
				r := anon.do(method, path, nil, "Authorization", "Operator "+opToken)
				if n := hits.take(rt.pattern); n != 1 {
					t.Errorf("operator: %s %s not let through in %v: %s", method, path, ph.phase, r)
				}
			}
			for _, u := range unregistered {
				r := person.do(u.method, u.path, nil)
				if r.Status < 400 && r.Status != http.StatusMovedPermanently || r.Status >= 500 && ph.phase != window.Maintenance {
					t.Errorf("unregistered %s %s in %v: %s", u.method, u.path, ph.phase, r)
				}
				if ph.phase == window.Maintenance && r.Status != http.StatusServiceUnavailable {
					t.Errorf("unregistered %s %s in maintenance: %s, want 503", u.method, u.path, r)
				}
			}
			if n := hits.total(); n != 0 {
				t.Errorf("unregistered paths reached %d handlers: %v", n, hits.m)
			}
		})
	}
}

// checkRefusal checks that r is the gate's refusal of a route of class a
// in phase p.
func checkRefusal(t *testing.T, p window.Phase, a access, method, path string, r response) {
	t.Helper()
	var want int
	switch {
	case p == window.Maintenance:
		want = http.StatusServiceUnavailable
		if r.Header.Get("Retry-After") == "" {
			t.Errorf("%s %s in maintenance: no Retry-After", method, path)
		}
	case a == accessOperator:
		want = http.StatusNotFound // the gate does not tell that it exists
	default:
		want = http.StatusForbidden
	}
	if r.Status != want {
		t.Errorf("%s %s (%s) in %v: %s, want %d", method, path, a, p, r, want)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("%s %s in %v: Content-Type %q", method, path, p, ct)
	}
	if want == http.StatusForbidden {
		m := r.json(t)
		if m["phase"] != p.String() {
			t.Errorf("%s %s: refusal names phase %v, want %v", method, path, m["phase"], p)
		}
		if p != window.Closed && m["opens_at"] == nil {
			t.Errorf("%s %s in %v: refusal has no opens_at: %s", method, path, p, r)
		}
	}
}

// TestBackDoor is the July 2021 back door, step by step: half an hour
// before opening, with the front page saying "not yet", a direct link to
// the booking form (page and API) is refused, by a browser and by a
// script; at the opening, the same link without a pass sends the browser
// to the waiting room.
func TestBackDoor(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.setTime(ts.opensAt().Add(-30 * time.Minute))
	c := ts.newClient()
	c.signIn("Jung Ha-eun", "1967-07-07")
	c.must(http.StatusOK, "POST", "/api/queue/join", nil)

	for _, p := range []string{"/book", "/book/hold/x", "/api/slots"} {
		req, _ := http.NewRequest("GET", ts.url+p, nil)
		req.Header.Set("Accept", "text/html")
		resp, err := c.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s 30 minutes before opening: %d", p, resp.StatusCode)
		}
	}
	r := c.do("POST", "/book/hold", "slot=city-hall-0900", "Content-Type", "application/x-www-form-urlencoded")
	if r.Status != http.StatusForbidden {
		t.Errorf("POST /book/hold 30 minutes before opening: %s", r)
	}
	m := c.do("GET", "/api/slots", nil).json(t)
	if m["phase"] != "pre_queue" || m["opens_at"] != ts.opensAt().Format(time.RFC3339Nano) {
		t.Errorf("refusal: %v", m)
	}

	// Open, but no pass yet: the browser goes to the waiting room.
	ts.setTime(ts.opensAt())
	d := ts.newClient()
	d.signIn("Kang Do-yun", "1968-08-08")
	req, _ := http.NewRequest("GET", ts.url+"/book", nil)
	req.Header.Set("Accept", "text/html")
	resp, err := d.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/queue" {
		t.Errorf("GET /book at opening without a pass: %d -> %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestBookingRoutesNeedPass: while booking is open, every route of the
// booking class refuses a signed-in person without a pass, with a forged
// pass, and with another person's pass.
func TestBookingRoutesNeedPass(t *testing.T) {
	ts := newTestServer(t, nil)
	admitted := ts.newClient()
	admitted.signIn("Yoon Seo-jun", "1969-09-09")
	admitted.must(http.StatusOK, "POST", "/api/queue/join", nil)
	ts.setTime(ts.opensAt())
	admitted.status()

	c := ts.newClient()
	c.signIn("Han Ji-woo", "1970-10-10")
	for _, rt := range ts.s.table {
		if rt.access != accessBooking {
			continue
		}
		method, path := pathFor(rt.pattern)
		for what, h := range map[string][]string{
			"no pass":             nil,
			"forged pass":         {"Authorization", "Bearer gh1.p1.AAAA.BBBB"},
			"other person's":      {"Authorization", "Bearer " + admitted.pass},
			"other's in header":   {"Gatehouse-Pass", admitted.pass},
			"other's pass cookie": {"Cookie", passCookie + "=" + admitted.pass},
		} {
			r := c.do(method, path, nil, h...)
			if r.Status != http.StatusUnauthorized && r.Status != http.StatusForbidden {
				t.Errorf("%s %s with %s: %s", method, path, what, r)
			}
		}
	}
}
