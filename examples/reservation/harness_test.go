package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-go/gatehouse/window"
)

// t0 is when test servers start: the demo campaign's waiting room opens
// then, in Seoul.
var t0 = time.Date(2021, 7, 19, 19, 0, 0, 0, window.MustLoadZone("Asia/Seoul"))

// testServer is a server on a mock clock behind an httptest.Server.
type testServer struct {
	t     testing.TB
	s     *server
	clk   *clock.Mock
	ts    *httptest.Server
	url   string
	start time.Time
}

var namespaceSeq atomic.Int64

// newTestServer starts a demo server at t0 whose booking opens an hour
// later. mod may change the configuration first.
func newTestServer(t testing.TB, mod func(*config)) *testServer {
	t.Helper()
	clk := clock.NewMock()
	clk.Set(t0)
	cfg := defaultConfig()
	cfg.Clock = clk
	cfg.OpensIn = time.Hour
	cfg.ClientLimit = 0
	cfg.Secret = bytes.Repeat([]byte{7}, 32)
	cfg.Namespace = fmt.Sprintf("t%d-%d", time.Now().UnixNano()%1e9, namespaceSeq.Add(1))
	if mod != nil {
		mod(&cfg)
	}
	s, err := newServer(cfg)
	if err != nil {
		t.Fatalf("newServer: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return &testServer{t: t, s: s, clk: clk, ts: ts, url: ts.URL, start: t0}
}

// opensAt is when booking opens.
func (ts *testServer) opensAt() time.Time { return ts.s.camp.schedule.Openings[0].Booking.Start }

// setTime moves the mock clock to t.
func (ts *testServer) setTime(t time.Time) { ts.clk.Set(t) }

// client is one person's HTTP client with its own cookie jar.
type client struct {
	t    testing.TB
	ts   *testServer
	hc   *http.Client
	pass string // set by status once admitted; sent as Authorization: Bearer when bearer is set
	// bearer sends the pass in a header instead of relying on the cookie.
	bearer bool
}

func (ts *testServer) newClient() *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: ts.t, ts: ts, hc: &http.Client{
		Jar:           jar,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// response is a finished request: status, headers and body.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body is not a JSON object (%v): %s", err, r.Body)
	}
	return m
}

func (r response) String() string {
	return fmt.Sprintf("%d %s", r.Status, bytes.TrimSpace(r.Body))
}

// do sends a request. body may be nil, a string (sent as is) or a value
// encoded as JSON. Extra headers come in pairs.
func (c *client) do(method, path string, body any, headers ...string) response {
	c.t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
		ct = "application/json"
	case []byte:
		rd = bytes.NewReader(b)
		ct = "application/json"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
		ct = "application/json"
	}
	req, err := http.NewRequest(method, c.ts.url+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("Accept", "application/json")
	if c.bearer && c.pass != "" {
		req.Header.Set("Authorization", "Bearer "+c.pass)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// must sends a request and fails the test unless the status is want.
func (c *client) must(want int, method, path string, body any, headers ...string) map[string]any {
	c.t.Helper()
	r := c.do(method, path, body, headers...)
	if r.Status != want {
		c.t.Fatalf("%s %s: got %s, want %d", method, path, r, want)
	}
	if len(bytes.TrimSpace(r.Body)) == 0 {
		return nil
	}
	return r.json(c.t)
}

// cookie returns the value of the client's cookie name, failing the test
// when it has none.
func (c *client) cookie(name string) string {
	c.t.Helper()
	u, _ := url.Parse(c.ts.url)
	for _, ck := range c.hc.Jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	c.t.Fatalf("no %s cookie", name)
	return ""
}

// admit joins the waiting room and polls, moving the clock a second at a
// time, until the room admits the person and hands out a pass.
func (c *client) admit() {
	c.t.Helper()
	c.must(http.StatusOK, "POST", "/api/queue/join", nil)
	for i := 0; c.pass == "" && i < 100; i++ {
		c.ts.setTime(c.ts.clk.Now().Add(time.Second))
		c.status()
	}
	if c.pass == "" {
		c.t.Fatal("not admitted")
	}
}

// signIn starts a session for a person.
func (c *client) signIn(name, birth string) {
	c.t.Helper()
	c.must(http.StatusOK, "POST", "/api/session", map[string]string{"name": name, "birth_date": birth})
}

// status polls the waiting room and keeps the pass once admitted.
func (c *client) status() map[string]any {
	c.t.Helper()
	m := c.must(http.StatusOK, "GET", "/api/queue/status", nil)
	if p, _ := m["pass"].(string); p != "" {
		c.pass = p
	}
	return m
}

// redisClientFor adapts a test Redis to the server's config.
func redisConfig(rdb redis.UniversalClient) func(*config) {
	return func(c *config) {
		c.Store = "redis"
		c.Redis = rdb
	}
}
