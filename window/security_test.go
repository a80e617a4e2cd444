package window_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/internal/httpsec"
	"github.com/gatehouse-go/gatehouse/window"
)

// The gate's part of the HTTP security matrix: raw request-targets never
// reach a route the phase closes, and an operator token has exactly one
// accepted spelling.

// TestGuardRawTargets sends every raw spelling of each route that is closed
// before the opening, over a real connection, before the opening: none
// reaches the route's handler.
func TestGuardRawTargets(t *testing.T) {
	_, h, hits := newApp(t, window.GateOptions{Clock: mockAt(kst(t, "2021-07-12T18:00"))})
	srv := httptest.NewServer(h)
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	for _, r := range appRoutes {
		if r.allow.Allows(window.NotYet) {
			continue
		}
		for name, target := range httpsec.RawTargets(r.path) {
			resp, body, err := httpsec.Send(addr, r.method, target, nil, "")
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode < 300 {
				t.Errorf("%s %s (%s) before the opening: %d %s", r.method, target, name, resp.StatusCode, body)
			}
		}
		if n := hits[r.pattern].Load(); n != 0 {
			t.Errorf("%s was served %d times before the opening through raw targets", r.pattern, n)
		}
	}
}

// TestOperatorTokenHasOneEncoding: an operator token verifies only as
// issued; every respelling a lenient base64 decoder would accept is
// refused, by the keyring and by Guard (header and cookie).
func TestOperatorTokenHasOneEncoding(t *testing.T) {
	now := kst(t, "2021-07-12T18:00")
	k, err := window.NewKeyring(testKey("enc"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := k.Issue(now, "night-shift", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.Verify(now, tok); err != nil {
		t.Fatal(err)
	}
	_, h, hits := newApp(t, window.GateOptions{Clock: mockAt(now), Operators: k, OperatorCookie: "op"})
	variants := httpsec.TokenVariants(tok)
	if len(variants) < 4 {
		t.Fatalf("only %d variants", len(variants))
	}
	for _, v := range variants {
		if _, err := k.Verify(now, v); err == nil {
			t.Errorf("Verify accepted %q, a respelling of %q", v, tok)
		}
		if strings.TrimSpace(v) == tok {
			continue // HTTP trims header values
		}
		for _, via := range []string{"header", "cookie"} {
			req := httptest.NewRequest("POST", "/admin/maintenance", nil)
			if via == "header" {
				req.Header.Set("Authorization", "Operator "+v)
			} else {
				req.AddCookie(&http.Cookie{Name: "op", Value: v})
			}
			if w := serve(h, req); w.Code < 300 {
				t.Errorf("Guard let an operator through with %q in the %s: %d", v, via, w.Code)
			}
		}
	}
	if n := hits["/admin/"].Load(); n != 0 {
		t.Errorf("the operator console was served %d times", n)
	}
}
