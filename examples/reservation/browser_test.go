package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Environment variables of the browser tests.
const (
	// requireBrowserEnv turns a missing Chromium from a skip into a
	// failure; CI sets it.
	requireBrowserEnv = "GATEHOUSE_REQUIRE_BROWSER"
	// screenshotDirEnv, when set, is a directory (docs/) that receives the
	// screenshots the README shows, such as waiting-room.png.
	screenshotDirEnv = "GATEHOUSE_SCREENSHOT_DIR"
)

// docScreenshots are the steps whose screenshots go to screenshotDirEnv.
var docScreenshots = map[string]bool{"waiting-room": true}

// browser is a headless Chromium driven by chromedp for one test. It
// records every console error, uncaught exception and browser log error,
// and fails the test on any of them.
type browser struct {
	t        *testing.T
	ctx      context.Context
	dir      string
	step     int
	mu       sync.Mutex
	problems []string
	// expected, when set, names console messages a test expects (the
	// browser's own log of a page status the test asked for); every other
	// error still fails the test.
	expected func(chromedp.ConsoleMessage) bool
}

func findChromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// newBrowser starts Chromium for t: headless, no sandbox (CI runs as
// root), no GPU, no background traffic, a fresh profile. It skips t when no
// Chromium is installed, unless GATEHOUSE_REQUIRE_BROWSER is set.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := findChromium()
	if path == "" {
		if os.Getenv(requireBrowserEnv) != "" {
			t.Fatalf("chromium not found and %s is set", requireBrowserEnv)
		}
		t.Skipf("chromium not found (install Debian's chromium, or set %s to make this a failure)", requireBrowserEnv)
	}
	profile := t.TempDir() // removed after the browser has exited (cleanups run last-in first-out)
	b := &browser{t: t, dir: t.TempDir()}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(900, 1000),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("lang", "en-GB"),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc() // waits for the browser process to exit
	})
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	msgs := chromedp.Console(ctx) // subscribes now, before any page loads
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				b.mu.Lock()
				if b.expected == nil || m.IsException() || !b.expected(m) {
					b.problems = append(b.problems, m.String())
				}
				b.mu.Unlock()
			}
		}
	}()
	t.Cleanup(b.checkConsole)
	b.ctx = ctx
	return b
}

// checkConsole fails the test for every console error seen.
func (b *browser) checkConsole() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		b.t.Errorf("browser console: %s", p)
	}
	b.problems = nil
}

// do runs chromedp actions with a time bound.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		loc, _ := chromedp.Run(b.ctx, chromedp.Location())
		b.shot("failed-" + strings.ReplaceAll(what, " ", "-"))
		b.t.Fatalf("%s (at %s): %v", what, loc, err)
	}
}

// waitJS waits until the JavaScript expression is true in the page.
func waitJS(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Poll[bool](expr)(ctx, t)
		return err
	})
}

// text returns the text of the element sel.
func (b *browser) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.Join(strings.Fields(s), " ")
}

// location is the page's URL.
func (b *browser) location() string {
	b.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatal(err)
	}
	return loc
}

// shot saves a full-page screenshot of the current step into the test's
// temporary directory (and, for the README's pictures, into
// GATEHOUSE_SCREENSHOT_DIR).
func (b *browser) shot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	b.step++
	file := filepath.Join(b.dir, fmt.Sprintf("%02d-%s.png", b.step, name))
	if err := os.WriteFile(file, png, 0o644); err != nil {
		b.t.Error(err)
	}
	b.t.Logf("screenshot %s", file)
	if dir := os.Getenv(screenshotDirEnv); dir != "" && docScreenshots[name] {
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			b.t.Error(err)
		}
	}
}

func TestBrowserFlowMemory(t *testing.T) {
	ts := newTestServer(t, browserConfig)
	browserFlow(t, ts)
}

// browserConfig paces the room slowly enough that a newcomer sees people
// ahead and a measured ETA.
func browserConfig(c *config) {
	c.Rate = 10
	c.MaxPoll = time.Second // the page polls every (real) second
	// Thirty people join early and never book, for 18 places: let the
	// room admit three people per free place so that the line reaches
	// the newcomer.
	c.Overbooking = 3
}

// browserFlow is a person's whole evening in headless Chromium, on a mock
// clock: the front page, sign-in, the eligibility answer (in Seoul time),
// the waiting room with people ahead and an ETA, the page moving on by
// itself when admitted, the slot choice, the hold, the confirmation, and
// the booking. Thirty others joined before the opening and are admitted
// ahead of the person, who joins after it.
func browserFlow(t *testing.T, ts *testServer) {
	var early []*client
	for i := range 30 {
		c := ts.newClient()
		c.signIn(fmt.Sprintf("Early %d", i), "1960-01-01")
		c.must(200, "POST", "/api/queue/join", nil)
		early = append(early, c)
	}
	b := newBrowser(t)

	b.do("open the front page", chromedp.Navigate(ts.url+"/"), chromedp.WaitVisible(chromedp.CSS("h1")))
	if got := b.text(".lead"); !strings.Contains(got, "The waiting room is open. Booking opens at Mon 19 July 2021, 20:00 KST.") {
		t.Fatalf("front page says %q", got)
	}
	b.shot("landing")

	b.do("go to sign-in", chromedp.Click(chromedp.CSS(`a[href="/signin"]`)), chromedp.WaitVisible(chromedp.CSS("#name")))
	b.do("fill the form",
		chromedp.SendKeys(chromedp.CSS("#name"), "Kim Min-jun"),
		chromedp.SetValue(chromedp.CSS("#birth_date"), "1967-03-15"))
	b.shot("signin")
	b.do("sign in", chromedp.Click(chromedp.CSS(`form[action="/signin"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".answer")))
	if got := b.text(".answer .big"); got != "You may book from Mon 19 July 2021, 20:00 KST." {
		t.Fatalf("eligibility answer: %q", got)
	}
	b.shot("eligibility")

	// The opening: the line moves for a minute and ten seconds (the room
	// measures its drain), the person comes back and joins.
	opens := ts.opensAt()
	moveLine := func(from, to time.Time) {
		for at := from; !at.After(to); at = at.Add(6 * time.Second) { // one admission each at 10 a minute
			ts.setTime(at)
			if _, err := ts.s.rooms[0].Stats(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
	}
	moveLine(opens, opens.Add(70*time.Second))
	b.do("reload the answer", chromedp.Navigate(ts.url+"/eligibility"), chromedp.WaitVisible(chromedp.CSS(".answer")))
	if got := b.text(".answer .big"); got != "You may book now, until Tue 20 July 2021, 02:00 KST." {
		t.Fatalf("eligibility answer at opening: %q", got)
	}
	b.do("join", chromedp.Click(chromedp.CSS(`form[action="/queue/join"] button`)), chromedp.WaitVisible(chromedp.CSS("#gh-live")))
	state, eta := b.text("#gh-body .gh-big"), b.text(".gh-facts div:nth-child(2) dd")
	var n int
	if _, err := fmt.Sscanf(state, "%d people are ahead of you", &n); err != nil || n < 5 {
		t.Fatalf("waiting room: %q", state)
	}
	// A range, or (more people ahead than the 18 places surely left: the
	// people admitted before may still book them) why none is given.
	if !strings.Contains(eta, "minutes") && !strings.Contains(eta, "places left may run out") {
		t.Fatalf("waiting room ETA: %q", eta)
	}
	time.Sleep(1500 * time.Millisecond) // one poll of the page's script, which must not change anything
	if got := b.text("#gh-body .gh-big"); got != state {
		t.Fatalf("people ahead changed from %q to %q with the clock stopped", state, got)
	}
	b.shot("waiting-room")

	// Time passes and the line moves; the page notices the admission by
	// itself and moves on.
	moveLine(ts.clk.Now(), ts.clk.Now().Add(time.Duration(n+1)*6*time.Second))
	b.do("be admitted", chromedp.WaitVisible(chromedp.CSS("#slots")))
	if loc := b.location(); !strings.HasSuffix(loc, "/book") {
		t.Fatalf("admitted to %s", loc)
	}
	b.shot("slots")

	// Live availability: someone admitted earlier takes a place at the
	// station; the list shows it without a reload.
	if got := b.text(`.left[data-slot="station-1800"]`); got != "2 places left of 2" {
		t.Fatalf("station-1800 shows %q", got)
	}
	var other *client
	for _, c := range early { // someone called in the last two minutes (the claim window)
		if c.status(); c.pass != "" {
			other = c
			break
		}
	}
	if other == nil {
		t.Fatal("nobody else is admitted")
	}
	other.must(201, "POST", "/api/holds", `{"slot":"station-1800"}`)
	b.do("see the slot fill", waitJS(`document.querySelector('.left[data-slot="station-1800"]').textContent === "1 place left of 2"`))

	b.do("hold a slot",
		chromedp.Click(chromedp.CSS("#slot-city-hall-0900")),
		chromedp.Click(chromedp.CSS(`form[action="/book/hold"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/confirm"]`)))
	if got := b.text("main .big"); !strings.HasPrefix(got, "City Hall clinic, 09:00-10:00 is held for you until") {
		t.Fatalf("hold page: %q", got)
	}
	b.shot("hold")
	b.do("confirm", chromedp.Click(chromedp.CSS(`form[action$="/confirm"] button`)), chromedp.WaitVisible(chromedp.CSS(".answer-booked")))
	if got := b.text(".answer-booked .big"); got != "You are booked: City Hall clinic, 09:00-10:00." {
		t.Fatalf("booking page: %q", got)
	}
	b.shot("booking")

	// The store agrees.
	e, err := ts.s.booking.Lookup(t.Context(), slotCampaign, ts.s.personID(session{Name: "Kim Min-jun", BirthDate: "1967-03-15"}))
	if err != nil || e.Booking == nil || e.Booking.Slot != "city-hall-0900" {
		t.Fatalf("store: %+v, %v", e, err)
	}
	checkSnapshot(t, ts)
}
