package window_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/window"
)

// appRoute is one route of a test application: the pattern registered on
// its mux, a request that reaches it, and how the gate classifies it
// (0: nobody classified it).
type appRoute struct {
	pattern      string
	method, path string
	allow        window.Allowance
}

// appRoutes is the application the default-deny tests run: its mux and its
// gate are both built from this list, and every route is enumerated. The
// booking form at the end was added to the mux and forgotten by the gate,
// as the July 2021 back door was.
var appRoutes = []appRoute{
	{"GET /healthz", "GET", "/healthz", window.Always},
	{"GET /static/", "GET", "/static/app.css", window.Always},
	{"GET /{$}", "GET", "/", window.AnyPhase},
	{"POST /api/queue/join", "POST", "/api/queue/join", window.DuringPreQueue | window.DuringOpen},
	{"GET /api/queue/status", "GET", "/api/queue/status", window.DuringPreQueue | window.DuringOpen},
	{"GET /queue/early-bird", "GET", "/queue/early-bird", window.DuringPreQueue},
	{"GET /book/{slot}", "GET", "/book/42", window.DuringOpen},
	{"POST /api/book", "POST", "/api/book", window.DuringOpen},
	{"GET /results", "GET", "/results", window.DuringClosed},
	{"GET /announcement", "GET", "/announcement", window.DuringNotYet | window.DuringClosed | window.DuringMaintenance},
	{"/admin/", "POST", "/admin/maintenance", window.OperatorsOnly},
	{"GET /booking-form", "GET", "/booking-form", 0},
}

// newApp returns the application's mux, counting the requests each route
// serves, and a gate classifying the routes from appRoutes.
func newApp(t testing.TB, opts window.GateOptions) (*window.Gate, http.Handler, map[string]*atomic.Int64) {
	t.Helper()
	mux := http.NewServeMux()
	hits := map[string]*atomic.Int64{}
	for _, r := range appRoutes {
		n := new(atomic.Int64)
		hits[r.pattern] = n
		mux.HandleFunc(r.pattern, func(w http.ResponseWriter, req *http.Request) {
			n.Add(1)
			fmt.Fprint(w, "served ", r.pattern)
		})
	}
	if opts.Schedule.Zone == nil {
		opts.Schedule = july2021(t)
	}
	g, err := window.NewGate(opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range appRoutes {
		if r.allow != 0 {
			g.Allow(r.allow, r.pattern)
		}
	}
	return g, g.Guard(mux), hits
}

// phaseInstants are instants of july2021 in each scheduled phase.
func phaseInstants(t testing.TB) []struct {
	name  string
	at    time.Time
	phase window.Phase
} {
	return []struct {
		name  string
		at    time.Time
		phase window.Phase
	}{
		{"not yet", kst(t, "2021-07-12T18:00"), window.NotYet},
		{"pre-queue", kst(t, "2021-07-12T19:30"), window.PreQueue},
		{"open", kst(t, "2021-07-13T02:30"), window.Open},
		{"between openings", kst(t, "2021-07-18T12:00"), window.NotYet},
		{"second pre-queue", kst(t, "2021-07-19T19:45"), window.PreQueue},
		{"second open", kst(t, "2021-07-20T17:59"), window.Open},
		{"closed", kst(t, "2021-07-21T09:00"), window.Closed},
	}
}

// TestGuardDefaultDeny enumerates every route of the application in every
// phase, with maintenance off and on, for an anonymous request, one with a
// forged operator token, and one with a valid token: only the explicit
// allow list passes, the forgotten booking form never does, and the
// application's handler never sees a refused request.
func TestGuardDefaultDeny(t *testing.T) {
	keys, err := window.NewKeyring(testKey("k1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, pi := range phaseInstants(t) {
		for _, maintenance := range []bool{false, true} {
			name := pi.name
			phase := pi.phase
			if maintenance {
				name += "/maintenance"
				phase = window.Maintenance
			}
			t.Run(name, func(t *testing.T) {
				clk := mockAt(pi.at)
				g, h, hits := newApp(t, window.GateOptions{
					Clock: clk, Switch: window.NewMemorySwitch(maintenance), Operators: keys,
				})
				valid, err := keys.Issue(pi.at.Add(-time.Minute), "duty-operator", time.Hour)
				if err != nil {
					t.Fatal(err)
				}
				forged := valid[:len(valid)-4] + "AAAA"
				if forged == valid {
					forged = valid[:len(valid)-4] + "BBBB"
				}
				for _, who := range []struct {
					name, token string
					operator    bool
				}{{"anonymous", "", false}, {"forged operator", forged, false}, {"operator", valid, true}} {
					for _, rt := range appRoutes {
						if a, p := g.Classify(httptest.NewRequest(rt.method, rt.path, nil)); a != rt.allow || (a != 0) != (p == rt.pattern) {
							t.Fatalf("Classify(%s %s) = %v %q, want %v %q", rt.method, rt.path, a, p, rt.allow, rt.pattern)
						}
						before := hits[rt.pattern].Load()
						req := httptest.NewRequest(rt.method, rt.path, nil)
						if who.token != "" {
							req.Header.Set("Authorization", "Operator "+who.token)
						}
						rec := serve(h, req)
						served := hits[rt.pattern].Load() - before
						want := who.operator || rt.allow.Allows(phase)
						if want {
							if rec.Code != http.StatusOK || served != 1 {
								t.Errorf("%s %s %s in %v: status %d, served %d; want it through", who.name, rt.method, rt.path, phase, rec.Code, served)
							}
							continue
						}
						wantStatus := http.StatusForbidden
						switch {
						case phase == window.Maintenance:
							wantStatus = http.StatusServiceUnavailable
						case rt.allow == 0 || rt.allow == window.OperatorsOnly:
							wantStatus = http.StatusNotFound
						}
						if rec.Code != wantStatus || served != 0 {
							t.Errorf("%s %s %s in %v: status %d, served %d; want %d and never served", who.name, rt.method, rt.path, phase, rec.Code, served, wantStatus)
						}
						problemBody(t, rec)
					}
				}
			})
		}
	}
}

// TestBoundaries checks the exact instants: one nanosecond before a window
// opens it is refused, at its start it is open, at its end it is refused,
// for Window.Contains, Schedule.At, Gate.Require and Gate.Guard alike, with
// the instant given in several locations. TestHostZoneDoesNotMatter runs it
// again under other host zones.
func TestBoundaries(t *testing.T) {
	if tz := os.Getenv("GATEHOUSE_CHILD_TZ"); tz != "" {
		// Prove the child really runs in the host zone asked for.
		if got := time.Local.String(); got != tz {
			t.Fatalf("time.Local = %q, want %q", got, tz)
		}
		_, off := time.Date(2021, 7, 12, 20, 0, 0, 0, time.Local).Zone()
		_, want := time.Date(2021, 7, 12, 20, 0, 0, 0, window.MustLoadZone(tz)).Zone()
		if off != want {
			t.Fatalf("host offset %d, want %d", off, want)
		}
	}
	s := july2021(t)
	first, second := s.Openings[0], s.Openings[1]
	locs := []*time.Location{time.UTC, time.Local, seoul,
		window.MustLoadZone("America/Los_Angeles"), window.MustLoadZone("Pacific/Kiritimati"),
		window.MustLoadZone("Pacific/Pago_Pago"), window.MustLoadZone("America/St_Johns")}
	type want struct {
		contains  window.Window // the window whose Contains is checked
		in        bool
		phase     window.Phase
		err       error // Require's sentinel; nil means open
		book      int   // Guard's status for POST /api/book
		queueJoin int   // Guard's status for POST /api/queue/join
	}
	cases := []struct {
		name string
		at   time.Time
		want want
	}{
		{"pre-queue start - 1ns", first.PreQueue.Add(-1), want{first.Booking, false, window.NotYet, window.ErrNotOpen, 403, 403}},
		{"pre-queue start", first.PreQueue, want{first.Booking, false, window.PreQueue, window.ErrNotOpen, 403, 200}},
		{"start - 1ns", first.Booking.Start.Add(-1), want{first.Booking, false, window.PreQueue, window.ErrNotOpen, 403, 200}},
		{"start", first.Booking.Start, want{first.Booking, true, window.Open, nil, 200, 200}},
		{"end - 1ns", first.Booking.End.Add(-1), want{first.Booking, true, window.Open, nil, 200, 200}},
		{"end", first.Booking.End, want{first.Booking, false, window.NotYet, window.ErrNotOpen, 403, 403}},
		{"second start - 1ns", second.Booking.Start.Add(-1), want{second.Booking, false, window.PreQueue, window.ErrNotOpen, 403, 200}},
		{"second start", second.Booking.Start, want{second.Booking, true, window.Open, nil, 200, 200}},
		{"last end - 1ns", second.Booking.End.Add(-1), want{second.Booking, true, window.Open, nil, 200, 200}},
		{"last end", second.Booking.End, want{second.Booking, false, window.Closed, window.ErrClosed, 403, 403}},
	}
	clk := mockAt(first.PreQueue)
	g, h, _ := newApp(t, window.GateOptions{Schedule: s, Clock: clk})
	ctx := context.Background()
	for _, tc := range cases {
		for _, loc := range locs {
			at := tc.at.In(loc)
			name := tc.name + " in " + loc.String()
			if got := tc.want.contains.Contains(at); got != tc.want.in {
				t.Errorf("%s: Contains = %v, want %v", name, got, tc.want.in)
			}
			if got := s.At(at).Phase; got != tc.want.phase {
				t.Errorf("%s: Schedule.At = %v, want %v", name, got, tc.want.phase)
			}
			if st, err := g.State(ctx, at); err != nil || st.Phase != tc.want.phase {
				t.Errorf("%s: Gate.State = %v, %v; want %v", name, st.Phase, err, tc.want.phase)
			}
			err := g.Require(ctx, at)
			if (tc.want.err == nil) != (err == nil) || (err != nil && !errors.Is(err, tc.want.err)) {
				t.Errorf("%s: Require = %v, want %v", name, err, tc.want.err)
			}
			clk.Set(at)
			if rec := serve(h, httptest.NewRequest("POST", "/api/book", nil)); rec.Code != tc.want.book {
				t.Errorf("%s: Guard POST /api/book = %d, want %d", name, rec.Code, tc.want.book)
			}
			if rec := serve(h, httptest.NewRequest("POST", "/api/queue/join", nil)); rec.Code != tc.want.queueJoin {
				t.Errorf("%s: Guard POST /api/queue/join = %d, want %d", name, rec.Code, tc.want.queueJoin)
			}
		}
	}
}

// TestHostZoneDoesNotMatter runs TestBoundaries in child processes whose
// host zone (TZ) is far east (+14), far west (-11), off by half or three
// quarters of an hour, with or without daylight saving:
// the answers are the same. (make test also runs the whole package under
// TZ=Asia/Seoul and TZ=America/Los_Angeles.)
func TestHostZoneDoesNotMatter(t *testing.T) {
	if os.Getenv("GATEHOUSE_CHILD_TZ") != "" {
		t.Skip("in a child process")
	}
	if testing.Short() {
		t.Skip("short")
	}
	for _, tz := range []string{"Pacific/Kiritimati", "Pacific/Pago_Pago", "America/St_Johns", "Asia/Kathmandu"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestBoundaries$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), "TZ="+tz, "GATEHOUSE_CHILD_TZ="+tz)
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestBoundaries") {
			t.Errorf("TZ=%s: %v\n%s", tz, err, out)
		}
	}
}

// TestRefusalProblems checks the problem documents: the phase, the window
// in RFC 3339 with the campaign's offset, Retry-After where a retry helps.
func TestRefusalProblems(t *testing.T) {
	for _, tc := range []struct {
		name       string
		at         string
		sw         window.Switch
		method     string
		path       string
		status     int
		phase      string // "" means no phase member
		opens      string
		closes     string
		retryAfter string // "" means no header
		typ        string
	}{
		{"booking before opening", "2021-07-12T18:00", nil, "POST", "/api/book", 403, "not_yet",
			"2021-07-12T20:00:00+09:00", "2021-07-17T18:00:00+09:00", "7200", "#window-not_yet"},
		{"queue before pre-queue", "2021-07-12T18:00", nil, "POST", "/api/queue/join", 403, "not_yet",
			"2021-07-12T20:00:00+09:00", "2021-07-17T18:00:00+09:00", "3600", "#window-not_yet"},
		{"booking in pre-queue", "2021-07-12T19:59", nil, "GET", "/book/7", 403, "pre_queue",
			"2021-07-12T20:00:00+09:00", "2021-07-17T18:00:00+09:00", "60", "#window-pre_queue"},
		{"pre-queue route while open", "2021-07-17T17:00", nil, "GET", "/queue/early-bird", 403, "open",
			"2021-07-12T20:00:00+09:00", "2021-07-17T18:00:00+09:00", strconv.Itoa(int(kst(t, "2021-07-19T19:30").Sub(kst(t, "2021-07-17T17:00")).Seconds())), "#window-not_allowed"},
		{"booking after the last window", "2021-07-21T09:00", nil, "POST", "/api/book", 403, "closed",
			"2021-07-19T20:00:00+09:00", "2021-07-20T18:00:00+09:00", "", "#window-closed"},
		{"maintenance", "2021-07-13T02:30", window.NewMemorySwitch(true), "POST", "/api/book", 503, "maintenance",
			"2021-07-12T20:00:00+09:00", "2021-07-17T18:00:00+09:00", "60", "#window-maintenance"},
		{"maintenance, unclassified", "2021-07-13T02:30", window.NewMemorySwitch(true), "GET", "/booking-form", 503, "maintenance",
			"2021-07-12T20:00:00+09:00", "2021-07-17T18:00:00+09:00", "60", "#window-maintenance"},
		{"switch unreadable", "2021-07-13T02:30", unavailableSwitch{}, "POST", "/api/book", 503, "maintenance",
			"2021-07-12T20:00:00+09:00", "2021-07-17T18:00:00+09:00", "5", "#window-outage"},
		{"unclassified while open", "2021-07-13T02:30", nil, "GET", "/booking-form", 404, "", "", "", "", "#window-not_found"},
		{"operators only", "2021-07-13T02:30", nil, "POST", "/admin/maintenance", 404, "", "", "", "", "#window-not_found"},
		{"redirect is not a match", "2021-07-13T02:30", nil, "GET", "/static", 404, "", "", "", "", "#window-not_found"},
		{"unclean path is not a match", "2021-07-13T02:30", nil, "GET", "/static/../booking-form", 404, "", "", "", "", "#window-not_found"},
		{"wrong method is not a match", "2021-07-13T02:30", nil, "DELETE", "/api/book", 405, "", "", "", "", "#window-method_not_allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, h, _ := newApp(t, window.GateOptions{Clock: mockAt(kst(t, tc.at)), Switch: tc.sw})
			req := httptest.NewRequest(tc.method, "http://example.com"+tc.path, nil)
			rec := serve(h, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			p := problemBody(t, rec)
			get := func(k string) string { s, _ := p[k].(string); return s }
			if get("phase") != tc.phase || get("opens_at") != tc.opens || get("closes_at") != tc.closes {
				t.Errorf("phase %q opens_at %q closes_at %q, want %q %q %q", get("phase"), get("opens_at"), get("closes_at"), tc.phase, tc.opens, tc.closes)
			}
			if got := rec.Header().Get("Retry-After"); got != tc.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tc.retryAfter)
			}
			if typ := get("type"); !strings.HasSuffix(typ, tc.typ) || (tc.typ == "") != (typ == "") {
				t.Errorf("type %q, want suffix %q", typ, tc.typ)
			}
			if get("title") == "" || get("instance") != req.URL.Path {
				t.Errorf("title %q instance %q", get("title"), get("instance"))
			}
			if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q", cc)
			}
		})
	}
}

// TestRequire checks Require's errors: sentinels for errors.Is, *Refusal
// with the phase and window for errors.As, and the switch's error.
func TestRequire(t *testing.T) {
	ctx := context.Background()
	sw := window.NewMemorySwitch(false)
	g, err := window.NewGate(window.GateOptions{Schedule: july2021(t), Switch: sw})
	if err != nil {
		t.Fatal(err)
	}
	check := func(at time.Time, want error, phase window.Phase, opens string) {
		t.Helper()
		err := g.Require(ctx, at)
		if want == nil {
			if err != nil {
				t.Fatalf("Require(%s) = %v, want nil", at, err)
			}
			return
		}
		if !errors.Is(err, want) {
			t.Fatalf("Require(%s) = %v, want %v", at, err, want)
		}
		for _, other := range []error{window.ErrNotOpen, window.ErrClosed, window.ErrMaintenance} {
			if other != want && errors.Is(err, other) {
				t.Fatalf("Require(%s) = %v is also %v", at, err, other)
			}
		}
		var ref *window.Refusal
		if !errors.As(err, &ref) {
			t.Fatalf("%v is not a *Refusal", err)
		}
		if ref.Phase != phase || ref.OpensAt.Format(time.RFC3339) != opens {
			t.Fatalf("refusal %+v, want phase %v opens %s", ref, phase, opens)
		}
		if ref.OpensAt.Location() != seoul {
			t.Fatalf("OpensAt in %v, want the campaign's zone", ref.OpensAt.Location())
		}
	}
	check(kst(t, "2021-07-12T18:00"), window.ErrNotOpen, window.NotYet, "2021-07-12T20:00:00+09:00")
	check(kst(t, "2021-07-12T19:00"), window.ErrNotOpen, window.PreQueue, "2021-07-12T20:00:00+09:00")
	check(kst(t, "2021-07-12T20:00"), nil, window.Open, "")
	check(kst(t, "2021-07-25T00:00"), window.ErrClosed, window.Closed, "2021-07-19T20:00:00+09:00")
	if err := sw.Set(ctx, true); err != nil {
		t.Fatal(err)
	}
	check(kst(t, "2021-07-12T20:00"), window.ErrMaintenance, window.Maintenance, "2021-07-12T20:00:00+09:00")
	check(kst(t, "2021-07-12T18:00"), window.ErrMaintenance, window.Maintenance, "2021-07-12T20:00:00+09:00")
	if errors.Is(g.Require(ctx, kst(t, "2021-07-12T20:00")), window.ErrSwitchUnavailable) {
		t.Fatal("a switch that is on is not unavailable")
	}

	down, err := window.NewGate(window.GateOptions{Schedule: july2021(t), Switch: unavailableSwitch{}})
	if err != nil {
		t.Fatal(err)
	}
	err = down.Require(ctx, kst(t, "2021-07-12T20:00"))
	if !errors.Is(err, window.ErrMaintenance) || !errors.Is(err, window.ErrSwitchUnavailable) {
		t.Fatalf("unreadable switch: Require = %v, want ErrMaintenance and ErrSwitchUnavailable", err)
	}
	st, err := down.State(ctx, kst(t, "2021-07-12T20:00"))
	if st.Phase != window.Maintenance || st.Scheduled != window.Open || !errors.Is(err, window.ErrSwitchUnavailable) {
		t.Fatalf("State = %+v, %v", st, err)
	}
	// A refusal serves itself as the same problem Guard writes.
	rec := httptest.NewRecorder()
	var ref *window.Refusal
	errors.As(g.Require(ctx, kst(t, "2021-07-12T18:00")), &ref)
	ref.ServeHTTP(rec, httptest.NewRequest("POST", "/api/book", nil))
	if p := problemBody(t, rec); rec.Code != 503 || p["phase"] != "maintenance" {
		t.Fatalf("refusal as HTTP: %d %v", rec.Code, p)
	}
}

// TestGuardOperators checks operator tokens at the gate during
// maintenance: valid and accepted-rotation tokens pass (header or cookie),
// forged, expired, wrong-key and retired-key tokens are refused.
func TestGuardOperators(t *testing.T) {
	now := kst(t, "2021-07-12T18:00")
	oldKey, newKey, otherKey := testKey("2021a"), testKey("2021b"), testKey("rogue")
	// Rotation in progress: new key signs, old key still accepted.
	rotating, err := window.NewKeyring(newKey, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	oldOnly, _ := window.NewKeyring(oldKey)
	rogue, _ := window.NewKeyring(otherKey)
	sameIDWrongSecret, _ := window.NewKeyring(window.OperatorKey{ID: newKey.ID, Secret: []byte(strings.Repeat("x", 32))})
	issue := func(k *window.Keyring, at time.Time, ttl time.Duration) string {
		tok, err := k.Issue(at, "night-shift", ttl)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	valid := issue(rotating, now.Add(-time.Minute), time.Hour)
	tampered := []byte(valid)
	tampered[strings.LastIndexByte(valid, '.')-2] ^= 1 // change the name
	cases := []struct {
		name, auth, cookie string
		pass               bool
		wantErr            error
	}{
		{"valid", "Operator " + valid, "", true, nil},
		{"scheme is case-insensitive", "operator " + valid, "", true, nil},
		{"cookie", "", valid, true, nil},
		{"accepted rotation key", "Operator " + issue(oldOnly, now, time.Hour), "", true, nil},
		{"forged name", "Operator " + string(tampered), "", false, window.ErrTokenSignature},
		{"expired exactly", "Operator " + issue(rotating, now.Add(-time.Hour), time.Hour), "", false, window.ErrTokenExpired},
		{"issued in the future", "Operator " + issue(rotating, now.Add(time.Hour), time.Hour), "", false, window.ErrTokenNotYetValid},
		{"unknown key", "Operator " + issue(rogue, now, time.Hour), "", false, window.ErrTokenUnknownKey},
		{"wrong key, known id", "Operator " + issue(sameIDWrongSecret, now, time.Hour), "", false, window.ErrTokenSignature},
		{"garbage", "Operator not-a-token", "", false, window.ErrTokenMalformed},
		{"bearer scheme", "Bearer " + valid, "", false, nil},
		{"none", "", "", false, nil},
	}
	run := func(t *testing.T, keys *window.Keyring, name, auth, cookie string, pass bool, wantErr error) {
		var last window.Event
		var who string
		mux := http.NewServeMux()
		mux.HandleFunc("POST /api/book", func(w http.ResponseWriter, r *http.Request) {
			op, _ := window.OperatorFromContext(r.Context())
			who = op.Name
		})
		g, err := window.NewGate(window.GateOptions{
			Schedule: july2021(t), Switch: window.NewMemorySwitch(true), Operators: keys,
			OperatorCookie: "gh_operator", Clock: mockAt(now), Observer: func(d window.Event) { last = d },
		})
		if err != nil {
			t.Fatal(err)
		}
		g.Allow(window.DuringOpen, "POST /api/book")
		req := httptest.NewRequest("POST", "/api/book", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: "gh_operator", Value: cookie})
		}
		rec := serve(g.Guard(mux), req)
		if pass {
			if rec.Code != 200 || who != "night-shift" || !last.Allowed || !last.Operator {
				t.Fatalf("%s: status %d, operator %q, decision %+v; want through as night-shift", name, rec.Code, who, last)
			}
			return
		}
		if rec.Code != 503 || who != "" || last.Allowed || last.Status != 503 {
			t.Fatalf("%s: status %d, decision %+v; want 503", name, rec.Code, last)
		}
		if wantErr != nil && !errors.Is(last.TokenErr, wantErr) {
			t.Fatalf("%s: token error %v, want %v", name, last.TokenErr, wantErr)
		}
		if wantErr != nil && !errors.Is(last.TokenErr, window.ErrInvalidToken) {
			t.Fatalf("%s: token error %v does not wrap ErrInvalidToken", name, last.TokenErr)
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { run(t, rotating, tc.name, tc.auth, tc.cookie, tc.pass, tc.wantErr) })
	}
	// Rotation finished: the old key is retired, its tokens refused.
	t.Run("retired key", func(t *testing.T) {
		retired, _ := window.NewKeyring(newKey)
		run(t, retired, "retired key", "Operator "+issue(oldOnly, now, time.Hour), "", false, window.ErrTokenUnknownKey)
		run(t, retired, "new key", "Operator "+valid, "", true, nil)
	})
	// Without a verifier configured nobody is an operator.
	t.Run("no verifier", func(t *testing.T) {
		run(t, nil, "no verifier", "Operator "+valid, "", false, nil)
	})
}

// TestGateVerifyOperator checks the console helper.
func TestGateVerifyOperator(t *testing.T) {
	now := kst(t, "2021-07-12T18:00")
	keys, _ := window.NewKeyring(testKey("k1"))
	g, err := window.NewGate(window.GateOptions{Schedule: july2021(t), Operators: keys, Clock: mockAt(now)})
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := keys.Issue(now, "ops", time.Minute)
	req := httptest.NewRequest("GET", "/admin/", nil)
	if _, err := g.VerifyOperator(req); !errors.Is(err, window.ErrInvalidToken) {
		t.Fatalf("no token: %v", err)
	}
	req.Header.Set("Authorization", "Operator "+tok)
	if op, err := g.VerifyOperator(req); err != nil || op.Name != "ops" || op.KeyID != "k1" {
		t.Fatalf("VerifyOperator = %+v, %v", op, err)
	}
}

func TestNewGateValidation(t *testing.T) {
	good := july2021(t)
	for _, tc := range []struct {
		name string
		opts window.GateOptions
		want string
	}{
		{"no schedule", window.GateOptions{}, "no zone"},
		{"no openings", window.GateOptions{Schedule: window.Schedule{Zone: seoul}}, "no openings"},
		{"bad cookie", window.GateOptions{Schedule: good, OperatorCookie: "a b"}, "OperatorCookie"},
		{"negative retry", window.GateOptions{Schedule: good, MaintenanceRetryAfter: -1}, "negative"},
		{"zero allowance", window.GateOptions{Schedule: good, Routes: []window.Route{{Patterns: []string{"/x"}}}}, "Routes[0]"},
		{"operators only and a phase", window.GateOptions{Schedule: good, Routes: []window.Route{{Allow: window.OperatorsOnly | window.DuringOpen, Patterns: []string{"/x"}}}}, "OperatorsOnly"},
		{"unknown bits", window.GateOptions{Schedule: good, Routes: []window.Route{{Allow: 1 << 6, Patterns: []string{"/x"}}}}, "unknown bits"},
		{"no patterns", window.GateOptions{Schedule: good, Routes: []window.Route{{Allow: window.Always}}}, "no patterns"},
		{"empty pattern", window.GateOptions{Schedule: good, Routes: []window.Route{{Allow: window.Always, Patterns: []string{""}}}}, "empty route pattern"},
		{"bad pattern", window.GateOptions{Schedule: good, Routes: []window.Route{{Allow: window.Always, Patterns: []string{"GET  /x{"}}}}, "Routes[0]"},
		{"conflict", window.GateOptions{Schedule: good, Routes: []window.Route{
			{Allow: window.Always, Patterns: []string{"/x"}}, {Allow: window.DuringOpen, Patterns: []string{"/x"}}}}, "Routes[1]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := window.NewGate(tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewGate = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	// Overlapping openings are refused.
	bad := july2021(t)
	bad.Openings[1].PreQueue = bad.Openings[0].Booking.End.Add(-time.Second)
	if _, err := window.NewGate(window.GateOptions{Schedule: bad}); !errors.Is(err, window.ErrInvalidSchedule) {
		t.Fatalf("overlap: %v", err)
	}
	// Allow panics like ServeMux.Handle.
	g, err := window.NewGate(window.GateOptions{Schedule: good})
	if err != nil {
		t.Fatal(err)
	}
	g.Allow(window.Always, "GET /healthz")
	func() {
		defer func() {
			if r := recover(); r == nil {
				t.Fatal("Allow of a conflicting pattern did not panic")
			}
		}()
		g.Allow(window.DuringOpen, "GET /healthz")
	}()
	// The gate keeps its own copy of the schedule.
	g2, _ := window.NewGate(window.GateOptions{Schedule: good, Clock: mockAt(kst(t, "2021-07-13T00:00"))})
	good.Openings[0].Booking.Start = kst(t, "2021-07-14T00:00")
	if st, _ := g2.State(context.Background(), kst(t, "2021-07-13T00:00")); st.Phase != window.Open {
		t.Fatalf("gate saw the caller's change to its schedule: %v", st.Phase)
	}
}

// TestAllowanceString covers the names.
func TestAllowanceString(t *testing.T) {
	for a, want := range map[window.Allowance]string{
		window.Always:        "always",
		window.OperatorsOnly: "operators_only",
		window.DuringPreQueue | window.DuringOpen: "pre_queue|open",
		window.AnyPhase: "not_yet|pre_queue|open|closed",
		window.DuringClosed | window.DuringMaintenance: "closed|maintenance",
		0: "none",
	} {
		if got := a.String(); got != want {
			t.Errorf("%#x: %q, want %q", uint8(a), got, want)
		}
	}
}

// TestGuardConcurrent runs many requests while the switch flips, under
// -race: each answer is one of the two legal ones, and none reaches the
// handler while refused.
func TestGuardConcurrent(t *testing.T) {
	sw := window.NewMemorySwitch(false)
	var served, refused atomic.Int64
	g, err := window.NewGate(window.GateOptions{Schedule: july2021(t), Switch: sw, Clock: mockAt(kst(t, "2021-07-13T00:00")),
		Observer: func(d window.Event) {
			if !d.Allowed {
				refused.Add(1)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	g.Allow(window.DuringOpen, "POST /api/book/{slot}")
	h := g.Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { served.Add(1) }))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 200 {
			sw.Set(context.Background(), i%2 == 0)
		}
	}()
	const workers, each = 8, 200
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			for i := range each {
				rec := serve(h, httptest.NewRequest("POST", "/api/book/"+strconv.Itoa(w*each+i), nil))
				if rec.Code != 200 && rec.Code != 503 {
					errs <- fmt.Errorf("status %d", rec.Code)
					return
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	<-done
	if served.Load()+refused.Load() != workers*each {
		t.Fatalf("served %d + refused %d != %d", served.Load(), refused.Load(), workers*each)
	}
}

// TestRouteMemo checks that remembering ServeMux's answers never changes
// one: after a later Allow, past the memo's size, and for keys too long to
// remember.
func TestRouteMemo(t *testing.T) {
	g, err := window.NewGate(window.GateOptions{Schedule: july2021(t)})
	if err != nil {
		t.Fatal(err)
	}
	g.Allow(window.Always, "GET /static/")
	g.Allow(window.DuringOpen, "POST /api/book/{slot}")
	classify := func(method, target string) string {
		_, p := g.Classify(httptest.NewRequest(method, target, nil))
		return p
	}
	for range 2 { // a miss, then a hit
		if p := classify("GET", "/static/special.css"); p != "GET /static/" {
			t.Fatalf("got %q", p)
		}
	}
	g.Allow(window.DuringOpen, "GET /static/special.css")
	if p := classify("GET", "/static/special.css"); p != "GET /static/special.css" {
		t.Fatalf("after a more specific Allow: %q", p)
	}
	for i := range 5000 {
		if p := classify("POST", "/api/book/"+strconv.Itoa(i)); p != "POST /api/book/{slot}" {
			t.Fatalf("request %d: %q", i, p)
		}
		if p := classify("GET", "/api/book/"+strconv.Itoa(i)); p != "" {
			t.Fatalf("GET request %d: %q", i, p)
		}
	}
	long := "/static/" + strings.Repeat("a", 300)
	for range 2 {
		if p := classify("GET", long); p != "GET /static/" {
			t.Fatalf("long path: %q", p)
		}
	}
	// Escaped paths are told apart as ServeMux tells them apart.
	if p := classify("POST", "/api/book/a%2Fb"); p != "POST /api/book/{slot}" {
		t.Fatalf("escaped slash: %q", p)
	}
	if p := classify("POST", "/api/book/a/b"); p != "" {
		t.Fatalf("two segments: %q", p)
	}
}
