package pages_test

import (
	"html/template"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/gatehouse-go/gatehouse/admission"
	"github.com/gatehouse-go/gatehouse/admission/pages"
	"github.com/gatehouse-go/gatehouse/window"
	"github.com/gatehouse-go/gatehouse/window/problem"
)

var seoul = window.MustLoadZone("Asia/Seoul")

// opening is 12 July 2021, 20:00 in Seoul.
var opening = time.Date(2021, 7, 12, 20, 0, 0, 0, seoul)

func newPages(t *testing.T, mod func(*pages.Options)) *pages.Pages {
	t.Helper()
	clk := clock.NewMock()
	clk.Set(opening.Add(5 * time.Minute))
	o := pages.Options{Zone: seoul, Clock: clk, WaitingURL: "/queue", SignInURL: "/signin", Site: "Vaccine booking"}
	if mod != nil {
		mod(&o)
	}
	p, err := pages.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func get(lang string) *http.Request {
	r := httptest.NewRequest("GET", "/queue", nil)
	r.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	if lang != "" {
		r.Header.Set("Accept-Language", lang)
	}
	return r
}

func TestNegotiation(t *testing.T) {
	p := newPages(t, func(o *pages.Options) { o.Languages = map[string]map[string]string{"ja": {"lang.name": "日本語"}} })
	for header, want := range map[string]string{
		"":                                "en",
		"ko-KR,ko;q=0.9":                  "ko",
		"ko":                              "ko",
		"en-US,en;q=0.9,ko;q=0.8":         "en",
		"fr;q=1, ko;q=0.5, en;q=0.4":      "ko",
		"en;q=0.2, ko;q=0.7":              "ko",
		"ko;q=0, en":                      "en",
		"ja-JP":                           "ja",
		"de, *;q=0.1":                     "en",
		"ko;q=bogus, en;q=0.1":            "en",
		"EN-gb;q=0.3, Ko-kr;q=0.31":       "ko",
		"zh-Hant-TW, ko-KR;q=0.9, en;q=1": "en",
	} {
		if got := p.Lang(get(header)).Tag(); got != want {
			t.Errorf("Accept-Language %q: %s, want %s", header, got, want)
		}
	}
	r := get("ko")
	r.URL.RawQuery = "lang=en"
	if got := p.Lang(r).Tag(); got != "en" {
		t.Errorf("?lang=en: %s", got)
	}
}

func TestDatesInTheCampaignsZone(t *testing.T) {
	p := newPages(t, nil)
	utc := opening.UTC() // the zone of the value given must not matter
	if got := p.Lang(get("ko")).When(utc); got != "2021년 7월 12일 (월) 오후 8:00" {
		t.Errorf("ko: %q", got)
	}
	if got := p.Lang(get("en")).When(utc); got != "Mon 12 July 2021, 20:00 KST" {
		t.Errorf("en: %q", got)
	}
	if got := p.Lang(get("ko")).Clock(utc.Add(-12*time.Hour + 5*time.Second)); got != "오전 8:00:05" {
		t.Errorf("ko clock: %q", got)
	}
	if got := p.Lang(get("ko")).Range(3*time.Minute, 5*time.Minute); got != "3~5분" {
		t.Errorf("ko range: %q", got)
	}
	if got := p.Lang(get("en")).Range(3*time.Minute, 5*time.Minute); got != "3 to 5 minutes" {
		t.Errorf("en range: %q", got)
	}
}

// TestCatalogsComplete: Korean has every English key and no other, and no
// string is empty or left in the other language's script.
func TestCatalogsComplete(t *testing.T) {
	hangul := regexp.MustCompile(`\p{Hangul}`)
	for k, v := range pages.English {
		ko, ok := pages.Korean[k]
		if !ok {
			t.Errorf("Korean lacks %q", k)
			continue
		}
		if v == "" || ko == "" {
			t.Errorf("%q empty", k)
		}
		if hangul.MatchString(v) {
			t.Errorf("English %q is Korean: %q", k, v)
		}
		if !strings.HasPrefix(k, "fmt.") && !strings.HasPrefix(k, "dur.") && k != "eta.range" && k != "eta.range_minutes" && !hangul.MatchString(ko) {
			t.Errorf("Korean %q has no Korean: %q", k, ko)
		}
	}
	for k := range pages.Korean {
		if _, ok := pages.English[k]; !ok {
			t.Errorf("English lacks %q", k)
		}
	}
	for _, k := range []string{"sold_out.heading", "sold_out.body"} {
		if pages.English[k] == "" || pages.Korean[k] == "" {
			t.Errorf("%s missing", k)
		}
	}
}

func waiting(ahead int64) admission.Status {
	return admission.Status{Room: "r", State: admission.StateWaiting, Index: 100, Place: 100, Ahead: ahead,
		ETA: admission.ETA{Known: true, Min: 3 * time.Minute, Max: 5 * time.Minute}, PollAfter: 7 * time.Second,
		Opening: opening.UTC(), Joined: opening.UTC()}
}

func render(p *pages.Pages, lang string, f func(w http.ResponseWriter, r *http.Request)) (*httptest.ResponseRecorder, string) {
	rec := httptest.NewRecorder()
	f(rec, get(lang))
	b, _ := io.ReadAll(rec.Body)
	return rec, string(b)
}

func mustContain(t *testing.T, what, body string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(body, s) && !strings.Contains(body, template.HTMLEscapeString(s)) {
			t.Errorf("%s: lacks %q", what, s)
		}
	}
}

func TestWaitingPage(t *testing.T) {
	p := newPages(t, nil)
	for _, lang := range []string{"ko", "en"} {
		l := p.Lang(get(lang))
		rec, body := render(p, lang, func(w http.ResponseWriter, r *http.Request) { p.Waiting(w, r, waiting(42), "/book") })
		if rec.Code != 200 || rec.Header().Get("Content-Language") != lang {
			t.Fatalf("%s: %d %q", lang, rec.Code, rec.Header().Get("Content-Language"))
		}
		mustContain(t, lang, body,
			`<html lang="`+lang+`"`, `aria-live="polite"`, `data-poll="7"`,
			`<noscript><meta http-equiv="refresh" content="7"></noscript>`,
			l.N("waiting.ahead", 42), l.Range(3*time.Minute, 5*time.Minute),
			`<progress id="gh-progress" max="100" value="58">`,
			l.T("waiting.updated", "time", l.Clock(opening.Add(5*time.Minute))),
			l.T("do.heading"), l.T("dont.heading"), l.T("dont.reload"), l.T("zone.note", "zone", "Asia/Seoul"),
			`src="/gatehouse/waiting.js"`)
		adm := waiting(0)
		adm.State, adm.PollAfter, adm.PassExpires = admission.StateAdmitted, 0, opening.Add(20*time.Minute)
		_, body = render(p, lang, func(w http.ResponseWriter, r *http.Request) { p.Waiting(w, r, adm, "/book") })
		mustContain(t, lang+" admitted", body, l.T("admitted.heading"), `href="/book"`, l.When(opening.Add(20*time.Minute)), `data-poll="0"`)
		if strings.Contains(body, "http-equiv") {
			t.Errorf("%s: admitted page refreshes", lang)
		}
		before := waiting(-1)
		before.Place = -1
		_, body = render(p, lang, func(w http.ResponseWriter, r *http.Request) { p.Waiting(w, r, before, "/book") })
		mustContain(t, lang+" before the draw", body, l.T("waiting.before_opening", "time", l.When(opening)), `<progress id="gh-progress"></progress>`)
		sold := waiting(5)
		sold.State = admission.StateSoldOut
		_, body = render(p, lang, func(w http.ResponseWriter, r *http.Request) { p.Waiting(w, r, sold, "/book") })
		mustContain(t, lang+" sold out", body, l.T("sold_out.heading"), l.T("sold_out.body"), `data-poll="7"`)
		if strings.Contains(body, "gh-notice") {
			t.Errorf("%s: a notice without Options.Notice", lang)
		}
	}
}

func refusal(code string, status int, retry time.Duration) *problem.Refusal {
	ref := problem.New("window", status, code, "t", "d", "/queue")
	ref.OpensAt, ref.RetryAfter = opening, retry
	return ref.Finish()
}

func TestRefusalPages(t *testing.T) {
	p := newPages(t, nil)
	for _, lang := range []string{"ko", "en"} {
		l := p.Lang(get(lang))
		rec, body := render(p, lang, func(w http.ResponseWriter, r *http.Request) {
			p.Deny(w, r, refusal(problem.CodeMaintenance, 503, time.Minute))
		})
		if rec.Code != 503 || rec.Header().Get("Retry-After") != "60" {
			t.Fatalf("%s maintenance: %d Retry-After %q", lang, rec.Code, rec.Header().Get("Retry-After"))
		}
		mustContain(t, lang+" maintenance", body, `<html lang="`+lang+`"`, l.T("maintenance.heading"), l.T("kept"),
			`data-poll="30"`, `<noscript><meta http-equiv="refresh" content="30"></noscript>`, `aria-live="polite"`)
		if strings.Contains(body, `href="/"`) {
			t.Errorf("%s maintenance links to the front page, which is closed too", lang)
		}
		_, body = render(p, lang, func(w http.ResponseWriter, r *http.Request) {
			p.Deny(w, r, refusal(problem.CodeOutage, 503, 5*time.Second))
		})
		mustContain(t, lang+" outage", body, l.T("outage.heading"), l.T("kept"), `data-poll="5"`)
		rec, body = render(p, lang, func(w http.ResponseWriter, r *http.Request) {
			p.Deny(w, r, refusal(problem.CodeNotYet, 403, time.Hour))
		})
		mustContain(t, lang+" not yet", body, l.T("notyet.body", "time", l.When(opening)))
		if rec.Code != 403 || strings.Contains(body, "http-equiv") {
			t.Errorf("%s not yet: %d, or refreshes", lang, rec.Code)
		}
		_, body = render(p, lang, func(w http.ResponseWriter, r *http.Request) { p.Deny(w, r, refusal(problem.CodeClosed, 403, 0)) })
		mustContain(t, lang+" closed", body, l.T("closed.heading"), `href="/"`)
	}
	if !strings.Contains(p.Lang(get("ko")).When(opening), "2021년 7월 12일 (월) 오후 8:00") {
		t.Fatal("Korean date")
	}
	var rec *httptest.ResponseRecorder
	// The page's script asking again gets 200, the status in a header.
	rec = httptest.NewRecorder()
	r0 := get("en")
	r0.Header.Set(pages.PollHeader, "1")
	p.Deny(rec, r0, refusal(problem.CodeMaintenance, 503, time.Minute))
	if rec.Code != 200 || rec.Header().Get(pages.PollStatusHeader) != "503" || rec.Header().Get("Retry-After") != "60" {
		t.Fatalf("poll: %d %q %q", rec.Code, rec.Header().Get(pages.PollStatusHeader), rec.Header().Get("Retry-After"))
	}
	// A client that does not ask for HTML gets the problem document.
	rec = httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/api/x", nil)
	r.Header.Set("Accept", "application/json")
	p.Deny(rec, r, refusal(problem.CodeMaintenance, 503, time.Minute))
	if rec.Header().Get("Content-Type") != problem.ContentType || rec.Code != 503 {
		t.Fatalf("non-HTML: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
}

func TestHostCustomises(t *testing.T) {
	p := newPages(t, func(o *pages.Options) {
		o.Languages = map[string]map[string]string{
			"ko": {"waiting.heading": "줄 서는 중"},
			"ja": {"lang.name": "日本語", "waiting.heading": "順番待ち"},
		}
		o.Templates = fstest.MapFS{"refusal.html": {Data: []byte(`{{define "main"}}<p id="mine">{{.L.T "maintenance.heading"}} {{.Data.Ref.Code}}</p>{{end}}`)}}
	})
	_, body := render(p, "ko", func(w http.ResponseWriter, r *http.Request) { p.Waiting(w, r, waiting(3), "/book") })
	mustContain(t, "override", body, "줄 서는 중")
	_, body = render(p, "ja", func(w http.ResponseWriter, r *http.Request) { p.Waiting(w, r, waiting(3), "/book") })
	mustContain(t, "added language", body, `<html lang="ja"`, "順番待ち", pages.English["do.heading"])
	_, body = render(p, "en", func(w http.ResponseWriter, r *http.Request) {
		p.Deny(w, r, refusal(problem.CodeMaintenance, 503, time.Minute))
	})
	mustContain(t, "replaced template", body, `<p id="mine">Under maintenance maintenance</p>`)
	if _, err := pages.New(pages.Options{}); err == nil {
		t.Fatal("no zone accepted")
	}
	if _, err := pages.New(pages.Options{Zone: seoul, Default: "fr"}); err == nil {
		t.Fatal("unknown default accepted")
	}
}

// TestFocusRingContrast: the focus ring's colour has a contrast ratio of
// at least 3:1 with the page background (WCAG 2.2, 1.4.11), computed from
// the style sheet the pages serve.
func TestFocusRingContrast(t *testing.T) {
	p := newPages(t, nil)
	rec := httptest.NewRecorder()
	p.Assets().ServeHTTP(rec, httptest.NewRequest("GET", "/gatehouse/gatehouse.css", nil))
	css := rec.Body.String()
	color := func(name string) [3]float64 {
		m := regexp.MustCompile(`--` + name + `:\s*#([0-9a-fA-F]{6})`).FindStringSubmatch(css)
		if m == nil {
			t.Fatalf("no --%s in the style sheet", name)
		}
		var c [3]float64
		for i := range 3 {
			v, _ := strconv.ParseUint(m[1][2*i:2*i+2], 16, 8)
			s := float64(v) / 255
			if s <= 0.03928 {
				c[i] = s / 12.92
			} else {
				c[i] = math.Pow((s+0.055)/1.055, 2.4)
			}
		}
		return c
	}
	lum := func(c [3]float64) float64 { return 0.2126*c[0] + 0.7152*c[1] + 0.0722*c[2] }
	a, b := lum(color("gh-focus")), lum(color("gh-bg"))
	ratio := (max(a, b) + 0.05) / (min(a, b) + 0.05)
	if ratio < 3 {
		t.Fatalf("focus ring contrast %.2f:1, want >= 3:1", ratio)
	}
	if !strings.Contains(css, ":focus-visible { outline: 3px solid var(--gh-focus)") {
		t.Fatal("focus ring not drawn with --gh-focus")
	}
	rec = httptest.NewRecorder()
	p.Assets().ServeHTTP(rec, httptest.NewRequest("GET", "/gatehouse/waiting.js", nil))
	if rec.Code != 200 || !strings.Contains(rec.Header().Get("Content-Type"), "javascript") {
		t.Fatalf("script: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
}

// TestWaitingNotice: the host's message (an operator's) is on the waiting
// page, escaped, and on no page without one.
func TestWaitingNotice(t *testing.T) {
	msg := "Second doses open at 21:00 <b>"
	p := newPages(t, func(o *pages.Options) { o.Notice = func(*http.Request) string { return msg } })
	_, body := render(p, "ko", func(w http.ResponseWriter, r *http.Request) { p.Waiting(w, r, waiting(5), "/book") })
	mustContain(t, "notice", body, `<p class="gh-notice" id="gh-notice">Second doses open at 21:00 &lt;b&gt;</p>`)
	p = newPages(t, func(o *pages.Options) { o.Notice = func(*http.Request) string { return "" } })
	if _, body := render(p, "en", func(w http.ResponseWriter, r *http.Request) { p.Waiting(w, r, waiting(5), "/book") }); strings.Contains(body, "gh-notice") {
		t.Error("an empty notice shown")
	}
}

// TestPlacesShortOnTheWaitingPage: a person with more people ahead than
// places surely left is told why no time is given, not that the line is
// still being measured.
func TestPlacesShortOnTheWaitingPage(t *testing.T) {
	p := newPages(t, nil)
	for _, lang := range []string{"ko", "en"} {
		l := p.Lang(get(lang))
		st := waiting(4000)
		st.ETA = admission.ETA{PlacesShort: true}
		_, body := render(p, lang, func(w http.ResponseWriter, r *http.Request) { p.Waiting(w, r, st, "/book") })
		mustContain(t, lang, body, l.T("eta.places_short"))
		if strings.Contains(body, l.T("eta.measuring")) {
			t.Errorf("%s: says the line is being measured", lang)
		}
	}
}
