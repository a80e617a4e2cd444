package redistest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RequireEnv is the environment variable that turns a missing redis-server
// binary from a skip into a test failure.
const RequireEnv = "GATEHOUSE_REQUIRE_REDIS"

// forbiddenPort is the default Redis port. A test must never touch it: a
// developer's own Redis may be listening there.
const forbiddenPort = 6379

// startTimeout bounds how long a server may take to answer PING.
const startTimeout = 15 * time.Second

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

// freePort asks the kernel for a free loopback port. With bus set it also
// requires port+10000 (the cluster bus port) to be free.
func freePort(bus bool) (int, error) {
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if port == forbiddenPort || port == forbiddenPort+10000 {
			continue
		}
		if bus {
			if port+10000 > 65535 {
				continue
			}
			lb, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port+10000))
			if err != nil {
				continue
			}
			lb.Close()
		}
		return port, nil
	}
	return 0, errors.New("redistest: no free loopback port found")
}

// Server is one redis-server process owned by a test.
type Server struct {
	t       testing.TB
	bin     string
	port    int
	dir     string
	args    []string
	logPath string
	cluster bool

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
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
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("redistest: %v", err)
	}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort(cluster)
		if err != nil {
			t.Fatal(err)
		}
		s := &Server{t: t, bin: bin, port: port, dir: dir, logPath: filepath.Join(dir, "redis.log"), cluster: cluster}
		s.args = []string{
			"--port", strconv.Itoa(port),
			"--bind", "127.0.0.1",
			"--protected-mode", "no",
			"--dir", dir,
			"--logfile", s.logPath,
			"--save", "",
			"--daemonize", "no",
		}
		if opts.AOF {
			s.args = append(s.args, "--appendonly", "yes", "--appendfsync", "always")
		} else {
			s.args = append(s.args, "--appendonly", "no")
		}
		if cluster {
			s.args = append(s.args,
				"--cluster-enabled", "yes",
				"--cluster-config-file", "nodes.conf",
				"--cluster-node-timeout", "5000",
			)
		}
		s.args = append(s.args, opts.Args...)
		if lastErr = s.launch(); lastErr == nil {
			t.Cleanup(s.Stop)
			return s
		}
	}
	t.Fatalf("redistest: could not start redis-server: %v", lastErr)
	return nil
}

// launch starts the process and waits until it answers PING.
func (s *Server) launch() error {
	cmd := exec.Command(s.bin, s.args...)
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()

	c := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-done:
			return fmt.Errorf("redis-server on port %d exited at start: %s", s.port, s.logTail())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		// While loading the AOF a restarted server answers LOADING: wait.
		if time.Now().After(deadline) {
			s.kill()
			return fmt.Errorf("redis-server on port %d did not answer PING in %v: %v; log: %s", s.port, startTimeout, err, s.logTail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *Server) logTail() string {
	b, _ := os.ReadFile(s.logPath)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(bytes.TrimSpace(b))
}

// Addr is the server's host:port on the loopback interface.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// Port is the server's TCP port.
func (s *Server) Port() int { return s.port }

// Dir is the server's data directory.
func (s *Server) Dir() string { return s.dir }

// Client returns a new client for the server, closed when the test ends.
func (s *Server) Client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr()})
	s.t.Cleanup(func() { c.Close() })
	return c
}

// kill sends SIGKILL and waits for the process to be reaped.
func (s *Server) kill() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Kill()
	<-done
}

// Kill stops the server with SIGKILL, as a crash would: nothing is flushed
// beyond what the configured fsync policy already wrote.
func (s *Server) Kill() {
	s.t.Helper()
	s.kill()
}

// Restart starts the server again on the same port, data directory and
// configuration, after Kill or Stop, and waits until it answers; a cluster
// node also waits until it reports cluster_state:ok again.
func (s *Server) Restart() {
	s.t.Helper()
	s.kill()
	var err error
	for range 50 {
		if err = s.launch(); err == nil {
			if s.cluster {
				if err := s.waitClusterOK(startTimeout); err != nil {
					s.t.Fatal(err)
				}
			}
			return
		}
		// The port may still be held for a moment by the dead process.
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("redistest: restart on port %d: %v", s.port, err)
}

// waitClusterOK polls CLUSTER INFO on this node until cluster_state:ok.
func (s *Server) waitClusterOK(timeout time.Duration) error {
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		info, err := c.ClusterInfo(ctx).Result()
		cancel()
		if err == nil && strings.Contains(info, "cluster_state:ok") {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redistest: node %s not cluster_state:ok after %v (%v)", s.Addr(), timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Running reports whether the process is alive.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// Stop ends the server. It is registered with t.Cleanup by Start and is safe
// to call more than once.
func (s *Server) Stop() { s.kill() }

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
	args := []string{"--cluster", "create"}
	for _, s := range c.Servers {
		args = append(args, s.Addr())
	}
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	out, err := exec.Command(cli, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("redistest: redis-cli --cluster create: %v\n%s", err, out)
	}
	c.WaitReady()
	return c
}

// WaitReady blocks until every node reports cluster_state:ok and all agree
// on the slot map, failing the test after a bound. StartCluster calls it;
// fault tests call it after restarting nodes.
func (c *Cluster) WaitReady() {
	c.t.Helper()
	if err := c.waitReady(startTimeout); err != nil {
		c.t.Fatal(err)
	}
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
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	c.t.Cleanup(func() { cc.Close() })
	return cc
}

// waitReady polls every node until each says cluster_state:ok and they all
// return the same slot map covering the 16384 slots.
func (c *Cluster) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		ok, why := c.ready()
		if ok {
			return nil
		}
		last = why
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("redistest: cluster not ready after %v: %s", timeout, last)
}

func (c *Cluster) ready() (bool, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var want string
	for _, s := range c.Servers {
		cl := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1})
		info, err := cl.ClusterInfo(ctx).Result()
		if err != nil {
			cl.Close()
			return false, err.Error()
		}
		if !strings.Contains(info, "cluster_state:ok") {
			cl.Close()
			return false, s.Addr() + " is not cluster_state:ok"
		}
		shards, err := cl.ClusterSlots(ctx).Result()
		cl.Close()
		if err != nil {
			return false, err.Error()
		}
		view, covered := slotView(shards)
		if covered != 16384 {
			return false, fmt.Sprintf("%s sees %d of 16384 slots", s.Addr(), covered)
		}
		if want == "" {
			want = view
		} else if view != want {
			return false, "nodes disagree on the slot map"
		}
	}
	return true, ""
}

// slotView renders a slot map in a canonical form and counts the slots it
// covers.
func slotView(shards []redis.ClusterSlot) (string, int) {
	ranges := make([]string, 0, len(shards))
	covered := 0
	for _, sh := range shards {
		addr := ""
		if len(sh.Nodes) > 0 {
			addr = sh.Nodes[0].Addr
		}
		ranges = append(ranges, fmt.Sprintf("%05d-%05d@%s", sh.Start, sh.End, addr))
		covered += sh.End - sh.Start + 1
	}
	// Sort so that the order nodes list shards in does not matter.
	sort.Strings(ranges)
	return strings.Join(ranges, ","), covered
}
