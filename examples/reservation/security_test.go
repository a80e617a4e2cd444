package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/internal/httpsec"
)

// The example's part of the HTTP security matrix: every state-changing
// endpoint sent cross-site (under every raw request-target), exactly one
// accepted encoding of each cookie, and the cookies' attributes.

// TestEveryStateChangingEndpointRefusesCrossSite sends each route of the
// route table that changes state, as a browser on another site would, with
// an operator's cookie so that the gate itself would let it through: no
// handler runs.
func TestEveryStateChangingEndpointRefusesCrossSite(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.setTime(ts.opensAt().Add(time.Minute))
	var reached []string
	ts.s.onHandle = func(p string) { reached = append(reached, p) }
	addr := strings.TrimPrefix(ts.url, "http://")
	cookie := operatorCookie + "=" + ts.s.operatorToken()
	n := 0
	for _, rt := range ts.s.table {
		method, path, _ := strings.Cut(rt.pattern, " ")
		if method == http.MethodGet || method == http.MethodHead {
			continue
		}
		path = strings.NewReplacer("{id}", "h1", "{$}", "").Replace(path)
		targets := httpsec.RawTargets(path)
		targets["canonical"] = path
		for hname, hdr := range httpsec.CrossSite() {
			for tname, target := range targets {
				h := hdr.Clone()
				h.Set("Cookie", cookie)
				h.Set("Content-Type", "application/json")
				resp, body, err := httpsec.Send(addr, method, target, h, "{}")
				if err != nil {
					t.Fatal(err)
				}
				n++
				if resp.StatusCode < 300 {
					t.Errorf("cross-site (%s) %s %s (%s): %d %s", hname, method, target, tname, resp.StatusCode, body)
				}
			}
		}
	}
	if n < 50 {
		t.Fatalf("only %d requests sent", n)
	}
	if len(reached) > 0 {
		t.Fatalf("cross-site requests reached handlers: %v", reached)
	}
	// The same request from the site itself reaches its handler.
	resp, _, err := httpsec.Send(addr, "POST", "/api/holds", http.Header{"Sec-Fetch-Site": {"same-origin"}, "Cookie": {cookie}}, "{}")
	if err != nil || len(reached) != 1 {
		t.Fatalf("a same-origin POST /api/holds: %v, %v; reached %v", resp, err, reached)
	}
}

// TestCookiesHaveOneEncoding: the session, pass and operator cookies are
// accepted only as the server wrote them; every respelling a lenient base64
// decoder reads as the same bytes is refused.
func TestCookiesHaveOneEncoding(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.setTime(ts.opensAt().Add(time.Minute))
	c := ts.newClient()
	c.signIn("Kim Ji-woo", "1967-03-15")
	c.admit()
	session := c.cookie(sessionCookie)
	get := func(path string, cookies ...string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", ts.url+path, nil)
		req.Header.Set("Accept", "application/json")
		req.Header.Set("Cookie", strings.Join(cookies, "; "))
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		name, path, value string
		cookie            func(v string) []string
	}{
		{"session", "/api/eligibility", session, func(v string) []string { return []string{sessionCookie + "=" + v} }},
		{"pass", "/api/slots", c.pass, func(v string) []string { return []string{sessionCookie + "=" + session, passCookie + "=" + v} }},
		{"operator", "/api/operator/stats", ts.s.operatorToken(), func(v string) []string { return []string{operatorCookie + "=" + v} }},
	} {
		if code := get(tc.path, tc.cookie(tc.value)...); code != http.StatusOK {
			t.Fatalf("%s cookie as written: GET %s %d", tc.name, tc.path, code)
		}
		vs := httpsec.TokenVariants(tc.value)
		if len(vs) < 4 {
			t.Fatalf("%s: only %d variants", tc.name, len(vs))
		}
		for _, v := range vs {
			if strings.TrimSpace(v) != v {
				continue // not a valid cookie value
			}
			if code := get(tc.path, tc.cookie(v)...); code == http.StatusOK {
				t.Errorf("%s cookie respelled %q accepted by GET %s", tc.name, v, tc.path)
			}
		}
	}
}

// TestCookieAttributes: every cookie the server sets is HttpOnly,
// SameSite=Lax, Path=/, and Secure when the server is told it sits behind
// TLS.
func TestCookieAttributes(t *testing.T) {
	for _, secure := range []bool{false, true} {
		ts := newTestServer(t, func(c *config) { c.SecureCookies = secure })
		ts.setTime(ts.opensAt().Add(time.Minute))
		c := ts.newClient()
		var set []*http.Cookie
		r := c.do("POST", "/api/session", `{"name":"Kim Ji-woo","birth_date":"1967-03-15"}`)
		set = append(set, (&http.Response{Header: r.Header}).Cookies()...)
		c.must(http.StatusOK, "POST", "/api/queue/join", nil)
		for i := 0; c.pass == "" && i < 100; i++ {
			ts.setTime(ts.clk.Now().Add(time.Second))
			r := c.do("GET", "/api/queue/status", nil)
			set = append(set, (&http.Response{Header: r.Header}).Cookies()...)
			c.status()
		}
		r = c.do("POST", "/operator/signin", "token="+url.QueryEscape(ts.s.operatorToken()), "Content-Type", "application/x-www-form-urlencoded")
		set = append(set, (&http.Response{Header: r.Header}).Cookies()...)
		names := map[string]bool{}
		for _, ck := range set {
			names[ck.Name] = true
			if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Secure != secure || ck.MaxAge <= 0 {
				t.Errorf("secure=%v: cookie %s: %+v", secure, ck.Name, ck)
			}
		}
		for _, want := range []string{sessionCookie, passCookie, operatorCookie} {
			if !names[want] {
				t.Errorf("secure=%v: cookie %s never set (got %v)", secure, want, names)
			}
		}
	}
}
