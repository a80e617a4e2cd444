package window_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-go/gatehouse/window"
)

// Resolve refuses a civil time that does not exist, unless told what to do.
func ExampleResolve() {
	ny := window.MustLoadZone("America/New_York")
	// Clocks in New York jumped from 02:00 to 03:00 on 14 March 2021.
	c := window.Date(2021, time.March, 14).At(2, 30, 0)
	_, err := window.Resolve(c, ny, window.Reject)
	fmt.Println(errors.Is(err, window.ErrNonexistentTime))
	for _, d := range []window.Disambiguation{window.Compatible, window.Earlier, window.Later} {
		t, _ := window.Resolve(c, ny, d)
		fmt.Println(d, t.Format(time.RFC3339))
	}
	// Output:
	// true
	// compatible 2021-03-14T03:30:00-04:00
	// earlier 2021-03-14T01:30:00-05:00
	// later 2021-03-14T03:30:00-04:00
}

// A window is half-open: open at its start exactly, closed at its end.
func ExampleWindow_Contains() {
	seoul := window.MustLoadZone("Asia/Seoul")
	w, err := window.FromCivil(seoul,
		window.Date(2021, time.July, 12).At(20, 0, 0),
		window.Date(2021, time.July, 17).At(18, 0, 0), window.Reject)
	if err != nil {
		panic(err)
	}
	fmt.Println(w)
	fmt.Println(w.Contains(w.Start.Add(-time.Nanosecond)), w.Contains(w.Start), w.Contains(w.End))
	// The same instant, written in another zone, gets the same answer.
	fmt.Println(w.Contains(time.Date(2021, time.July, 12, 11, 0, 0, 0, time.UTC)))
	// Output:
	// [2021-07-12T20:00:00+09:00, 2021-07-17T18:00:00+09:00)
	// false true false
	// true
}

// A schedule says the phase at any instant, and when it changes next.
func ExampleSchedule_At() {
	seoul := window.MustLoadZone("Asia/Seoul")
	booking, _ := window.FromCivil(seoul,
		window.Date(2021, time.July, 12).At(20, 0, 0),
		window.Date(2021, time.July, 17).At(18, 0, 0), window.Reject)
	s := window.Schedule{Zone: seoul, Openings: []window.Opening{
		{PreQueue: booking.Start.Add(-time.Hour), Booking: booking},
	}}
	for _, at := range []time.Time{booking.Start.Add(-2 * time.Hour), booking.Start.Add(-time.Minute), booking.Start, booking.End} {
		st := s.At(at)
		fmt.Printf("%s: %s, next change %s\n", at.In(seoul).Format("Jan 2 15:04"), st.Phase, st.Next.Format("Jan 2 15:04"))
	}
	// Output:
	// Jul 12 18:00: not_yet, next change Jul 12 19:00
	// Jul 12 19:59: pre_queue, next change Jul 12 20:00
	// Jul 12 20:00: open, next change Jul 17 18:00
	// Jul 17 18:00: closed, next change Jan 1 00:00
}

// The gate wraps the whole mux and refuses every route that is not
// allowed in the current phase, including one nobody classified.
func ExampleGate_Guard() {
	seoul := window.MustLoadZone("Asia/Seoul")
	booking, _ := window.FromCivil(seoul,
		window.Date(2021, time.July, 12).At(20, 0, 0),
		window.Date(2021, time.July, 17).At(18, 0, 0), window.Reject)
	clk := clock.NewMock()
	clk.Set(booking.Start.Add(-30 * time.Minute)) // 19:30, half an hour early
	gate, err := window.NewGate(window.GateOptions{
		Schedule: window.Schedule{Zone: seoul, Openings: []window.Opening{{Booking: booking}}},
		Clock:    clk,
	})
	if err != nil {
		panic(err)
	}
	gate.Allow(window.Always, "GET /healthz")
	gate.Allow(window.DuringOpen, "POST /api/book")

	mux := http.NewServeMux()
	ok := func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }
	mux.HandleFunc("GET /healthz", ok)
	mux.HandleFunc("POST /api/book", ok)
	mux.HandleFunc("GET /booking-form", ok) // the back door: never classified
	srv := httptest.NewServer(gate.Guard(mux))
	defer srv.Close()

	try := func(method, path string) {
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		line := fmt.Sprint(clk.Now().In(seoul).Format("15:04"), " ", method, " ", path, " ", resp.StatusCode)
		if ra := resp.Header.Get("Retry-After"); ra != "" {
			line += " Retry-After: " + ra
		}
		fmt.Println(line)
	}
	try("GET", "/healthz")
	try("POST", "/api/book")
	try("GET", "/booking-form")
	clk.Set(booking.Start)
	try("POST", "/api/book")
	try("GET", "/booking-form")

	// The refusal is an RFC 9457 problem.
	clk.Set(booking.Start.Add(-30 * time.Minute))
	rec := httptest.NewRecorder()
	gate.Guard(mux).ServeHTTP(rec, httptest.NewRequest("POST", "/api/book", nil))
	fmt.Print(rec.Header().Get("Content-Type"), "\n", rec.Body.String())
	// Output:
	// 19:30 GET /healthz 200
	// 19:30 POST /api/book 403 Retry-After: 1800
	// 19:30 GET /booking-form 404
	// 20:00 POST /api/book 200
	// 20:00 GET /booking-form 404
	// application/problem+json
	// {"closes_at":"2021-07-17T18:00:00+09:00","code":"not_yet","detail":"Booking opens at 2021-07-12T20:00:00+09:00.","instance":"/api/book","opens_at":"2021-07-12T20:00:00+09:00","phase":"not_yet","status":403,"title":"Not open yet","type":"https://github.com/gatehouse-go/gatehouse/blob/main/docs/problems.md#window-not_yet"}
}

// The booking path checks the window again at the instant it books.
func ExampleGate_Require() {
	seoul := window.MustLoadZone("Asia/Seoul")
	booking, _ := window.FromCivil(seoul,
		window.Date(2021, time.July, 12).At(20, 0, 0),
		window.Date(2021, time.July, 17).At(18, 0, 0), window.Reject)
	maintenance := window.NewMemorySwitch(false)
	gate, _ := window.NewGate(window.GateOptions{
		Schedule: window.Schedule{Zone: seoul, Openings: []window.Opening{{Booking: booking}}},
		Switch:   maintenance,
	})
	ctx := context.Background()
	book := func(now time.Time) {
		err := gate.Require(ctx, now)
		var ref *window.Refusal
		switch {
		case err == nil:
			fmt.Println("booked")
		case errors.Is(err, window.ErrNotOpen) && errors.As(err, &ref):
			fmt.Println("not open; opens", ref.OpensAt.Format(time.RFC3339))
		case errors.Is(err, window.ErrMaintenance):
			fmt.Println("maintenance")
		case errors.Is(err, window.ErrClosed):
			fmt.Println("closed")
		}
	}
	book(booking.Start.Add(-time.Nanosecond))
	book(booking.Start)
	maintenance.Set(ctx, true)
	book(booking.Start)
	maintenance.Set(ctx, false)
	book(booking.End)
	// Output:
	// not open; opens 2021-07-12T20:00:00+09:00
	// booked
	// maintenance
	// closed
}

// Operator tokens are signed with one key; several may be accepted while
// keys rotate.
func ExampleKeyring() {
	oldKey := window.OperatorKey{ID: "2021-06", Secret: []byte("an old secret of at least 32 bytes...")}
	newKey := window.OperatorKey{ID: "2021-07", Secret: []byte("a new secret of at least 32 bytes....")}
	keys, err := window.NewKeyring(newKey, oldKey) // sign with the new, accept both
	if err != nil {
		panic(err)
	}
	now := time.Date(2021, time.July, 12, 11, 0, 0, 0, time.UTC)
	token, _ := keys.Issue(now, "night-shift", 8*time.Hour)
	op, err := keys.Verify(now.Add(time.Hour), token)
	fmt.Println(op.Name, op.KeyID, op.Expires.Format(time.RFC3339), err)
	_, err = keys.Verify(now.Add(8*time.Hour), token)
	fmt.Println(errors.Is(err, window.ErrTokenExpired))
	_, err = keys.Verify(now, token[:len(token)-1]+"x")
	fmt.Println(errors.Is(err, window.ErrInvalidToken))
	// Output:
	// night-shift 2021-07 2021-07-12T19:00:00Z <nil>
	// true
	// true
}

// Every server instance shares the maintenance switch through Redis. (Not
// run: it needs a Redis server.)
func ExampleNewRedisSwitch() {
	rdb := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{"127.0.0.1:7000"}, ContextTimeoutEnabled: true})
	defer rdb.Close()
	sw, err := window.NewRedisSwitch(rdb, window.RedisOptions{Prefix: "campaign-2021:"})
	if err != nil {
		panic(err)
	}
	defer sw.Close()
	// An operator console turns maintenance on; every instance's gate
	// refuses within the TTL (1 s), in practice at once.
	if err := sw.Set(context.Background(), true); err != nil {
		fmt.Println("could not switch:", err)
	}
}

// One registration classifies a route on the gate and mounts it: there is
// no way to mount a handler the gate does not know.
func ExampleGate_NewMux() {
	seoul := window.MustLoadZone("Asia/Seoul")
	booking, _ := window.FromCivil(seoul,
		window.Date(2021, time.July, 12).At(20, 0, 0),
		window.Date(2021, time.July, 17).At(18, 0, 0), window.Reject)
	clk := clock.NewMock()
	clk.Set(booking.Start.Add(-time.Minute))
	gate, _ := window.NewGate(window.GateOptions{
		Schedule: window.Schedule{Zone: seoul, Openings: []window.Opening{{Booking: booking}}},
		Clock:    clk,
	})
	mux := gate.NewMux()
	mux.HandleFunc(window.Always, "GET /healthz", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc(window.DuringOpen, "POST /book", func(w http.ResponseWriter, r *http.Request) {})
	for _, req := range []string{"GET /healthz", "POST /book", "GET /book", "GET /admin"} {
		method, path, _ := strings.Cut(req, " ")
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		fmt.Println(req, rec.Code)
	}
	// Output:
	// GET /healthz 200
	// POST /book 403
	// GET /book 405
	// GET /admin 404
}
