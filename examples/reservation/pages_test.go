package main

import (
	"html"
	"net/http"
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
	person := ts.newClient()
	person.signIn("Kim", "1967-03-15")
	person.must(http.StatusOK, "POST", "/api/queue/join", nil)

	op := ts.newClient()
	op.page("GET", "/operator", "").expect(404, "")
	op.page("POST", "/operator/signin", form("token", ts.s.operatorToken())).expect(303, "/operator")
	commitment := ts.s.rooms[0].SeedCommitment()
	op.page("GET", "/operator", "").expect(200, "", "Maintenance is off.",
		"Shuffle seed commitment (SHA-256)", commitment, "published at opening", "Joined</dt><dd>1</dd>")

	op.page("POST", "/operator/maintenance", form("on", "true")).expect(303, "/operator")
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
	op.page("POST", "/operator/maintenance", form("on", "false")).expect(303, "/operator")
	person.page("GET", "/", "").expect(200, "")

	// After the opening the seed itself is published.
	ts.setTime(ts.opensAt())
	seed, _ := ts.s.rooms[0].Seed(ts.opensAt())
	op.page("GET", "/operator", "").expect(200, "", seed.String())
	op.page("POST", "/operator/signout", "").expect(303, "/")
	op.page("GET", "/operator", "").expect(404, "")
}
