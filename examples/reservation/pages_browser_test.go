package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse-go/gatehouse/admission"
	"github.com/gatehouse-go/gatehouse/admission/pages"
	"github.com/gatehouse-go/gatehouse/window"
)

// flakyStore is an admission store that fails, as an unreachable Redis
// does, while down is set.
type flakyStore struct {
	admission.Store
	down atomic.Bool
}

var errStoreDown = fmt.Errorf("%w: test outage", admission.ErrUnavailable)

func (f *flakyStore) Join(ctx context.Context, now time.Time, room string, p admission.Params, id admission.IdentityHash) (admission.Record, error) {
	if f.down.Load() {
		return admission.Record{}, errStoreDown
	}
	return f.Store.Join(ctx, now, room, p, id)
}

func (f *flakyStore) Status(ctx context.Context, now time.Time, room string, p admission.Params, id admission.IdentityHash, h admission.PlaceHint) (admission.Record, error) {
	if f.down.Load() {
		return admission.Record{}, errStoreDown
	}
	return f.Store.Status(ctx, now, room, p, id, h)
}

func (f *flakyStore) Advance(ctx context.Context, now time.Time, room string, p admission.Params) (admission.Line, error) {
	if f.down.Load() {
		return admission.Line{}, errStoreDown
	}
	return f.Store.Advance(ctx, now, room, p)
}

// pagesHost is the smallest host of the library's pages: a gate whose
// refusals are the pages (GateOptions.Deny), a room on memory, and one
// route that shows the person's place (Pages.Waiting), the identity from
// a header the browser sends. It uses nothing of this server.
type pagesHost struct {
	clk   *clock.Mock
	sw    *window.MemorySwitch
	store *flakyStore
	room  *admission.Room
	url   string
}

func newPagesHost(t *testing.T) *pagesHost {
	t.Helper()
	seoul := window.MustLoadZone("Asia/Seoul")
	opening := time.Date(2021, 7, 12, 20, 0, 0, 0, seoul)
	h := &pagesHost{clk: clock.NewMock(), sw: window.NewMemorySwitch(false), store: &flakyStore{Store: admission.NewMemoryStore()}}
	h.clk.Set(opening.Add(-30 * time.Minute))
	ui, err := pages.New(pages.Options{Zone: seoul, Clock: h.clk, MaxPoll: time.Second, Site: "gatehouse",
		IconURL: "/gatehouse/none.svg"})
	if err != nil {
		t.Fatal(err)
	}
	gate, err := window.NewGate(window.GateOptions{
		Schedule: window.Schedule{Zone: seoul, Openings: []window.Opening{{
			PreQueue: opening.Add(-time.Hour),
			Booking:  window.Window{Start: opening, End: opening.Add(22 * time.Hour)},
		}}},
		Switch: h.sw, Clock: h.clk, Deny: ui.Deny,
		MaintenanceRetryAfter: time.Second, OutageRetryAfter: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := admission.NewKeyring(admission.Key{ID: "k1", Secret: []byte(strings.Repeat("s", 32))})
	seed, _ := admission.NewSeed(nil)
	h.room, err = admission.NewRoom(h.store, admission.Options{Name: "july-12", Opening: opening, Rate: 10, Burst: 1,
		Keyring: keys, IdentityKey: []byte(strings.Repeat("i", 32)), Seed: seed, ClaimWindow: time.Hour, Clock: h.clk, Deny: ui.Deny})
	if err != nil {
		t.Fatal(err)
	}
	mux := gate.NewMux()
	mux.Handle(window.Always, "GET /gatehouse/", ui.Assets())
	mux.HandleFunc(window.Always, "GET /gatehouse/none.svg", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/svg+xml")
		fmt.Fprint(w, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"/>`)
	})
	mux.HandleFunc(window.DuringPreQueue|window.DuringOpen, "GET /queue", func(w http.ResponseWriter, r *http.Request) {
		st, err := h.room.Join(r.Context(), "browser-person") // the host's signed-in person
		if err != nil {
			ui.Deny(w, r, h.room.Refusal(r, err))
			return
		}
		ui.Waiting(w, r, st, "/book")
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	h.url = srv.URL
	return h
}

// moveLine asks the room at every admission interval up to to, so that
// the line moves and its drain is measured.
func (h *pagesHost) moveLine(t *testing.T, to time.Time) {
	t.Helper()
	for at := h.clk.Now(); !at.After(to); at = at.Add(6 * time.Second) {
		h.clk.Set(at)
		if _, err := h.room.Stats(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLibraryWaitingPageInBrowser drives the library's waiting room page
// (admission/pages) in headless Chromium, in Korean and English, with
// JavaScript on and off, through waiting, maintenance, an outage of the
// room's store and admission. The page follows each change by itself
// (fetching itself, or its <noscript> meta refresh), says the place is
// kept in maintenance and in the outage, and writes nothing to the
// console. With GATEHOUSE_SCREENSHOT_DIR set, the screenshots go to
// <dir>/pages/.
func TestLibraryWaitingPageInBrowser(t *testing.T) {
	for _, lang := range []string{"ko", "en"} {
		for _, js := range []bool{true, false} {
			name := lang + "-js"
			if !js {
				name = lang + "-nojs"
			}
			t.Run(name, func(t *testing.T) { libraryWaitingPage(t, lang, js, name) })
		}
	}
}

func libraryWaitingPage(t *testing.T, lang string, js bool, name string) {
	h := newPagesHost(t)
	ui, _ := pages.New(pages.Options{Zone: window.MustLoadZone("Asia/Seoul")})
	l := ui.Lang(&http.Request{Header: http.Header{"Accept-Language": {lang}}})
	// Thirty people joined before the opening; the line has moved for a
	// while, so the person sees people ahead and a measured ETA.
	for i := range 30 {
		if _, err := h.room.Join(t.Context(), fmt.Sprint("early-", i)); err != nil {
			t.Fatal(err)
		}
	}
	h.clk.Set(h.room.Opening())
	h.moveLine(t, h.room.Opening().Add(70*time.Second))

	b := newBrowser(t)
	if !js {
		// Without JavaScript the browser itself reloads the page (the
		// <noscript> meta refresh), and the maintenance and outage pages
		// are 503 with Retry-After, as they must be; Chromium's network
		// log reports a document loaded with 503 as an error. That entry,
		// for this page and that status, is the only one expected. With
		// JavaScript, the page's script asks with X-Gatehouse-Poll and
		// gets 200: no message at all.
		b.mu.Lock()
		b.expected = func(m chromedp.ConsoleMessage) bool {
			return m.Source == "network" && strings.HasPrefix(m.URL, h.url+"/queue") &&
				strings.Contains(m.Text, "status of 503")
		}
		b.mu.Unlock()
	}
	accept := map[string]string{"ko": "ko-KR,ko;q=0.9,en;q=0.5", "en": "en-GB,en;q=0.9"}[lang]
	b.do("set the language and scripting", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := chromedp.Call(ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{
			UserAgent: "Mozilla/5.0 (X11; Linux x86_64) gatehouse-test", AcceptLanguage: accept}); err != nil {
			return err
		}
		_, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: !js})
		return err
	}))
	// state waits for the page to show a state, across the reloads of the
	// meta refresh (an evaluation cut short by a navigation is retried).
	state := func(want string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			for {
				got, err := chromedp.Evaluate[string](`document.readyState === "complete" ? document.documentElement.dataset.state : ""`)(ctx, tg)
				if err == nil && got == want {
					return nil
				}
				select {
				case <-ctx.Done():
					return fmt.Errorf("page state %q, want %q: %w", got, want, ctx.Err())
				case <-time.After(100 * time.Millisecond):
				}
			}
		})
	}
	shot := func(step string) {
		b.shot(name + "-" + step)
		if dir := os.Getenv(screenshotDirEnv); dir != "" {
			png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Join(dir, "pages"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "pages", "waiting-"+name+"-"+step+".png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	body := func() string { return b.text("body") }

	b.do("open the waiting room", chromedp.Navigate(h.url+"/queue"), chromedp.WaitVisible(chromedp.CSS("#gh-live")), state("waiting"))
	if got := b.text("html") + body(); !strings.Contains(body(), l.T("waiting.heading")) || !strings.Contains(got, l.T("waiting.eta")) {
		t.Fatalf("waiting page: %s", got)
	}
	if lang == "ko" && !strings.Contains(body(), "명이 있습니다") {
		t.Fatalf("Korean waiting page: %s", body())
	}
	if !js && !strings.Contains(body(), l.T("waiting.noscript", "d", l.Duration(time.Second))) {
		t.Fatalf("JavaScript off, but the <noscript> note is not shown: %s", body())
	}
	shot("waiting")

	h.sw.Set(t.Context(), true)
	b.do("see maintenance", state("maintenance"))
	if !strings.Contains(body(), l.T("maintenance.heading")) || !strings.Contains(body(), l.T("kept")) {
		t.Fatalf("maintenance page does not say the place is kept: %s", body())
	}
	shot("maintenance")

	h.sw.Set(t.Context(), false)
	h.store.down.Store(true)
	b.do("see the outage", state("outage"))
	if !strings.Contains(body(), l.T("outage.heading")) || !strings.Contains(body(), l.T("kept")) {
		t.Fatalf("outage page does not say the place is kept: %s", body())
	}
	shot("outage")

	h.store.down.Store(false)
	b.do("see it again", state("waiting"))
	h.moveLine(t, h.clk.Now().Add(5*time.Minute))
	b.do("be admitted", state("admitted"))
	if !strings.Contains(body(), l.T("admitted.heading")) {
		t.Fatalf("admitted page: %s", body())
	}
	if js {
		b.do("the link has the focus", waitJS(`document.activeElement && document.activeElement.classList.contains("gh-button")`))
	}
	shot("admitted")
}
