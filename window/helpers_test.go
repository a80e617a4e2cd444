package window_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/gatehouse-go/gatehouse/window"
)

var seoul = window.MustLoadZone("Asia/Seoul")

// kst resolves a civil time written "2006-01-02T15:04" in Asia/Seoul.
func kst(t testing.TB, s string) time.Time {
	t.Helper()
	c, err := window.ParseCivil(s)
	if err != nil {
		t.Fatal(err)
	}
	v, err := window.Resolve(c, seoul, window.Reject)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// july2021 is the 55-59 cohort's first opening and the 53-54 cohort's, each
// with a waiting room from an hour (or half an hour) before.
func july2021(t testing.TB) window.Schedule {
	t.Helper()
	mk := func(pre, start, end string) window.Opening {
		w, err := window.New(kst(t, start), kst(t, end))
		if err != nil {
			t.Fatal(err)
		}
		return window.Opening{PreQueue: kst(t, pre), Booking: w}
	}
	s := window.Schedule{Zone: seoul, Openings: []window.Opening{
		mk("2021-07-12T19:00", "2021-07-12T20:00", "2021-07-17T18:00"),
		mk("2021-07-19T19:30", "2021-07-19T20:00", "2021-07-20T18:00"),
	}}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	return s
}

// testKey is a fixed operator key for tests.
func testKey(id string) window.OperatorKey {
	return window.OperatorKey{ID: id, Secret: []byte(strings.Repeat(id+"-secret-", 8))[:32]}
}

// unavailableSwitch is a switch whose store is down.
type unavailableSwitch struct{}

func (unavailableSwitch) On(context.Context) (bool, error) {
	return true, fmt.Errorf("%w: connection refused", window.ErrSwitchUnavailable)
}
func (unavailableSwitch) Set(context.Context, bool) error { return window.ErrSwitchUnavailable }

// mockAt returns a mock clock set to t.
func mockAt(t time.Time) *clock.Mock {
	m := clock.NewMock()
	m.Set(t)
	return m
}

// problemBody decodes a problem+json response, failing on another type.
func problemBody(t testing.TB, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json (status %d, body %s)", ct, rec.Code, rec.Body)
	}
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("body %q: %v", rec.Body, err)
	}
	if int(m["status"].(float64)) != rec.Code {
		t.Fatalf("problem status %v, response status %d", m["status"], rec.Code)
	}
	return m
}

// serve sends one request through h.
func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}
