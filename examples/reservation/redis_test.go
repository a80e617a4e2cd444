package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/internal/redistest"
)

// TestRedis runs the server on -store redis: the API flow and the browser
// flow on one standalone Redis (each server in its own namespace), the API
// flow on a three-node Redis Cluster, and a Redis outage, during which
// everything fails closed and after which the line and the bookings are
// intact.
func TestRedis(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{AOF: true}) // a booking must survive the outage below
	rdb := srv.Client()

	t.Run("api", func(t *testing.T) {
		apiFlow(t, newTestServer(t, redisConfig(rdb)))
	})
	t.Run("browser", func(t *testing.T) {
		browserFlow(t, newTestServer(t, func(c *config) {
			redisConfig(rdb)(c)
			browserConfig(c)
		}))
	})
	t.Run("cluster api", func(t *testing.T) {
		cl := redistest.StartCluster(t, redistest.Options{})
		apiFlow(t, newTestServer(t, redisConfig(cl.Client())))
	})
	t.Run("outage", func(t *testing.T) {
		redisOutage(t, srv)
	})
}

// redisOutage kills Redis while people wait and book: every request that
// needs the store is refused (503 with Retry-After, the gate counting the
// unreadable maintenance switch as on), nobody is admitted or booked, and
// the health check still answers. After a restart the same people find
// their place and their booking.
func redisOutage(t *testing.T, srv *redistest.Server) {
	ts := newTestServer(t, redisConfig(srv.Client()))
	a, b := ts.newClient(), ts.newClient()
	a.signIn("Seo Ye-jin", "1966-06-06")
	b.signIn("Moon Tae-oh", "1966-07-07")
	a.must(http.StatusOK, "POST", "/api/queue/join", nil)
	b.must(http.StatusOK, "POST", "/api/queue/join", nil)
	ts.setTime(ts.opensAt())
	a.status()
	hold := a.must(http.StatusCreated, "POST", "/api/holds", `{"slot":"riverside-1400"}`)["hold"].(map[string]any)
	a.must(http.StatusOK, "POST", "/api/holds/"+hold["id"].(string)+"/confirm", nil)

	srv.Kill()
	ts.setTime(ts.clk.Now().Add(2 * time.Second)) // past the switch's cached answer
	for _, c := range []struct {
		who          *client
		method, path string
		body         any
	}{
		{b, "GET", "/api/queue/status", nil},
		{b, "POST", "/api/queue/join", nil},
		{a, "GET", "/api/slots", nil},
		{a, "POST", "/api/bookings/me/move", `{"slot":"city-hall-0900"}`},
		{a, "GET", "/api/bookings/me", nil},
		{a, "GET", "/", nil},
	} {
		r := c.who.do(c.method, c.path, c.body)
		if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
			t.Errorf("%s %s with Redis down: %s", c.method, c.path, r)
		}
	}
	if r := a.do("GET", "/healthz", nil); r.Status != http.StatusOK {
		t.Errorf("healthz with Redis down: %s", r)
	}

	srv.Restart()
	ts.setTime(ts.clk.Now().Add(2 * time.Second)) // past the switch's retry delay
	var ok bool
	for range 50 { // the switch resubscribes in the background
		if r := a.do("GET", "/api/bookings/me", nil); r.Status == http.StatusOK {
			ok = strings.Contains(string(r.Body), `"riverside-1400"`)
			break
		}
		time.Sleep(50 * time.Millisecond)
		ts.setTime(ts.clk.Now().Add(300 * time.Millisecond))
	}
	if !ok {
		t.Fatal("the booking is not back after Redis restarted")
	}
	if st := b.status(); st["state"] != "admitted" {
		t.Fatalf("b after the outage: %v", st)
	}
	if av := availabilityOf(t, b, "riverside-1400"); av["booked"].(float64) != 1 || av["held"].(float64) != 0 {
		t.Fatalf("riverside-1400 after the outage: %v", av)
	}
	checkSnapshot(t, ts)
}
