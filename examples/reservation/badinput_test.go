package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"
)

// hasCookie reports whether a response sets the named cookie to a value.
func hasCookie(r response, name string) bool {
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == name && c.Value != "" && c.MaxAge >= 0 {
			return true
		}
	}
	return false
}

// form encodes pairs as an HTML form body.
func form(pairs ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(pairs); i += 2 {
		v.Add(pairs[i], pairs[i+1])
	}
	return v.Encode()
}

const formCT = "application/x-www-form-urlencoded"

// TestBadSignIn: every malformed sign-in, by API and by form, gets a clear
// 4xx naming the problem, and no session.
func TestBadSignIn(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.newClient()
	huge := `{"name":"` + strings.Repeat("a", maxBody) + `","birth_date":"1967-03-15"}`
	for _, tc := range []struct {
		name   string
		body   string
		ct     string
		status int
		says   string
	}{
		{"empty body", "", "", 400, "empty"},
		{"not JSON", "name=x", "", 400, "not the JSON object"},
		{"array", `[]`, "", 400, "not the JSON object"},
		{"missing fields", `{}`, "", 422, "name: is required; birth_date: is required"},
		{"missing birth date", `{"name":"Kim"}`, "", 422, "birth_date: is required"},
		{"blank name", `{"name":"   ","birth_date":"1967-03-15"}`, "", 422, "name: is required"},
		{"long name", `{"name":"` + strings.Repeat("가", 81) + `","birth_date":"1967-03-15"}`, "", 422, "longer than 80"},
		{"control character", `{"name":"Kim\u0000Lee","birth_date":"1967-03-15"}`, "", 422, "not allowed"},
		{"30 February", `{"name":"Kim","birth_date":"1967-02-30"}`, "", 422, "not a date"},
		{"29 February, common year", `{"name":"Kim","birth_date":"1967-02-29"}`, "", 422, "not a date"},
		{"month 13", `{"name":"Kim","birth_date":"1967-13-01"}`, "", 422, "not a date"},
		{"day first", `{"name":"Kim","birth_date":"15/03/1967"}`, "", 422, "not a date"},
		{"with a time", `{"name":"Kim","birth_date":"1967-03-15T00:00:00Z"}`, "", 422, "not a date"},
		{"short year", `{"name":"Kim","birth_date":"67-03-15"}`, "", 422, "not a date"},
		{"before 1900", `{"name":"Kim","birth_date":"1899-12-31"}`, "", 422, "before 1900"},
		{"in the future", `{"name":"Kim","birth_date":"2031-01-01"}`, "", 422, "future"},
		{"number", `{"name":"Kim","birth_date":19670315}`, "", 400, "cannot unmarshal"},
		{"unknown field", `{"name":"Kim","birth_date":"1967-03-15","admin":true}`, "", 400, "unknown field"},
		{"trailing data", `{"name":"Kim","birth_date":"1967-03-15"} {}`, "", 400, "after the JSON object"},
		{"huge body", huge, "", 413, "larger than"},
		{"wrong content type", `{"name":"Kim","birth_date":"1967-03-15"}`, "text/plain", 415, "application/json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := []string{}
			if tc.ct != "" {
				h = append(h, "Content-Type", tc.ct)
			}
			var body any = tc.body
			if tc.body == "" {
				body = nil
			}
			r := c.do("POST", "/api/session", body, h...)
			if r.Status != tc.status {
				t.Fatalf("got %s, want %d", r, tc.status)
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("Content-Type %q", ct)
			}
			if !strings.Contains(string(r.Body), tc.says) {
				t.Fatalf("the answer does not say %q: %s", tc.says, r)
			}
			if hasCookie(r, sessionCookie) {
				t.Fatal("a session cookie was set")
			}
		})
	}
	if r := c.do("GET", "/api/eligibility", nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("eligibility after failed sign-ins: %s", r)
	}

	// The form: the page again, with the problems next to the fields.
	for _, tc := range []struct {
		name, body, says string
		status           int
	}{
		{"empty", form(), "Name is required", 422},
		{"impossible date", form("name", "Kim", "birth_date", "2021-04-31"), "Birth date is not a date", 422},
		{"future", form("name", "Kim", "birth_date", "2099-01-01"), "Birth date is in the future", 422},
		{"huge", form("name", strings.Repeat("x", maxBody), "birth_date", "1967-03-15"), "larger than", 413},
		{"bad encoding", "name=%zz", "could not be read", 400},
	} {
		t.Run("form "+tc.name, func(t *testing.T) {
			r := c.do("POST", "/signin", tc.body, "Content-Type", formCT, "Accept", "text/html")
			if r.Status != tc.status || !strings.Contains(string(r.Body), tc.says) {
				t.Fatalf("got %d, want %d saying %q:\n%s", r.Status, tc.status, tc.says, r.Body)
			}
			if !strings.Contains(r.Header.Get("Content-Type"), "text/html") {
				t.Fatalf("Content-Type %q", r.Header.Get("Content-Type"))
			}
			if hasCookie(r, sessionCookie) {
				t.Fatal("a session cookie was set")
			}
		})
	}
}

// TestBadSession: forged, altered and expired session cookies are refused.
func TestBadSession(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.newClient()
	c.signIn("Kim", "1967-03-15")
	good := c.cookie(sessionCookie)
	payload, sig, _ := strings.Cut(good, ".")
	forged, _ := (cookieSigner{key: make([]byte, 32)}).sign(session{Name: "Kim", BirthDate: "1967-03-15", Expires: t0.Add(time.Hour).Unix()})
	other := ts.newClient()
	for name, v := range map[string]string{
		"other key":   forged,
		"no mac":      payload,
		"altered mac": payload + "." + strings.Repeat("A", len(sig)),
		"altered":     flip(payload) + "." + sig,
		"garbage":     "....",
		"huge":        strings.Repeat("a", 5000),
	} {
		r := other.do("GET", "/api/eligibility", nil, "Cookie", sessionCookie+"="+v)
		if r.Status != http.StatusUnauthorized {
			t.Errorf("%s: %s", name, r)
		}
	}
	ts.setTime(t0.Add(sessionTTL))
	if r := c.do("GET", "/api/eligibility", nil); r.Status != http.StatusUnauthorized || !strings.Contains(string(r.Body), "expired") {
		t.Errorf("expired session: %s", r)
	}
}

// flip changes one character in the middle of s.
func flip(s string) string {
	b := []byte(s)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// TestBadBookingInput: while booking is open and with a valid pass, bad
// requests to every booking endpoint get a clear 4xx and change nothing in
// the slot store.
func TestBadBookingInput(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.newClient()
	c.signIn("Kim", "1967-03-15")
	c.must(http.StatusOK, "POST", "/api/queue/join", nil)
	ts.setTime(ts.opensAt())
	c.status()

	snapshot := func() string {
		av, err := ts.s.availability(t.Context(), ts.s.ui.Lang(nil), ts.s.parts[0])
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(av)
		return string(b)
	}
	before := snapshot()
	for _, tc := range []struct {
		name         string
		method, path string
		body         any
		headers      []string
		status       int
	}{
		{"hold: no body", "POST", "/api/holds", nil, nil, 400},
		{"hold: no slot", "POST", "/api/holds", `{}`, nil, 422},
		{"hold: empty slot", "POST", "/api/holds", `{"slot":""}`, nil, 422},
		{"hold: unknown slot", "POST", "/api/holds", `{"slot":"moon-base"}`, nil, 422},
		{"hold: slot as number", "POST", "/api/holds", `{"slot":7}`, nil, 400},
		{"hold: extra field", "POST", "/api/holds", `{"slot":"city-hall-0900","capacity":1000}`, nil, 400},
		{"hold: huge", "POST", "/api/holds", `{"slot":"` + strings.Repeat("x", 2*maxBody) + `"}`, nil, 413},
		{"hold: key with spaces", "POST", "/api/holds", `{"slot":"city-hall-0900"}`, []string{"Idempotency-Key", "a b"}, 422},
		{"hold: key too long", "POST", "/api/holds", `{"slot":"city-hall-0900"}`, []string{"Idempotency-Key", strings.Repeat("k", 129)}, 422},
		{"hold: form body to the API", "POST", "/api/holds", nil, []string{"Content-Type", formCT}, 415},
		{"confirm: no such hold", "POST", "/api/holds/nope/confirm", nil, nil, 404},
		{"release: no such hold", "DELETE", "/api/holds/nope", nil, nil, 404},
		{"move: no booking", "POST", "/api/bookings/me/move", `{"slot":"city-hall-1000"}`, nil, 404},
		{"move: unknown slot", "POST", "/api/bookings/me/move", `{"slot":"../../etc"}`, nil, 422},
		{"move: no body", "POST", "/api/bookings/me/move", nil, nil, 400},
		{"cancel: no booking", "DELETE", "/api/bookings/me", nil, nil, 404},
		{"wrong method on holds", "GET", "/api/holds", nil, nil, 405},
		{"wrong method on bookings", "PUT", "/api/bookings/me", nil, nil, 405},
		{"wrong method on confirm", "GET", "/api/holds/x/confirm", nil, nil, 405},
		{"form: no slot", "POST", "/book/hold", form(), []string{"Content-Type", formCT, "Accept", "text/html"}, 422},
		{"form: unknown slot", "POST", "/book/hold", form("slot", "nowhere"), []string{"Content-Type", formCT, "Accept", "text/html"}, 422},
		{"form: move without booking", "POST", "/booking/move", form("slot", "city-hall-0900"), []string{"Content-Type", formCT, "Accept", "text/html"}, 404},
		{"form: huge", "POST", "/book/hold", form("slot", strings.Repeat("x", 2*maxBody)), []string{"Content-Type", formCT, "Accept", "text/html"}, 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.do(tc.method, tc.path, tc.body, tc.headers...)
			if r.Status != tc.status {
				t.Fatalf("got %s, want %d", r, tc.status)
			}
			if tc.status == 405 && r.Header.Get("Allow") == "" {
				t.Fatalf("405 without Allow")
			}
			if after := snapshot(); after != before {
				t.Fatalf("the slots changed:\n%s\n%s", before, after)
			}
		})
	}
	if r := c.do("GET", "/api/bookings/me", nil); r.Status != http.StatusNotFound {
		t.Fatalf("a booking appeared: %s", r)
	}
	checkSnapshot(t, ts)
}

// TestBadQueueAndOperatorInput: joining without a session or when not
// eligible, operator sign-in with a bad token, a bad maintenance value:
// clear 4xx, nothing changed.
func TestBadQueueAndOperatorInput(t *testing.T) {
	ts := newTestServer(t, nil)
	anon := ts.newClient()
	if r := anon.do("POST", "/api/queue/join", nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("join without a session: %s", r)
	}
	if r := anon.do("GET", "/api/queue/status", nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("status without a session: %s", r)
	}
	child := ts.newClient()
	child.signIn("Little Kim", "2015-01-01")
	if el := child.must(http.StatusOK, "GET", "/api/eligibility", nil); el["status"] != "not_eligible" || el["may_queue"] != false {
		t.Fatalf("eligibility of a child: %v", el)
	}
	if r := child.do("POST", "/api/queue/join", nil); r.Status != http.StatusForbidden {
		t.Fatalf("join when not eligible: %s", r)
	}
	if r := child.do("GET", "/api/queue/status", nil); r.Status != http.StatusNotFound {
		t.Fatalf("status without joining: %s", r)
	}
	st, err := ts.s.rooms[0].Stats(t.Context())
	if err != nil || st.Joined != 0 {
		t.Fatalf("the room changed: %+v %v", st.Line, err)
	}

	op := ts.newClient()
	for _, tok := range []string{"", "nope", strings.Repeat("v1.", 400)} {
		r := op.do("POST", "/operator/signin", form("token", tok), "Content-Type", formCT, "Accept", "text/html")
		if r.Status != http.StatusUnauthorized || hasCookie(r, operatorCookie) {
			t.Fatalf("operator sign-in with %.20q: %d", tok, r.Status)
		}
	}
	auth := []string{"Authorization", "Operator " + ts.s.operatorToken(), "Content-Type", formCT}
	for _, v := range []string{"", "maybe", "2"} {
		r := op.do("POST", "/operator/maintenance", form("on", v), auth...)
		if r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("maintenance on=%q: %s", v, r)
		}
	}
	if on, _ := ts.s.maintenanceOn(t.Context()); on {
		t.Fatal("maintenance changed")
	}
	op.must(http.StatusOK, "POST", "/operator/maintenance", form("on", "true"), auth...)
	if on, _ := ts.s.maintenanceOn(t.Context()); !on {
		t.Fatal("maintenance did not turn on")
	}
}

// TestCrossOriginRefused: a browser form or fetch posted from another site
// is refused (http.CrossOriginProtection), nothing changed; the same
// request from this site, or from a non-browser client, works.
func TestCrossOriginRefused(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.newClient()
	body := `{"name":"Kim","birth_date":"1967-03-15"}`
	for name, h := range map[string][]string{
		"sec-fetch-site cross-site": {"Sec-Fetch-Site", "cross-site"},
		"sec-fetch-site same-site":  {"Sec-Fetch-Site", "same-site"},
		"origin elsewhere":          {"Origin", "https://evil.example"},
	} {
		r := c.do("POST", "/api/session", body, h...)
		if r.Status != http.StatusForbidden || hasCookie(r, sessionCookie) {
			t.Errorf("%s: %s", name, r)
		}
		r = c.do("POST", "/signin", form("name", "Kim", "birth_date", "1967-03-15"), append(h, "Content-Type", formCT)...)
		if r.Status != http.StatusForbidden || hasCookie(r, sessionCookie) {
			t.Errorf("form %s: %d", name, r.Status)
		}
	}
	c.must(http.StatusOK, "POST", "/api/session", body, "Sec-Fetch-Site", "same-origin")
	c.must(http.StatusOK, "POST", "/api/session", body, "Origin", ts.url)
}

// TestClientLimit: by default the limit counts per person: one person
// signing in or joining beyond it gets 429 with Retry-After, and the limit
// refills with time, while many people behind one address (carrier-grade
// NAT) are not limited by each other.
func TestClientLimit(t *testing.T) {
	ts := newTestServer(t, func(c *config) { c.ClientLimit = 3 })
	c := ts.newClient()
	for range 3 {
		c.signIn("Kim Ji-woo", "1967-03-15")
	}
	r := c.do("POST", "/api/session", `{"name":"Kim Ji-woo","birth_date":"1967-03-15"}`)
	if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" || hasCookie(r, sessionCookie) {
		t.Fatalf("fourth sign-in of one person in a minute: %s %v", r, r.Header)
	}
	// Thirty other people from the same address sign in and join.
	for i := range 30 {
		o := ts.newClient()
		o.signIn(fmt.Sprintf("Person %d", i), "1967-03-15")
		o.must(http.StatusOK, "POST", "/api/queue/join", nil)
	}
	ts.setTime(ts.clk.Now().Add(time.Minute))
	for range 3 {
		c.must(http.StatusOK, "POST", "/api/queue/join", nil)
	}
	if r := c.do("POST", "/api/queue/join", nil); r.Status != http.StatusTooManyRequests {
		t.Fatalf("fourth join of one person in a minute: %s", r)
	}
}

// TestClientLimitByAddress: asked for, the limit counts per address, and
// believes X-Forwarded-For only from a named trusted proxy.
func TestClientLimitByAddress(t *testing.T) {
	proxy := netip.MustParsePrefix("127.0.0.1/32")
	ts := newTestServer(t, func(c *config) { c.ClientLimit, c.LimitBy = 2, limitByAddress })
	c := ts.newClient()
	for i := range 2 {
		c.signIn(fmt.Sprintf("Person %d", i), "1967-03-15")
	}
	if r := c.do("POST", "/api/session", `{"name":"Person 3","birth_date":"1967-03-15"}`); r.Status != http.StatusTooManyRequests {
		t.Fatalf("third sign-in from one address: %s", r)
	}
	// Without a trusted proxy, X-Forwarded-For is anyone's to write.
	if r := c.do("POST", "/api/session", `{"name":"Person 4","birth_date":"1967-03-15"}`, "X-Forwarded-For", "203.0.113.9"); r.Status != http.StatusTooManyRequests {
		t.Fatalf("a forged X-Forwarded-For escaped the limit: %s", r)
	}

	ts = newTestServer(t, func(c *config) {
		c.ClientLimit, c.LimitBy, c.TrustedProxies = 2, limitByAddress, []netip.Prefix{proxy}
	})
	c = ts.newClient()
	for i := range 2 {
		c.must(http.StatusOK, "POST", "/api/session", fmt.Sprintf(`{"name":"Person %d","birth_date":"1967-03-15"}`, i), "X-Forwarded-For", "203.0.113.9")
	}
	if r := c.do("POST", "/api/session", `{"name":"Person 3","birth_date":"1967-03-15"}`, "X-Forwarded-For", "198.51.100.1, 203.0.113.9"); r.Status != http.StatusTooManyRequests {
		t.Fatalf("the proxy's client went past its limit by prepending a hop: %s", r)
	}
	c.must(http.StatusOK, "POST", "/api/session", `{"name":"Person 5","birth_date":"1967-03-15"}`, "X-Forwarded-For", "203.0.113.10")
}

func TestClientAddr(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	for _, c := range []struct {
		remote, xff, want string
	}{
		{"192.0.2.1:5", "", "192.0.2.1"},
		{"192.0.2.1:5", "203.0.113.9", "192.0.2.1"},            // not from a trusted proxy
		{"10.1.2.3:5", "203.0.113.9", "203.0.113.9"},           // from the proxy
		{"10.1.2.3:5", "1.2.3.4, 203.0.113.9", "203.0.113.9"},  // the hop the proxy added
		{"10.1.2.3:5", "203.0.113.9, 10.9.9.9", "203.0.113.9"}, // through two proxies
		{"10.1.2.3:5", "garbage", "10.1.2.3"},
		{"[2001:db8:1:2:aaaa::1]:1", "", "2001:db8:1:2::"},
	} {
		r := &http.Request{RemoteAddr: c.remote, Header: http.Header{}}
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if got := clientAddr(r, trusted).String(); got != c.want {
			t.Errorf("clientAddr(%s, XFF %q) = %s, want %s", c.remote, c.xff, got, c.want)
		}
	}
}

func TestClientLimiterIsBounded(t *testing.T) {
	l := newClientLimiter(1, 100)
	now := t0
	for i := range 1000 {
		if ok, _ := l.allow(fmt.Sprint("k", i), now); !ok {
			t.Fatalf("first request of k%d refused", i)
		}
	}
	if n := l.size(); n != 100 {
		t.Fatalf("limiter remembers %d clients, want at most 100", n)
	}
	// The most recent client is remembered and limited.
	if ok, wait := l.allow("k999", now); ok || wait <= 0 {
		t.Fatalf("second request within the minute allowed (wait %v)", wait)
	}
}

// TestHoldExpires: a hold not confirmed in time frees its place, and a
// late confirmation says so (410) and books nothing.
func TestHoldExpires(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.newClient()
	c.signIn("Kim", "1967-03-15")
	c.must(http.StatusOK, "POST", "/api/queue/join", nil)
	ts.setTime(ts.opensAt())
	c.status()
	h := c.must(http.StatusCreated, "POST", "/api/holds", `{"slot":"station-1800"}`)["hold"].(map[string]any)
	if av := availabilityOf(t, c, "station-1800"); av["held"].(float64) != 1 || av["left"].(float64) != 1 {
		t.Fatalf("after the hold: %v", av)
	}
	ts.setTime(ts.opensAt().Add(ts.s.cfg.HoldFor))
	r := c.do("POST", "/api/holds/"+h["id"].(string)+"/confirm", nil)
	if r.Status != http.StatusGone {
		t.Fatalf("late confirm: %s", r)
	}
	if av := availabilityOf(t, c, "station-1800"); av["held"].(float64) != 0 || av["left"].(float64) != 2 {
		t.Fatalf("after expiry: %v", av)
	}
	if r := c.do("GET", "/api/bookings/me", nil); r.Status != http.StatusNotFound {
		t.Fatalf("a booking after a late confirm: %s", r)
	}
}

// TestCookiesAndHeaders: every cookie is HttpOnly, SameSite=Lax and
// Path=/, and Secure when the server is told it is behind TLS; every
// answer carries the security headers.
func TestCookiesAndHeaders(t *testing.T) {
	for _, secure := range []bool{false, true} {
		ts := newTestServer(t, func(c *config) { c.SecureCookies = secure })
		c := ts.newClient()
		r := c.do("POST", "/api/session", `{"name":"Kim","birth_date":"1967-03-15"}`)
		cs := (&http.Response{Header: r.Header}).Cookies()
		if len(cs) != 1 {
			t.Fatalf("cookies: %v", cs)
		}
		ck := cs[0]
		if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Secure != secure || ck.MaxAge <= 0 {
			t.Errorf("session cookie (secure=%v): %+v", secure, ck)
		}
		for _, h := range []string{"Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options"} {
			if r.Header.Get(h) == "" {
				t.Errorf("no %s", h)
			}
		}
		if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("CSP %q", csp)
		}
	}
}

// TestNowFlag: -now starts the clock at the given instant and lets it run.
func TestNowFlag(t *testing.T) {
	cfg, err := parseFlags([]string{"-now", "2021-07-19T19:59:58+09:00", "-opens-in", "2s"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	s, err := newServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want := time.Date(2021, 7, 19, 10, 59, 58, 0, time.UTC)
	if d := s.clk.Now().Sub(want); d < 0 || d > 5*time.Second {
		t.Fatalf("clock at %v, want about %v", s.clk.Now(), want)
	}
	if got := s.camp.schedule.Openings[0].Booking.Start; !got.Equal(want.Add(2 * time.Second)) {
		t.Fatalf("booking opens %v", got)
	}
}
