package redistest

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Fault is one way Redis goes wrong under a running test, for the
// fault-injection suites of every package.
type Fault struct {
	// Name names the fault in subtest names.
	Name string
	// Recovers reports that go-redis's own retry may succeed during the
	// fault (a dropped connection is dialled again), so calls made during
	// it may go through.
	Recovers bool
	// Begin starts the fault on s and returns the func that ends it;
	// Redis answers again once that has returned.
	Begin func(t testing.TB, s *Server) (end func())
}

// FaultSleep is how long the DEBUG SLEEP fault stalls the server.
const FaultSleep = 2500 * time.Millisecond

// Faults are the faults every Redis-backed component must survive: the
// server stopped with SIGSTOP (connections open, nothing answers), stalled
// by a long command (DEBUG SLEEP for FaultSleep), its client connections
// dropped, and killed and restarted.
func Faults() []Fault {
	return []Fault{
		{Name: "SIGSTOP", Begin: func(t testing.TB, s *Server) func() {
			s.Pause()
			return s.Resume
		}},
		{Name: "DEBUG SLEEP", Begin: func(t testing.TB, s *Server) func() {
			done := s.DebugSleep(FaultSleep)
			return func() { <-done }
		}},
		{Name: "dropped connections", Recovers: true, Begin: func(t testing.TB, s *Server) func() {
			s.DropClients()
			return func() {}
		}},
		{Name: "restart", Begin: func(t testing.TB, s *Server) func() {
			s.Kill()
			return s.Restart
		}},
	}
}

// FaultClients returns the two kinds of client an embedder may pass, both
// closed when the test ends: "ContextTimeoutEnabled", a *redis.Client that
// honours context deadlines, and "opaque wrapper", a client of the
// embedder's own type around a go-redis client built without that flag:
// the library cannot inspect it (so accepts it) and must bound its calls by
// itself.
func (s *Server) FaultClients() map[string]redis.UniversalClient {
	plain := redis.NewClient(&redis.Options{Addr: s.Addr()})
	s.t.Cleanup(func() { plain.Close() })
	return map[string]redis.UniversalClient{"ContextTimeoutEnabled": s.Client(), "opaque wrapper": OpaqueClient{plain}}
}

// OpaqueClient is a redis.UniversalClient of a type the library does not
// know, as an embedder's instrumented wrapper would be.
type OpaqueClient struct{ redis.UniversalClient }

// RunFaults runs test once for each of Faults and each kind of client
// (FaultClients), as subtests "<fault>/<client>", each fault on its own
// server started with opts (AOF, for instance, so that a restart keeps the
// data).
func RunFaults(t *testing.T, opts Options, test func(t *testing.T, s *Server, c redis.UniversalClient, f Fault)) {
	t.Helper()
	for _, f := range Faults() {
		t.Run(f.Name, func(t *testing.T) {
			s := Start(t, opts)
			for name, c := range s.FaultClients() {
				t.Run(name, func(t *testing.T) { test(t, s, c, f) })
			}
		})
	}
}
