package window_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/internal/redistest"
	"github.com/gatehouse-go/gatehouse/window"
)

// discardWriter is a ResponseWriter that allocates nothing, so the
// benchmarks measure the gate and not the recorder.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

func benchGate(b *testing.B, sw window.Switch, now time.Time) http.Handler {
	g, err := window.NewGate(window.GateOptions{Schedule: july2021(b), Switch: sw, Clock: mockAt(now)})
	if err != nil {
		b.Fatal(err)
	}
	g.Allow(window.Always, "GET /healthz", "GET /static/")
	g.Allow(window.DuringPreQueue|window.DuringOpen, "POST /api/queue/join")
	g.Allow(window.DuringOpen, "POST /api/book/{slot}")
	return g.Guard(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
}

func runGuard(b *testing.B, h http.Handler, method, path string, wantStatus int) {
	r := httptest.NewRequest(method, path, nil)
	w := &discardWriter{h: http.Header{}}
	rec := serve(h, httptest.NewRequest(method, path, nil))
	if rec.Code != wantStatus {
		b.Fatalf("%s %s: %d, want %d", method, path, rec.Code, wantStatus)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		h.ServeHTTP(w, r)
	}
}

// BenchmarkGuard measures the gate's decision per request, on the allow
// path (which should not allocate) and the refuse path (which writes a
// problem document).
func BenchmarkGuard(b *testing.B) {
	open := kst(b, "2021-07-13T02:30")
	early := kst(b, "2021-07-12T18:00")
	b.Run("allow/literal", func(b *testing.B) {
		runGuard(b, benchGate(b, window.NewMemorySwitch(false), open), "GET", "/healthz", 200)
	})
	b.Run("allow/prefix", func(b *testing.B) {
		runGuard(b, benchGate(b, window.NewMemorySwitch(false), open), "GET", "/static/css/app.css", 200)
	})
	b.Run("allow/wildcard", func(b *testing.B) {
		runGuard(b, benchGate(b, window.NewMemorySwitch(false), open), "POST", "/api/book/42", 200)
	})
	b.Run("allow/parallel", func(b *testing.B) {
		h := benchGate(b, window.NewMemorySwitch(false), open)
		r := httptest.NewRequest("POST", "/api/book/42", nil)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			w := &discardWriter{h: http.Header{}}
			for pb.Next() {
				h.ServeHTTP(w, r)
			}
		})
	})
	b.Run("refuse/not-yet", func(b *testing.B) {
		runGuard(b, benchGate(b, window.NewMemorySwitch(false), early), "POST", "/api/book/42", 403)
	})
	b.Run("refuse/maintenance", func(b *testing.B) {
		runGuard(b, benchGate(b, window.NewMemorySwitch(true), open), "POST", "/api/book/42", 503)
	})
	b.Run("refuse/unclassified", func(b *testing.B) {
		runGuard(b, benchGate(b, window.NewMemorySwitch(false), open), "GET", "/booking-form", 404)
	})
	if !redistest.Available() {
		return
	}
	srv := redistest.Start(b, redistest.Options{})
	c := srv.Client()
	// The Redis switch on the real clock: one GET per TTL (1 s), amortised
	// over the requests in between.
	sw, err := window.NewRedisSwitch(c, window.RedisOptions{Prefix: "bench:"})
	if err != nil {
		b.Fatal(err)
	}
	defer sw.Close()
	// cpu-x-noop here is Redis CPU per request as a ratio to one no-op
	// round trip: far below 1, since the switch is read once a second.
	b.Run("allow/redis-switch", func(b *testing.B) {
		h := benchGate(b, sw, open)
		r := httptest.NewRequest("POST", "/api/book/42", nil)
		w := &discardWriter{h: http.Header{}}
		if rec := serve(h, httptest.NewRequest("POST", "/api/book/42", nil)); rec.Code != 200 {
			b.Fatalf("POST /api/book/42: %d, want 200", rec.Code)
		}
		redistest.BenchCPU(b, c, "bench:noop", false, func(context.Context) error {
			h.ServeHTTP(w, r)
			return nil
		})
	})
}

// BenchmarkRequire measures the booking path's check.
func BenchmarkRequire(b *testing.B) {
	g, err := window.NewGate(window.GateOptions{Schedule: july2021(b)})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		at   time.Time
	}{{"open", kst(b, "2021-07-13T02:30")}, {"refused", kst(b, "2021-07-12T18:00")}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				g.Require(ctx, tc.at)
			}
		})
	}
}

// BenchmarkVerifyOperatorToken measures token verification.
func BenchmarkVerifyOperatorToken(b *testing.B) {
	kr, _ := window.NewKeyring(testKey("k1"))
	now := time.Unix(1626087600, 0)
	tok, _ := kr.Issue(now, "duty-operator", time.Hour)
	b.ReportAllocs()
	for range b.N {
		if _, err := kr.Verify(now, tok); err != nil {
			b.Fatal(err)
		}
	}
}
