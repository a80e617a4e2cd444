package main

import (
	"github.com/gatehouse-go/gatehouse/admission"
	"html"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// page is an HTML response.
type page struct {
	response
	t testing.TB
}

func (c *client) page(method, path, formBody string) page {
	c.t.Helper()
	h := []string{"Accept", "text/html"}
	var body any
	if method == "POST" {
		h = append(h, "Content-Type", formCT)
		body = formBody
	}
	return page{c.do(method, path, body, h...), c.t}
}

func (p page) text() string { return html.UnescapeString(string(p.Body)) }

// expect checks the status, the redirect target (if any) and phrases.
func (p page) expect(status int, location string, phrases ...string) page {
	p.t.Helper()
	if p.Status != status {
		p.t.Fatalf("status %d, want %d:\n%s", p.Status, status, p.Body)
	}
	if location != "" && p.Header.Get("Location") != location {
		p.t.Fatalf("redirect to %q, want %q", p.Header.Get("Location"), location)
	}
	for _, s := range phrases {
		if !strings.Contains(p.text(), s) {
			p.t.Fatalf("page does not say %q:\n%s", s, p.Body)
		}
	}
	if status == http.StatusOK {
		checkAccessible(p.t, p.text())
	}
	return p
}

var (
	inputRE    = regexp.MustCompile(`<(input|select)\b[^>]*>`)
	idRE       = regexp.MustCompile(`\bid="([^"]+)"`)
	typeRE     = regexp.MustCompile(`\btype="([^"]+)"`)
	keyRE      = regexp.MustCompile(`name="idempotency_key" value="([^"]+)"`)
	h1RE       = regexp.MustCompile(`<h1\b`)
	htmlLangRE = regexp.MustCompile(`<html lang="(en|ko)"`)
	scriptRE   = regexp.MustCompile(`<script\b[^>]*>([^<]*)</script>`)
)

// checkAccessible checks what a page must have for people using assistive
// technology and for a strict Content-Security-Policy: a language, a
// viewport, one h1, a label for every form control, and no inline script.
func checkAccessible(t testing.TB, doc string) {
	t.Helper()
	if !htmlLangRE.MatchString(doc) || !strings.Contains(doc, `name="viewport"`) {
		t.Errorf("page without lang or viewport")
	}
	if n := len(h1RE.FindAllString(doc, -1)); n != 1 {
		t.Errorf("page has %d h1", n)
	}
	for _, in := range inputRE.FindAllString(doc, -1) {
		if ty := typeRE.FindStringSubmatch(in); ty != nil && (ty[1] == "hidden" || ty[1] == "submit") {
			continue
		}
		id := idRE.FindStringSubmatch(in)
		if id == nil || !strings.Contains(doc, `<label for="`+id[1]+`"`) {
			t.Errorf("form control without a label: %s", in)
		}
	}
	for _, m := range scriptRE.FindAllStringSubmatch(doc, -1) {
		if strings.TrimSpace(m[1]) != "" {
			t.Errorf("inline script: %s", m[0])
		}
	}
}

// TestPagesWithoutJavaScript books through the HTML forms alone, as a
// browser without JavaScript would: the waiting room reloads itself
// (<noscript> meta refresh) and sends the person on once admitted; a form
// submitted twice holds once.
func TestPagesWithoutJavaScript(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.newClient()
	c.page("GET", "/", "").expect(200, "", "The waiting room is open", "Sign in to check your eligibility")
	c.page("GET", "/signin", "").expect(200, "", `<label for="birth_date">Birth date</label>`)
	c.page("POST", "/signin", form("name", "  Kim   Min-jun ", "birth_date", "1967-03-15")).expect(303, "/eligibility")
	c.page("GET", "/eligibility", "").expect(200, "", "You may book from", "Signed in as <strong>Kim Min-jun</strong>", `action="/queue/join"`)
	c.page("POST", "/queue/join", "").expect(303, "/queue")
	c.page("GET", "/queue", "").expect(200, "",
		`<noscript><meta http-equiv="refresh" content="`,
		`aria-live="polite"`, "Places are drawn at random when booking opens")

	ts.setTime(ts.opensAt())
	p := c.page("GET", "/queue", "").expect(303, "/book")
	if !hasCookie(p.response, passCookie) {
		t.Fatal("no pass cookie once admitted")
	}
	p = c.page("GET", "/book", "").expect(200, "", "Choose a slot", "5 places left of 5", "within 5 minutes")
	key := keyRE.FindStringSubmatch(p.text())
	if key == nil {
		t.Fatal("the slot form has no idempotency key")
	}
	first := c.page("POST", "/book/hold", form("slot", "city-hall-1000", "idempotency_key", key[1])).expect(303, "")
	again := c.page("POST", "/book/hold", form("slot", "city-hall-1000", "idempotency_key", key[1])).expect(303, "")
	holdURL := first.Header.Get("Location")
	if !strings.HasPrefix(holdURL, "/book/hold/") || again.Header.Get("Location") != holdURL {
		t.Fatalf("double submit: %q then %q", holdURL, again.Header.Get("Location"))
	}
	c.page("GET", "/book", "").expect(303, holdURL) // a live hold: go confirm it
	p = c.page("GET", holdURL, "").expect(200, "", "City Hall clinic, 10:00-11:00 is held for you until", "Release it")
	key = keyRE.FindStringSubmatch(p.text())
	c.page("POST", holdURL+"/confirm", form("idempotency_key", key[1])).expect(303, "/booking")
	p = c.page("GET", "/booking", "").expect(200, "", "You are booked: City Hall clinic, 10:00-11:00.", "Move my booking")
	key = keyRE.FindStringSubmatch(p.text())
	c.page("POST", "/booking/move", form("slot", "riverside-0900", "idempotency_key", key[1])).expect(303, "/booking")
	p = c.page("GET", "/booking", "").expect(200, "", "You are booked: Riverside health centre, 09:00-10:00.")
	key = keyRE.FindStringSubmatch(p.text())
	c.page("POST", "/booking/cancel", form("idempotency_key", key[1])).expect(303, "/booking")
	c.page("GET", "/booking", "").expect(200, "", "You have no booking.")
	checkSnapshot(t, ts)
}

// TestOperatorConsole: the console is invisible to the public, opens with
// the printed token, shows the room's figures and the published seed
// commitment, and its maintenance switch closes everything to everyone
// else while the health check and metrics keep answering.
func TestOperatorConsole(t *testing.T) {
	ts := newTestServer(t, nil)
	person := ts.personInLine("Kim", "1967-03-15")

	op := ts.newClient()
	op.page("GET", "/operator", "").expect(404, "")
	op.page("POST", "/operator/signin", form("token", ts.s.operatorToken())).expect(303, "/operator")
	commitment := ts.s.rooms[0].SeedCommitment()
	op.page("GET", "/operator", "").expect(200, "", "Maintenance is off.",
		"Shuffle seed commitment (SHA-256)", commitment, "published at opening", "Joined</dt><dd>1</dd>")

	// The console asks before it closes the site; nothing changes until
	// the operator confirms.
	op.page("POST", "/operator/maintenance", form("on", "true")).expect(200, "", "Confirm maintenance",
		`name="confirm" value="yes"`, "Yes, turn maintenance on")
	person.page("GET", "/", "").expect(200, "")
	op.page("POST", "/operator/maintenance", form("on", "true", "confirm", "yes")).expect(303, "/operator")
	person.page("GET", "/", "").expect(503, "", "Under maintenance")
	if r := person.do("GET", "/api/queue/status", nil); r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
		t.Fatalf("status in maintenance: %s", r)
	}
	op.page("GET", "/", "").expect(200, "") // operators pass
	st := op.must(http.StatusOK, "GET", "/api/operator/stats", nil)
	if st["maintenance"] != true || st["room"].(map[string]any)["seed_commitment"] != commitment {
		t.Fatalf("stats: %v", st)
	}
	if r := person.do("GET", "/healthz", nil); r.Status != http.StatusOK {
		t.Fatalf("healthz in maintenance: %s", r)
	}
	r := person.do("GET", "/metrics", nil)
	for _, want := range []string{
		`gatehouse_gate_decisions_total{outcome="503",phase="maintenance"}`,
		`gatehouse_room_operations_total{op="join",result="ok"} 1`,
		`gatehouse_maintenance 1`,
		`gatehouse_room_joined{room="opening-1-`,
		`gatehouse_slot_capacity{slot="city-hall-0900"} 5`,
		`gatehouse_slots_operations_total{op="define",outcome="ok"} 1`,
		`reservation_http_requests_total{code="200",route="POST /api/queue/join"} 1`,
	} {
		if r.Status != http.StatusOK || !strings.Contains(string(r.Body), want) {
			t.Errorf("metrics do not have %s", want)
		}
	}
	op.page("POST", "/operator/maintenance", form("on", "false", "confirm", "yes")).expect(303, "/operator")
	person.page("GET", "/", "").expect(200, "")

	// After the opening the seed itself is published.
	ts.setTime(ts.opensAt())
	seed, _ := ts.s.rooms[0].Seed(ts.opensAt())
	op.page("GET", "/operator", "").expect(200, "", seed.String())
	op.page("POST", "/operator/signout", "").expect(303, "/")
	op.page("GET", "/operator", "").expect(404, "")
}

// TestOperatorSteersLive: the console and the JSON API change the room's
// rate, cap and pacing bounds without a restart (the room's figures show
// them at once), the console refreshes itself and shows the drain estimate
// and the places, and the operator's message reaches the waiting page and
// the status JSON; bad input changes nothing.
func TestOperatorSteersLive(t *testing.T) {
	ts := newTestServer(t, nil)
	person := ts.personInLine("Kim", "1967-03-15")
	op := ts.newClient()
	op.page("POST", "/operator/signin", form("token", ts.s.operatorToken())).expect(303, "/operator")
	op.page("GET", "/operator", "").expect(200, "", `<meta http-equiv="refresh" content="15">`,
		"Line drained in", "Places</dt><dd>18 free, 0 held</dd>", `action="/operator/limits"`)

	op.page("POST", "/operator/limits", form("rate_per_minute", "120", "cap", "7", "min_rate_per_minute", "30", "max_rate_per_minute", "240")).expect(303, "/operator")
	st, err := ts.s.rooms[0].Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if l := st.Limits; l.Rate != 120 || l.Cap != 7 || l.MinRate != 30 || l.MaxRate != 240 || l.Burst < 1 {
		t.Fatalf("limits after the console: %+v", l)
	}
	got := op.must(http.StatusOK, "POST", "/api/operator/limits", map[string]any{"rate_per_minute": 90})
	if got["rate_per_minute"] != float64(90) || got["cap"] != float64(7) {
		t.Fatalf("limits after the API: %v", got)
	}
	stats := op.must(http.StatusOK, "GET", "/api/operator/stats", nil)["room"].(map[string]any)
	if stats["rate_limit_per_minute"] != float64(90) || stats["max_active"] != float64(7) || stats["places_free"] != float64(18) ||
		stats["sold_out"] != false || stats["drain_estimate_seconds"] == nil {
		t.Fatalf("stats: %v", stats)
	}
	// Bad input: a clear error, nothing changed.
	op.page("POST", "/operator/limits", form("rate_per_minute", "fast")).expect(422, "")
	if r := op.do("POST", "/api/operator/limits", map[string]any{"min_rate_per_minute": 500, "max_rate_per_minute": 100}); r.Status != 422 {
		t.Fatalf("min above max: %s", r)
	}
	if st, _ := ts.s.rooms[0].Stats(t.Context()); st.Limits.Rate != 90 || st.Limits.MinRate != 30 {
		t.Fatalf("bad input changed the limits: %+v", st.Limits)
	}

	// The message.
	op.page("POST", "/operator/message", form("message", "Second-dose slots open at 21:00.")).expect(303, "/operator")
	person.page("GET", "/queue", "").expect(200, "", "Second-dose slots open at 21:00.")
	if m := person.must(http.StatusOK, "GET", "/api/queue/status", nil); m["operator_message"] != "Second-dose slots open at 21:00." {
		t.Fatalf("status JSON: %v", m)
	}
	if r := op.do("POST", "/api/operator/message", map[string]any{"message": strings.Repeat("x", 501)}); r.Status != 422 {
		t.Fatalf("a message too long: %s", r)
	}
	op.must(http.StatusOK, "POST", "/api/operator/message", map[string]any{"message": ""})
	if m := person.must(http.StatusOK, "GET", "/api/queue/status", nil); m["operator_message"] != "" {
		t.Fatalf("message not removed: %v", m)
	}
	// Signed-out people cannot steer.
	if r := person.do("POST", "/api/operator/limits", map[string]any{"rate_per_minute": 1}); r.Status != 404 {
		t.Fatalf("a person steering: %s", r)
	}
}

// TestSoldOutOnTheWaitingPage: a room that says sold_out is told in the
// status JSON's words, in Korean and English.
func TestSoldOutOnTheWaitingPage(t *testing.T) {
	ts := newTestServer(t, nil)
	st := admission.Status{State: admission.StateSoldOut, Ahead: -1, Place: -1}
	for _, lang := range []string{"en", "ko"} {
		r := httptest.NewRequest("GET", "/api/queue/status", nil)
		r.Header.Set("Accept-Language", lang)
		l := ts.s.lang(r)
		if h := headline(l, st); h != l.T("sold_out.heading") || h == "" {
			t.Fatalf("%s headline: %q", lang, h)
		}
	}
}

// personInLine signs a person in and joins the waiting room.
func (ts *testServer) personInLine(name, birth string) *client {
	c := ts.newClient()
	c.signIn(name, birth)
	c.must(http.StatusOK, "POST", "/api/queue/join", nil)
	return c
}
