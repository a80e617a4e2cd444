package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

func call(t *testing.T, h http.Handler, method, path, user, pass, key string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	if user != "" {
		r.SetBasicAuth(user, "")
	}
	if pass != "" {
		r.Header.Set("Gatehouse-Pass", pass) // Authorization carries basic auth, the identity
	}
	if key != "" {
		r.Header.Set("Idempotency-Key", key)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// TestMinimal runs the README's integration: before booking opens the
// waiting room takes people and booking is refused; once open, a person
// admitted with a pass books, once; without a pass nobody does; a route
// nobody registered does not exist.
func TestMinimal(t *testing.T) {
	h := handler(time.Now(), secret)
	if w := call(t, h, "POST", "/queue/join", "kim", "", ""); w.Code != 200 {
		t.Fatalf("join in the pre-queue: %d %s", w.Code, w.Body)
	}
	if w := call(t, h, "POST", "/book/1400", "kim", "", "k"); w.Code != 403 {
		t.Fatalf("booking before the opening: %d %s", w.Code, w.Body)
	}

	h = handler(time.Now().Add(-2*time.Minute), secret) // booking opened a minute ago
	call(t, h, "POST", "/queue/join", "kim", "", "")
	w := call(t, h, "GET", "/queue/status", "kim", "", "")
	var st struct{ State, Pass string }
	if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil || st.State != "admitted" || st.Pass == "" {
		t.Fatalf("status: %d %s", w.Code, w.Body)
	}
	if w := call(t, h, "POST", "/book/1400", "lee", "", "k1"); w.Code != 401 {
		t.Fatalf("booking without a pass: %d", w.Code)
	}
	if w := call(t, h, "POST", "/book/1400", "lee", st.Pass, "k1"); w.Code != 403 {
		t.Fatalf("booking with another person's pass: %d", w.Code)
	}
	if w := call(t, h, "POST", "/book/1400", "kim", st.Pass, "k1"); w.Code != 200 {
		t.Fatalf("booking: %d %s", w.Code, w.Body)
	}
	if w := call(t, h, "POST", "/book/1400", "kim", st.Pass, "k2"); w.Code != 409 {
		t.Fatalf("booking twice: %d %s", w.Code, w.Body)
	}
	if w := call(t, h, "GET", "/admin", "kim", "", ""); w.Code != 404 {
		t.Fatalf("unregistered route: %d", w.Code)
	}
}

// TestREADMEShowsIt: the README shows main.go as it is, and states its
// line count, at most 40.
func TestREADMEShowsIt(t *testing.T) {
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	n := strings.Count(string(src), "\n")
	if n > 40 {
		t.Errorf("main.go has %d lines, more than 40", n)
	}
	if !strings.Contains(string(readme), "```go\n"+string(src)+"```") {
		t.Error("README.md does not show examples/minimal/main.go as it is")
	}
	if !strings.Contains(string(readme), fmt.Sprintf("%d lines", n)) {
		t.Errorf("README.md does not state the line count (%d lines)", n)
	}
}
