package eligibility

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/gatehouse-go/gatehouse/window/problem"
)

func newTestHandler(t *testing.T, at time.Time) (*Handler, *clock.Mock) {
	t.Helper()
	c, err := LoadFile("testdata/korea-2021-07.json")
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewMock()
	clk.Set(at)
	h, err := NewHandler(c, HandlerOptions{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	return h, clk
}

func post(h http.Handler, contentType, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/eligibility", strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func TestHandlerDecides(t *testing.T) {
	h, clk := newTestHandler(t, kst(7, 20, 2, 30))
	rec := post(h, "application/json", `{"birth_date":"1967-03-04"}`)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("%d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	want := `{"status":"open","reason":"window_open","cohort":"53-54","opens_at":"2021-07-19T20:00:00+09:00","closes_at":"2021-07-20T18:00:00+09:00","at":"2021-07-20T02:30:00+09:00"}` + "\n"
	if rec.Body.String() != want {
		t.Fatalf("got  %swant %s", rec.Body, want)
	}
	// The clock moves; so does the answer.
	clk.Set(kst(7, 20, 18, 0))
	rec = post(h, "application/json; charset=utf-8", ` {"birth_date" : "1967-03-04"} `)
	var d Decision
	if err := json.Unmarshal(rec.Body.Bytes(), &d); err != nil || d.Status != StatusNotYet || d.Cohort != "50-54" {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	// Not eligible is an answer, not an error.
	rec = post(h, "", `{"birth_date":"1990-01-01"}`)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"status":"not_eligible"`) {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

func TestHandlerRefuses(t *testing.T) {
	h, _ := newTestHandler(t, kst(7, 20, 2, 30))
	cases := []struct {
		name, method, contentType, body string
		status                          int
		code, field                     string
	}{
		{"GET", http.MethodGet, "", "", 405, "method_not_allowed", ""},
		{"PUT", http.MethodPut, "application/json", `{"birth_date":"1967-03-04"}`, 405, "method_not_allowed", ""},
		{"form", http.MethodPost, "application/x-www-form-urlencoded", "birth_date=1967-03-04", 415, "unsupported_media_type", ""},
		{"text/plain", http.MethodPost, "text/plain", `{"birth_date":"1967-03-04"}`, 415, "unsupported_media_type", ""},
		{"bad media type", http.MethodPost, "application/json; =", `{"birth_date":"1967-03-04"}`, 415, "unsupported_media_type", ""},
		{"too large", http.MethodPost, "application/json", `{"birth_date":"1967-03-04"` + strings.Repeat(" ", DefaultMaxBodyBytes) + `}`, 413, "body_too_large", ""},
		{"empty", http.MethodPost, "application/json", "", 400, "invalid_json", ""},
		{"not JSON", http.MethodPost, "application/json", "birth_date=1967-03-04", 400, "invalid_json", ""},
		{"truncated", http.MethodPost, "application/json", `{"birth_date":"1967-03-04"`, 400, "invalid_json", ""},
		{"array", http.MethodPost, "application/json", `["1967-03-04"]`, 400, "invalid_json", ""},
		{"unknown field", http.MethodPost, "application/json", `{"birth_date":"1967-03-04","name":"Kim"}`, 400, "invalid_json", "name"},
		{"duplicate", http.MethodPost, "application/json", `{"birth_date":"1990-01-01","birth_date":"1967-03-04"}`, 400, "invalid_json", "birth_date"},
		{"trailing", http.MethodPost, "application/json", `{"birth_date":"1967-03-04"}{}`, 400, "invalid_json", ""},
		{"missing", http.MethodPost, "application/json", `{}`, 400, "invalid_json", "birth_date"},
		{"number", http.MethodPost, "application/json", `{"birth_date":19670304}`, 400, "invalid_json", "birth_date"},
		{"null", http.MethodPost, "application/json", `{"birth_date":null}`, 400, "invalid_json", "birth_date"},
		{"30 February", http.MethodPost, "application/json", `{"birth_date":"1967-02-30"}`, 422, "invalid_birth_date", "birth_date"},
		{"29 February 2021", http.MethodPost, "application/json", `{"birth_date":"2021-02-29"}`, 422, "invalid_birth_date", "birth_date"},
		{"with time", http.MethodPost, "application/json", `{"birth_date":"1967-03-04T00:00:00Z"}`, 422, "invalid_birth_date", "birth_date"},
		{"invalid UTF-8", http.MethodPost, "application/json", "{\"birth_date\":\"1967-03-04\xff\"}", 400, "invalid_json", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(c.method, "/eligibility", strings.NewReader(c.body))
			if c.contentType != "" {
				r.Header.Set("Content-Type", c.contentType)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != c.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, c.status, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != problem.ContentType {
				t.Fatalf("content type %q", ct)
			}
			var m map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
				t.Fatal(err)
			}
			if m["status"] != float64(c.status) || m["code"] != c.code || m["instance"] != "/eligibility" || m["detail"] == "" {
				t.Fatalf("problem %v", m)
			}
			if f, _ := m["field"].(string); f != c.field {
				t.Fatalf("field %q, want %q: %v", f, c.field, m)
			}
			if c.status == 405 && rec.Header().Get("Allow") != http.MethodPost {
				t.Fatalf("Allow %q", rec.Header().Get("Allow"))
			}
			if strings.Contains(m["detail"].(string), "eligibility:") {
				t.Fatalf("detail carries a Go package prefix: %q", m["detail"])
			}
		})
	}
}

func TestNewHandlerOptions(t *testing.T) {
	if _, err := NewHandler(nil, HandlerOptions{}); err == nil {
		t.Fatal("nil campaign accepted")
	}
	c := mustNew(t, july2021Config())
	if _, err := NewHandler(c, HandlerOptions{MaxBodyBytes: -1}); err == nil {
		t.Fatal("negative limit accepted")
	}
	h, err := NewHandler(c, HandlerOptions{MaxBodyBytes: 10})
	if err != nil {
		t.Fatal(err)
	}
	if rec := post(h, "", `{"birth_date":"1967-03-04"}`); rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("limit not applied: %d", rec.Code)
	}
	// The zero options use the real clock: today, July 2021 is over.
	h, err = NewHandler(c, HandlerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rec := post(h, "", `{"birth_date":"1967-03-04"}`); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"status":"closed"`) {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}
