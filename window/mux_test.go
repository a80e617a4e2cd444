package window_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse-go/gatehouse/window"
)

// TestMux: one registration classifies and mounts; a route registered
// through a Mux is open exactly in its phases, and a registration without a
// class (or with a nil handler) is refused at once, not at run time.
func TestMux(t *testing.T) {
	clk := mockAt(kst(t, "2021-07-12T19:30"))
	g, err := window.NewGate(window.GateOptions{Schedule: july2021(t), Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	mux := g.NewMux()
	mux.HandleFunc(window.Always, "GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	mux.HandleFunc(window.DuringOpen, "POST /book", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "booked") })
	do := func(method, path string) (int, string) {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		return rec.Code, rec.Body.String()
	}
	if code, body := do("GET", "/healthz"); code != 200 || body != "ok" {
		t.Fatalf("healthz: %d %q", code, body)
	}
	if code, _ := do("POST", "/book"); code != 403 {
		t.Fatalf("booking before the opening: %d", code)
	}
	if a, p := g.Classify(httptest.NewRequest("POST", "/book", nil)); a != window.DuringOpen || p != "POST /book" {
		t.Fatalf("not classified on the gate: %v %q", a, p)
	}
	clk.Add(30 * 60e9)
	if code, body := do("POST", "/book"); code != 200 || body != "booked" {
		t.Fatalf("booking once open: %d %q", code, body)
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/book", nil))
	if rec.Code != 405 || rec.Header().Get("Allow") != "POST" {
		t.Fatalf("wrong method: %d Allow %q", rec.Code, rec.Header().Get("Allow"))
	}
	for name, f := range map[string]func(){
		"no class":    func() { mux.HandleFunc(0, "GET /x", func(http.ResponseWriter, *http.Request) {}) },
		"nil handler": func() { mux.Handle(window.Always, "GET /y", nil) },
		"conflict":    func() { mux.HandleFunc(window.Always, "GET /healthz", func(http.ResponseWriter, *http.Request) {}) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: registered", name)
				}
			}()
			f()
		}()
	}
}
