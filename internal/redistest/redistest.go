package redistest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/internal/redisproc"
	"github.com/redis/go-redis/v9"
)

// RequireEnv is the environment variable that turns a missing redis-server
// binary from a skip into a test failure.
const RequireEnv = "GATEHOUSE_REQUIRE_REDIS"

// Options configures a server. The zero value is a plain in-memory server
// with persistence off, its data directory under t.TempDir().
type Options struct {
	// AOF turns on the append-only file with appendfsync always, the
	// setting under which an acknowledged write survives kill -9.
	AOF bool
	// Dir is the data directory. Empty means a fresh t.TempDir().
	Dir string
	// Args are extra configuration directives passed on the command line,
	// such as []string{"--maxmemory", "10mb"}.
	Args []string
}

func (o Options) proc(dir string, cluster bool) redisproc.Options {
	p := redisproc.Options{Dir: dir, Cluster: cluster, Args: o.Args}
	if o.AOF {
		p.Fsync = "always"
	}
	return p
}

// binaries looks up redis-server (and redis-cli when cli is true), skipping or
// failing t as the package documentation says when one is missing.
func binaries(t testing.TB, cli bool) (server, client string) {
	t.Helper()
	names := []string{"redis-server"}
	if cli {
		names = append(names, "redis-cli")
	}
	paths := make([]string, len(names))
	for i, n := range names {
		p, err := exec.LookPath(n)
		if err != nil {
			if os.Getenv(RequireEnv) != "" {
				t.Fatalf("redistest: %s not found and %s is set: %v", n, RequireEnv, err)
			}
			t.Skipf("redistest: %s not found (set %s to make this a failure)", n, RequireEnv)
		}
		paths[i] = p
	}
	if cli {
		return paths[0], paths[1]
	}
	return paths[0], ""
}

// Available reports whether redis-server is on the PATH. Tests should not
// need it: Start already skips or fails. It is for benchmarks and examples
// that choose a backend.
func Available() bool {
	_, err := exec.LookPath("redis-server")
	return err == nil
}

// Server is one redis-server process owned by a test.
type Server struct {
	t testing.TB
	p *redisproc.Server
}

// Start runs a standalone redis-server for the duration of t. It skips t
// when redis-server is missing and RequireEnv is unset.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	bin, _ := binaries(t, false)
	return start(t, bin, opts, false)
}

func start(t testing.TB, bin string, opts Options, cluster bool) *Server {
	t.Helper()
	dir := opts.Dir
	if dir == "" {
		dir = t.TempDir()
	}
	p, err := redisproc.Start(bin, opts.proc(dir, cluster))
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	s := &Server{t: t, p: p}
	t.Cleanup(s.Stop)
	return s
}

// Addr is the server's host:port on the loopback interface.
func (s *Server) Addr() string { return s.p.Addr() }

// Port is the server's TCP port.
func (s *Server) Port() int { return s.p.Port() }

// Dir is the server's data directory.
func (s *Server) Dir() string { return s.p.Dir() }

// Client returns a new client for the server, closed when the test ends.
// It honours context deadlines (ContextTimeoutEnabled), as gatehouse asks
// of the clients it is given.
func (s *Server) Client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), ContextTimeoutEnabled: true})
	s.t.Cleanup(func() { c.Close() })
	return c
}

// Kill stops the server with SIGKILL, as a crash would: nothing is flushed
// beyond what the configured fsync policy already wrote.
func (s *Server) Kill() { s.p.Kill() }

// Restart starts the server again on the same port, data directory and
// configuration, after Kill or Stop, and waits until it answers; a cluster
// node also waits until it reports cluster_state:ok again. It fails the
// test if the server does not come back.
func (s *Server) Restart() {
	s.t.Helper()
	if err := s.p.Restart(); err != nil {
		s.t.Fatal(err)
	}
	if err := s.p.WaitClusterOK(redisproc.DefaultStartTimeout); err != nil {
		s.t.Fatal(err)
	}
}

// Running reports whether the process is alive.
func (s *Server) Running() bool { return s.p.Running() }

// Pause stops the server with SIGSTOP: connections stay open and nothing
// answers, as during a slow fork or a network blip. The test fails if the
// signal cannot be sent. The server is resumed when the test ends, if the
// test has not done it; Stop works on a paused server too.
func (s *Server) Pause() {
	s.t.Helper()
	if err := s.p.Pause(); err != nil {
		s.t.Fatalf("redistest: pause: %v", err)
	}
	s.t.Cleanup(func() { s.p.Resume() })
}

// Resume continues a paused server with SIGCONT.
func (s *Server) Resume() {
	s.t.Helper()
	if err := s.p.Resume(); err != nil {
		s.t.Fatalf("redistest: resume: %v", err)
	}
}

// DebugSleep makes the server's main thread sleep for d (DEBUG SLEEP, a
// long command as far as every client can tell) and returns at once; the
// returned channel is closed when the sleep is over.
func (s *Server) DebugSleep(d time.Duration) <-chan struct{} {
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1, ReadTimeout: d + 10*time.Second})
	probe := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1, ContextTimeoutEnabled: true, PoolSize: 1})
	defer probe.Close()
	// Both connect while the server is awake: the command then goes out at
	// once, and the probe's pings measure the server, not a dial.
	for _, cl := range []*redis.Client{c, probe} {
		if err := cl.Ping(context.Background()).Err(); err != nil {
			c.Close()
			s.t.Fatalf("redistest: DEBUG SLEEP: %v", err)
		}
	}
	started := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer c.Close()
		close(started)
		if err := c.Do(context.Background(), "DEBUG", "SLEEP", strconv.FormatFloat(d.Seconds(), 'f', 3, 64)).Err(); err != nil {
			s.t.Errorf("redistest: DEBUG SLEEP: %v", err)
		}
	}()
	<-started
	// The command must be on the server before the caller's next call, so
	// that the caller is the one queued behind it.
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		if sleeping(probe) {
			return done
		}
		time.Sleep(time.Millisecond)
	}
	s.t.Fatalf("redistest: DEBUG SLEEP did not start")
	return done
}

// sleeping reports whether the server behind probe (a client connected
// while the server was awake) leaves a PING unanswered for 150 ms, as it
// does while it runs DEBUG SLEEP. A slow dial or a busy machine
// (race-instrumented tests on 2 cores) must not pass for a server asleep,
// or the caller's calls would run before the stall they are meant to meet.
func sleeping(probe *redis.Client) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	return probe.Ping(ctx).Err() != nil
}

// DropClients closes every normal client connection on the server (CLIENT
// KILL TYPE NORMAL), as a network failure or a proxy restart would, except
// the one it uses itself.
func (s *Server) DropClients() {
	s.t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr()})
	defer c.Close()
	if err := c.Do(context.Background(), "CLIENT", "KILL", "TYPE", "NORMAL", "SKIPME", "YES").Err(); err != nil {
		s.t.Fatalf("redistest: CLIENT KILL: %v", err)
	}
}

// Stop ends the server. It is registered with t.Cleanup by Start and is safe
// to call more than once.
func (s *Server) Stop() { s.p.Kill() }

// Cluster is a Redis Cluster of three masters (no replicas) owned by a test.
type Cluster struct {
	t testing.TB
	// Servers are the three master processes, in the order of the slot
	// ranges they were given (0-5460, 5461-10922, 10923-16383).
	Servers []*Server
}

// StartCluster runs three redis-server processes in cluster mode, joins them
// with redis-cli --cluster create, and waits until every node reports
// cluster_state:ok and all nodes agree on the slot map. opts applies to each
// node; a non-empty Dir gets one subdirectory per node.
func StartCluster(t testing.TB, opts Options) *Cluster {
	t.Helper()
	bin, cli := binaries(t, true)
	c := &Cluster{t: t}
	base := opts.Dir
	for i := range 3 {
		o := opts
		if base != "" {
			o.Dir = filepath.Join(base, "node"+strconv.Itoa(i))
		}
		c.Servers = append(c.Servers, start(t, bin, o, true))
	}
	if err := redisproc.CreateCluster(cli, c.procs(), redisproc.DefaultStartTimeout); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *Cluster) procs() []*redisproc.Server {
	p := make([]*redisproc.Server, len(c.Servers))
	for i, s := range c.Servers {
		p[i] = s.p
	}
	return p
}

// Addrs are the node addresses, for redis.ClusterOptions.Addrs.
func (c *Cluster) Addrs() []string {
	a := make([]string, len(c.Servers))
	for i, s := range c.Servers {
		a[i] = s.Addr()
	}
	return a
}

// Client returns a new cluster client, closed when the test ends.
func (c *Cluster) Client() *redis.ClusterClient {
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs(), ContextTimeoutEnabled: true})
	c.t.Cleanup(func() { cc.Close() })
	return cc
}

// WaitReady blocks until every node reports cluster_state:ok and all agree
// on the slot map, failing the test after a bound. StartCluster calls it;
// fault tests call it after restarting nodes.
func (c *Cluster) WaitReady() {
	c.t.Helper()
	if err := redisproc.WaitCluster(c.procs(), redisproc.DefaultStartTimeout); err != nil {
		c.t.Fatal(err)
	}
}
