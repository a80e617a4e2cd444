package admission_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/gatehouse-go/gatehouse/admission"
	"github.com/gatehouse-go/gatehouse/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// The Join and Status benchmarks run on the memory store and on a
// standalone Redis, each with 1 and 64 concurrent callers, and beside them
// redistest.BenchmarkNoop on the same server: a no-op script's round trip,
// the floor Redis sets. Compare redis/callers=N with noop/callers=N.
//
//	go test -run '^$' -bench 'Join|Status' -benchmem ./admission/

var benchCallers = []int{1, 64}

// benchRoom is an open room (opened an hour ago, real clock) admitting 600
// a minute: most callers wait, as in a rush.
func benchRoom(b *testing.B, store admission.Store) *admission.Room {
	o := options(b, "bench", clock.New(), func(o *admission.Options) {
		o.Opening = time.Now().Add(-time.Hour).Truncate(time.Millisecond)
		o.Rate, o.Burst, o.Cap = 600, 10, 5000
	})
	return newRoom(b, store, o)
}

// parallel runs f(i) b.N times from callers goroutines (one: a plain loop).
func parallel(b *testing.B, callers int, f func(i int64)) {
	b.ReportAllocs()
	b.ResetTimer()
	if callers == 1 {
		for i := range b.N {
			f(int64(i))
		}
		return
	}
	b.SetParallelism((callers + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	var n atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			f(n.Add(1))
		}
	})
}

// backends runs bench on memory and, when redis-server is installed, on a
// standalone Redis beside the no-op baseline.
func backends(b *testing.B, bench func(b *testing.B, store admission.Store, callers int)) {
	var client *redis.Client
	if redistest.Available() {
		srv := redistest.Start(b, redistest.Options{})
		client = srv.Client()
	}
	for _, callers := range benchCallers {
		b.Run(fmt.Sprintf("memory/callers=%d", callers), func(b *testing.B) {
			bench(b, admission.NewMemoryStore(), callers)
		})
		if client == nil {
			continue
		}
		b.Run(fmt.Sprintf("redis/callers=%d", callers), func(b *testing.B) {
			bench(b, redisStore(b, client), callers)
		})
		b.Run(fmt.Sprintf("noop/callers=%d", callers), func(b *testing.B) {
			if callers > 1 {
				b.SetParallelism((callers + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			}
			redistest.BenchmarkNoop(b, client, "gh-bench:{bench}:noop", callers > 1)
		})
	}
}

var benchRun atomic.Int64

// BenchmarkJoin: each call is a new person joining an open, busy room.
func BenchmarkJoin(b *testing.B) {
	backends(b, func(b *testing.B, store admission.Store, callers int) {
		room := benchRoom(b, store)
		prefix := "join-" + strconv.FormatInt(benchRun.Add(1), 10) + "-"
		parallel(b, callers, func(i int64) {
			if _, err := room.Join(ctx, prefix+strconv.FormatInt(i, 10)); err != nil {
				b.Fatal(err)
			}
		})
	})
}

// BenchmarkStatus: people already in line poll their status.
func BenchmarkStatus(b *testing.B) {
	const people = 5000
	backends(b, func(b *testing.B, store admission.Store, callers int) {
		room := benchRoom(b, store)
		ids := make([]string, people)
		for k := range ids {
			ids[k] = "status-" + strconv.Itoa(k)
			if _, err := room.Join(ctx, ids[k]); err != nil {
				b.Fatal(err)
			}
		}
		parallel(b, callers, func(i int64) {
			if _, err := room.Status(ctx, ids[i%people]); err != nil {
				b.Fatal(err)
			}
		})
	})
}

// BenchmarkProtect: a protected request with a valid pass (no store).
func BenchmarkProtect(b *testing.B) {
	clk := newClock(time.Second)
	room := newRoom(b, admission.NewMemoryStore(), options(b, "bench", clk, nil))
	st, err := room.Join(ctx, "alice")
	if err != nil || st.Pass == "" {
		b.Fatal(st, err)
	}
	h := room.Protect(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), identityFromHeader)
	req := httptest.NewRequest("GET", "/book", nil)
	req.Header.Set("X-User", "alice")
	req.Header.Set(admission.DefaultPassHeader, st.Pass)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
	if w.Code != 200 {
		b.Fatal(w.Code)
	}
}

// pollWorld is an open room with people waiting far back in line: their
// polls are answered from tickets and the snapshot. It returns the room,
// the counting store under it, and an identity and a ticket for each of
// people: of version 2, as a room signs them, or of version 1 (signed
// before version 2) when v1.
func pollWorld(tb testing.TB, people int, v1 bool) (*admission.Room, *countingStore, []string, []string) {
	clk := newClock(time.Minute)
	store := &countingStore{Store: admission.NewMemoryStore()}
	room := newRoom(tb, store, options(tb, "poll-bench", clk, func(o *admission.Options) {
		o.Rate, o.Burst, o.ClaimWindow = 600, 10, time.Hour
	}))
	// The snapshot: someone joins (the room opens, the figures are read).
	mustJoin(tb, room, "first")
	keys := mustKeyring(tb, keyCur, keyOld)
	ids, tickets := make([]string, people), make([]string, people)
	for k := range people {
		ids[k] = "poll-" + strconv.Itoa(k)
		t := admission.Ticket{
			Room: "poll-bench", Identity: room.Hash(ids[k]), Index: uint64(1_000_000 + k), Place: int64(1_000_000 + k),
			Joined: clk.Now(), Expires: clk.Now().Add(time.Hour),
		}
		var tk string
		var err error
		if v1 {
			tk, err = keys.SignTicket(t)
		} else {
			tk, err = keys.SignTicketFor(t, ids[k])
		}
		if err != nil {
			tb.Fatal(err)
		}
		tickets[k] = tk
	}
	store.calls.Store(0)
	return room, store, ids, tickets
}

// TestPollNoAllocs: a waiting person's poll allocates nothing and calls
// no store.
func TestPollNoAllocs(t *testing.T) {
	for _, v1 := range []bool{false, true} {
		room, store, ids, tickets := pollWorld(t, 10, v1)
		i := 0
		if n := testing.AllocsPerRun(200, func() {
			st, err := room.Poll(ctx, ids[i%10], tickets[i%10])
			if err != nil || st.State != admission.StateWaiting || st.Ahead < 1_000_000-20 {
				t.Fatalf("version 1 %v: %+v %v", v1, st, err)
			}
			i++
		}); n != 0 {
			t.Fatalf("version 1 %v: %v allocations per poll", v1, n)
		}
		if c := store.calls.Load(); c != 0 {
			t.Fatalf("version 1 %v: %d store calls for 200 polls", v1, c)
		}
	}
}

// BenchmarkPoll: a waiting person's poll (ticket check and the snapshot's
// answer), for one person over and over and over a million distinct
// tickets. Reports the store calls per poll (0).
//
//	go test -run '^$' -bench Poll -benchmem ./admission/
func BenchmarkPoll(b *testing.B) {
	for _, people := range []int{1, 1_000_000} {
		for _, v1 := range []bool{false, true} {
			name := "tickets=" + strconv.Itoa(people)
			if v1 {
				name += "/version=1"
			}
			b.Run(name, func(b *testing.B) {
				room, store, ids, tickets := pollWorld(b, people, v1)
				b.ReportAllocs()
				b.ResetTimer()
				i := 0
				for b.Loop() {
					k := i % people
					if _, err := room.Poll(ctx, ids[k], tickets[k]); err != nil {
						b.Fatal(err)
					}
					i++
				}
				b.ReportMetric(float64(store.calls.Load())/float64(b.N), "store-calls/op")
			})
		}
	}
}
