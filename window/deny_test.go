package window_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/window"
	"github.com/gatehouse-go/gatehouse/window/problem"
)

// TestDenyHook checks that GateOptions.Deny receives every refusal Guard
// makes as a typed value (status, code, phase, times in the campaign's
// zone, Retry-After, the problem document) and answers instead of the
// default, and that the protected handler never runs.
func TestDenyHook(t *testing.T) {
	for _, tc := range []struct {
		name   string
		at     string
		sw     window.Switch
		path   string
		status int
		code   string
		phase  string
		retry  time.Duration
	}{
		{"not yet", "2021-07-12T18:00", nil, "/api/book", 403, problem.CodeNotYet, "not_yet", 2 * time.Hour},
		{"maintenance", "2021-07-13T02:30", window.NewMemorySwitch(true), "/api/book", 503, problem.CodeMaintenance, "maintenance", time.Minute},
		{"outage", "2021-07-13T02:30", unavailableSwitch{}, "/api/book", 503, problem.CodeOutage, "maintenance", 5 * time.Second},
		{"closed", "2021-07-21T09:00", nil, "/api/book", 403, problem.CodeClosed, "closed", 0},
		{"unclassified", "2021-07-13T02:30", nil, "/booking-form", 404, problem.CodeNotFound, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got *problem.Refusal
			var ev window.Event
			_, h, hits := newApp(t, window.GateOptions{Clock: mockAt(kst(t, tc.at)), Switch: tc.sw,
				Observer: func(e window.Event) { ev = e },
				Deny: func(w http.ResponseWriter, r *http.Request, ref *problem.Refusal) {
					got = ref
					w.Header().Set("Content-Type", "text/html")
					w.WriteHeader(ref.Status)
					w.Write([]byte("<p>refused</p>"))
				}})
			rec := serve(h, httptest.NewRequest("POST", "http://example.com"+tc.path, nil))
			if got == nil {
				t.Fatalf("deny hook not called; status %d", rec.Code)
			}
			if rec.Code != tc.status || rec.Body.String() != "<p>refused</p>" {
				t.Fatalf("answer %d %q, want the hook's", rec.Code, rec.Body)
			}
			if got.Status != tc.status || got.Code != tc.code || got.Phase != tc.phase || got.RetryAfter != tc.retry {
				t.Errorf("refusal %+v, want status %d code %s phase %q retry %v", got, tc.status, tc.code, tc.phase, tc.retry)
			}
			if got.Problem.Type != problem.TypeURI("window", tc.code) || got.Problem.Code() != tc.code || got.Problem.Status != tc.status {
				t.Errorf("problem %+v", got.Problem)
			}
			if tc.phase != "" && got.OpensAt.Location().String() != "Asia/Seoul" {
				t.Errorf("opens at %v, want the campaign's zone", got.OpensAt)
			}
			// The observer's event has the shape every package's has.
			if ev.Op != window.OpGuard || ev.Err == nil || ev.Status != tc.status || ev.Allowed {
				t.Errorf("event %+v", ev)
			}
			if tc.code == problem.CodeNotFound && !errors.Is(ev.Err, window.ErrNoRoute) ||
				tc.code == problem.CodeMaintenance && !errors.Is(ev.Err, window.ErrMaintenance) {
				t.Errorf("event error %v", ev.Err)
			}
			for p, n := range hits {
				if n.Load() != 0 {
					t.Errorf("%s served", p)
				}
			}
		})
	}
}
