package problem

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"
)

func TestWrite(t *testing.T) {
	rec := httptest.NewRecorder()
	Write(rec, Problem{Status: 503, Detail: "down", Extensions: map[string]any{"phase": "maintenance"}}, 1500*time.Millisecond)
	if rec.Code != 503 {
		t.Fatalf("status %d", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != ContentType {
		t.Fatalf("content type %q", ct)
	}
	if ra := rec.Header().Get("Retry-After"); ra != "2" {
		t.Fatalf("Retry-After %q, want 2 (rounded up)", ra)
	}
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if m["title"] != "Service Unavailable" || m["status"] != float64(503) || m["detail"] != "down" || m["phase"] != "maintenance" {
		t.Fatalf("body %v", m)
	}
	if _, ok := m["type"]; ok {
		t.Fatal("empty type written")
	}
}

func TestNoRetryAfterWhenZero(t *testing.T) {
	rec := httptest.NewRecorder()
	Write(rec, Problem{Status: 403}, 0)
	if ra := rec.Header().Get("Retry-After"); ra != "" {
		t.Fatalf("Retry-After %q", ra)
	}
}
