package main

import (
	"html"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/admission/pages"
)

var (
	mainRE   = regexp.MustCompile(`(?s)<main\b[^>]*>(.*)</main>`)
	tagRE    = regexp.MustCompile(`(?s)<[^>]*>`)
	hangulRE = regexp.MustCompile(`\p{Hangul}`)
)

// visible is the text of a page's <main>, tags removed, entities decoded.
func visible(body string) string {
	m := mainRE.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(tagRE.ReplaceAllString(m[1], " "))
}

// englishOnly lists the English strings of the server's and the library's
// catalogs that Korean writes differently: none may show on a Korean page.
func englishOnly() []string {
	var out []string
	for _, cat := range [][2]map[string]string{{appEnglish, appKorean}, {pages.English, pages.Korean}} {
		for k, en := range cat[0] {
			if strings.HasPrefix(k, "fmt.") || strings.Contains(en, "{") || len(en) < 12 || cat[1][k] == en {
				continue
			}
			out = append(out, en)
		}
	}
	return out
}

// TestEveryPageInKoreanAndEnglish walks every page of the server, the
// library's waiting room and refusal pages included, in every phase and
// for each kind of visitor, once with Accept-Language: ko-KR,ko;q=0.9 and
// once with en: the Korean page is <html lang="ko"> and in Korean (no
// English sentence of the catalogs left), the English one <html lang="en">
// without Korean. A GET route that renders a page and that the walk does
// not reach fails the test.
func TestEveryPageInKoreanAndEnglish(t *testing.T) {
	ts := newTestServer(t, nil)
	type visit struct {
		who    *client
		method string
		path   string
		body   string
		status int
	}
	anon := ts.newClient()
	person := ts.newClient()
	person.signIn("Kim Min-jun", "1967-03-15")
	op := ts.newClient()
	op.do("POST", "/operator/signin", form("token", ts.s.operatorToken()), "Content-Type", formCT, "Accept", "text/html")

	walked := map[string]bool{}
	english := englishOnly()
	check := func(phase string, v visit) {
		t.Helper()
		for _, lang := range []string{"ko-KR,ko;q=0.9", "en"} {
			h := []string{"Accept", "text/html", "Accept-Language", lang}
			var body any
			if v.body != "" {
				h = append(h, "Content-Type", formCT)
				body = v.body
			}
			r := v.who.do(v.method, v.path, body, h...)
			if r.Status != v.status {
				t.Errorf("%s: %s %s (%s): status %d, want %d", phase, v.method, v.path, lang, r.Status, v.status)
				continue
			}
			doc := string(r.Body)
			text := visible(doc)
			if strings.TrimSpace(text) == "" {
				t.Errorf("%s: %s %s (%s): no <main>:\n%s", phase, v.method, v.path, lang, doc)
				continue
			}
			if lang == "en" {
				if !strings.Contains(doc, `<html lang="en"`) || r.Header.Get("Content-Language") != "en" {
					t.Errorf("%s: %s %s: English page not lang=en", phase, v.method, v.path)
				}
				if hangulRE.MatchString(text) {
					t.Errorf("%s: %s %s: Korean on the English page: %s", phase, v.method, v.path, text)
				}
				continue
			}
			if !strings.Contains(doc, `<html lang="ko"`) || r.Header.Get("Content-Language") != "ko" {
				t.Errorf("%s: %s %s: Korean page not lang=ko", phase, v.method, v.path)
			}
			if !hangulRE.MatchString(text) {
				t.Errorf("%s: %s %s: no Korean on the Korean page: %s", phase, v.method, v.path, text)
			}
			for _, en := range english {
				if strings.Contains(text, en) {
					t.Errorf("%s: %s %s: English left on the Korean page: %q", phase, v.method, v.path, en)
				}
			}
		}
		if _, p := ts.s.mux.Handler(httptest.NewRequest(v.method, v.path, nil)); p != "" {
			walked[p] = true
		}
	}

	// Before the waiting room opens: the front page; the rest refused
	// with the opening in the campaign's zone.
	ts.setTime(t0.Add(-time.Hour))
	check("not yet", visit{anon, "GET", "/", "", 200})
	check("not yet", visit{anon, "GET", "/signin", "", 403})

	// The waiting room is open.
	ts.setTime(t0)
	for _, v := range []visit{
		{anon, "GET", "/", "", 200},
		{anon, "GET", "/signin", "", 200},
		{anon, "POST", "/signin", form("name", "", "birth_date", "3000-01-01"), 422},
		{anon, "GET", "/no-such-page", "", 404},
		{anon, "GET", "/operator/signin", "", 200},
		{anon, "POST", "/operator/signin", form("token", "forged"), 401},
		{anon, "GET", "/book", "", 403},
		{person, "GET", "/eligibility", "", 200},
		{person, "GET", "/booking", "", 403},
		{op, "GET", "/operator", "", 200},
	} {
		check("pre-queue", v)
	}
	person.must(http.StatusOK, "POST", "/api/queue/join", nil)
	check("pre-queue", visit{person, "GET", "/queue", "", 200})

	// Booking is open: the person is admitted and books.
	ts.setTime(ts.opensAt())
	person.status()
	if person.pass == "" {
		t.Fatal("not admitted at the opening")
	}
	check("open", visit{person, "GET", "/book", "", 200})
	hold := person.must(http.StatusCreated, "POST", "/api/holds", `{"slot":"city-hall-0900"}`)["hold"].(map[string]any)
	check("open", visit{person, "GET", "/book/hold/" + hold["id"].(string), "", 200})
	check("open", visit{person, "POST", "/book/hold", form("slot", "nowhere", "idempotency_key", "k1"), 422})
	person.must(http.StatusOK, "POST", "/api/holds/"+hold["id"].(string)+"/confirm", nil)
	check("open", visit{person, "GET", "/booking", "", 200})
	check("open", visit{person, "GET", "/book", "", 200})
	late := ts.newClient()
	late.signIn("Lee Seo-yeon", "1970-02-02")
	check("open", visit{late, "POST", "/book/hold", form("slot", "city-hall-0900", "idempotency_key", "k2"), 401}) // no pass

	// Maintenance: the library's page, which says the place is kept.
	if err := ts.s.setMaintenance(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	check("maintenance", visit{person, "GET", "/queue", "", 503})
	check("maintenance", visit{anon, "GET", "/", "", 503})
	check("maintenance", visit{op, "GET", "/operator", "", 200})
	if err := ts.s.setMaintenance(t.Context(), false); err != nil {
		t.Fatal(err)
	}

	// Closed for good.
	ts.setTime(ts.s.camp.schedule.Openings[len(ts.s.camp.schedule.Openings)-1].Booking.End.Add(time.Minute))
	check("closed", visit{person, "GET", "/booking", "", 200})
	check("closed", visit{person, "GET", "/queue", "", 403})
	check("closed", visit{anon, "GET", "/", "", 200})

	// Every GET route that renders a page was walked.
	var missed []string
	for _, rt := range ts.s.table {
		method, path := pathFor(rt.pattern)
		if method != "GET" || strings.HasPrefix(path, "/api/") || rt.access == accessInfra && path != "/operator/signin" {
			continue
		}
		if !walked[rt.pattern] {
			missed = append(missed, rt.pattern)
		}
	}
	sort.Strings(missed)
	if len(missed) > 0 {
		t.Errorf("pages not walked: %v", missed)
	}
}
