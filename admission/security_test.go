package admission_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/admission"
	"github.com/gatehouse-go/gatehouse/internal/httpsec"
)

// The HTTP security matrix of the room's handlers: state-changing requests
// sent cross-site, raw request-targets, cookie attributes, and exactly one
// accepted encoding of a pass.

// TestHandlerRefusesCrossSite: join and done sent by a browser from
// another site are refused with 403 and change nothing; the same requests
// from the room's own origin, or from a client that is not a browser, go
// through.
func TestHandlerRefusesCrossSite(t *testing.T) {
	clk := newClock(time.Second)
	room := newRoom(t, admission.NewMemoryStore(), options(t, "csrf", clk, nil))
	h := room.Handler(identityFromHeader)
	alice, bob := person(1), person(2)
	mustJoin(t, room, bob)
	post := func(path, user string, hdr http.Header) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "http://room.example"+path, nil)
		req.Header.Set("X-User", user)
		for k, v := range hdr {
			req.Header[k] = v
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	for name, hdr := range httpsec.CrossSite() {
		wantProblem(t, post("/queue/join", alice, hdr), 403, "cross-site join ("+name+")")
		if _, err := room.Status(context.Background(), alice); !errors.Is(err, admission.ErrNotJoined) {
			t.Fatalf("a cross-site join (%s) joined: %v", name, err)
		}
		wantProblem(t, post("/queue/done", bob, hdr), 403, "cross-site done ("+name+")")
		if st := mustStatus(t, room, bob); st.State == admission.StateDone {
			t.Fatalf("a cross-site done (%s) ended the place", name)
		}
	}
	for name, hdr := range map[string]http.Header{
		"same origin":    {"Sec-Fetch-Site": {"same-origin"}, "Origin": {"http://room.example"}},
		"Origin == Host": {"Origin": {"http://room.example"}},
		"not a browser":  {},
	} {
		if w := post("/queue/join", alice, hdr); w.Code != 200 {
			t.Fatalf("join (%s): %d %s", name, w.Code, w.Body)
		}
	}
	if w := post("/queue/done", bob, http.Header{"Sec-Fetch-Site": {"same-origin"}}); w.Code != 200 {
		t.Fatalf("same-origin done: %d %s", w.Code, w.Body)
	}
	// Reading is not refused: a cross-site GET changes nothing.
	req := httptest.NewRequest("GET", "/queue/fairness", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != 200 {
		t.Fatalf("cross-site GET fairness: %d", w.Code)
	}
}

// TestHandlerRawTargets sends join under every raw request-target, from a
// browser on another site and from a plain client, to the handler mounted
// as documented: no spelling gets a cross-site join through, and a spelling
// that is served is served as the join it names.
func TestHandlerRawTargets(t *testing.T) {
	clk := newClock(time.Second)
	room := newRoom(t, admission.NewMemoryStore(), options(t, "raw", clk, nil))
	mux := http.NewServeMux()
	mux.Handle("/queue/", room.Handler(identityFromHeader))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	n := 100
	for name, target := range httpsec.RawTargets("/queue/join") {
		for hname, hdr := range httpsec.CrossSite() {
			n++
			h := hdr.Clone()
			h.Set("X-User", person(n))
			resp, body, err := httpsec.Send(addr, "POST", target, h, "")
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode < 300 {
				t.Errorf("cross-site (%s) POST %s (%s): %d %s", hname, target, name, resp.StatusCode, body)
			}
			if _, err := room.Status(context.Background(), person(n)); !errors.Is(err, admission.ErrNotJoined) {
				t.Errorf("cross-site (%s) POST %s (%s) joined: %v", hname, target, name, err)
			}
		}
		n++
		resp, body, err := httpsec.Send(addr, "POST", target, http.Header{"X-User": {person(n)}}, "")
		if err != nil {
			t.Fatal(err)
		}
		_, serr := room.Status(context.Background(), person(n))
		switch {
		case resp.StatusCode == 200 && serr != nil:
			t.Errorf("POST %s (%s): 200 but not joined: %v", target, name, serr)
		case resp.StatusCode != 200 && !errors.Is(serr, admission.ErrNotJoined):
			t.Errorf("POST %s (%s): %d %s, yet joined", target, name, resp.StatusCode, body)
		}
	}
}

// TestPassHasOneEncoding: a pass verifies only as issued; every other
// spelling a lenient base64 decoder would read as the same bytes is
// refused, by Verify and by Protect.
func TestPassHasOneEncoding(t *testing.T) {
	clk := newClock(time.Second)
	room := newRoom(t, admission.NewMemoryStore(), options(t, "enc", clk, nil))
	alice := person(1)
	mustJoin(t, room, alice)
	st := mustStatus(t, room, alice)
	if st.Pass == "" {
		t.Fatal("no pass")
	}
	if err := room.Verify(clk.Now(), st.Pass, alice); err != nil {
		t.Fatal(err)
	}
	h := room.Protect(booked, identityFromHeader)
	variants := httpsec.TokenVariants(st.Pass)
	if len(variants) < 4 {
		t.Fatalf("only %d variants of %q", len(variants), st.Pass)
	}
	for _, v := range variants {
		if err := room.Verify(clk.Now(), v, alice); err == nil {
			t.Errorf("Verify accepted %q, a respelling of %q", v, st.Pass)
		}
		if strings.TrimSpace(v) == st.Pass {
			continue // HTTP trims header values; the cookie below keeps it
		}
		for _, c := range []call{{pass: v}, {bearer: "Bearer " + v}, {cookie: v}} {
			c.path, c.user = "/book/", alice
			if w := do(t, h, c); w.Code != 403 && w.Code != 401 {
				t.Errorf("Protect let %+v through: %d", c, w.Code)
			}
		}
	}
}

// TestPassCookieAttributes: the pass cookie is HttpOnly, SameSite=Lax,
// Path=/, expires with the pass, and is Secure over TLS.
func TestPassCookieAttributes(t *testing.T) {
	clk := newClock(time.Second)
	room := newRoom(t, admission.NewMemoryStore(), options(t, "cookie", clk, nil))
	h := room.Handler(identityFromHeader)
	alice := person(1)
	mustJoin(t, room, alice)
	for _, tls := range []bool{false, true} {
		req := httptest.NewRequest("GET", "http://room.example/queue/status", nil)
		if tls {
			req = httptest.NewRequest("GET", "https://room.example/queue/status", nil)
		}
		req.Header.Set("X-User", alice)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		cs := w.Result().Cookies()
		if len(cs) != 1 {
			t.Fatalf("TLS %v: cookies %+v", tls, cs)
		}
		c := cs[0]
		if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure != tls || c.MaxAge <= 0 || c.MaxAge > int(time.Minute/time.Second)+1 {
			t.Errorf("TLS %v: pass cookie %+v", tls, c)
		}
	}
}
