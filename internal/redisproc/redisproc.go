// Package redisproc starts and controls redis-server processes on free
// loopback ports: standalone servers, Sentinels and the nodes of a Redis
// Cluster, with kill -9, restart in place and SIGSTOP for fault injection.
// It knows nothing of testing: internal/redistest wraps it for tests (skip,
// fail, cleanup), and the rush simulator uses it directly for -redis-start.
package redisproc

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
	"time"

	"github.com/redis/go-redis/v9"
)

// forbiddenPort is the default Redis port: a developer's own Redis may be
// listening there, so no process started here ever uses it (nor its
// cluster bus port).
const forbiddenPort = 6379

// DefaultStartTimeout bounds how long a server may take to answer PING
// (a restarted server answers LOADING while it reads its AOF back).
const DefaultStartTimeout = 15 * time.Second

// Options configures a server.
type Options struct {
	// Dir is the data directory, created if missing. Required.
	Dir string
	// Fsync is the append-only-file policy: "" or "off" (no AOF),
	// "everysec", or "always" (an acknowledged write survives kill -9).
	Fsync string
	// Cluster makes the server a cluster-enabled node (see CreateCluster).
	Cluster bool
	// Args are extra configuration directives, such as
	// []string{"--maxmemory", "10mb"}.
	Args []string
	// StartTimeout bounds the wait for PING at start and restart; 0 means
	// DefaultStartTimeout.
	StartTimeout time.Duration
}

// FreePort asks the kernel for a free loopback port, never 6379. With bus
// set it also requires port+10000 (the cluster bus port) to be free.
func FreePort(bus bool) (int, error) {
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
	return 0, errors.New("redisproc: no free loopback port found")
}

// Server is one redis-server process.
type Server struct {
	bin     string
	port    int
	dir     string
	args    []string
	logPath string
	cluster bool
	timeout time.Duration

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Start runs the redis-server binary bin on a free loopback port with o,
// and waits until it answers PING. It tries a few ports, in case another
// process takes the chosen one first.
func Start(bin string, o Options) (*Server, error) {
	if o.Dir == "" {
		return nil, errors.New("redisproc: Options.Dir is required")
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	timeout := o.StartTimeout
	if timeout <= 0 {
		timeout = DefaultStartTimeout
	}
	var lastErr error
	for range 5 {
		port, err := FreePort(o.Cluster)
		if err != nil {
			return nil, err
		}
		s := &Server{bin: bin, port: port, dir: o.Dir, logPath: filepath.Join(o.Dir, "redis.log"), cluster: o.Cluster, timeout: timeout}
		s.args = []string{
			"--port", strconv.Itoa(port),
			"--bind", "127.0.0.1",
			"--protected-mode", "no",
			"--dir", o.Dir,
			"--logfile", s.logPath,
			"--save", "",
			"--daemonize", "no",
			// Fault tests stall the server with DEBUG SLEEP, from
			// loopback only.
			"--enable-debug-command", "local",
		}
		switch o.Fsync {
		case "", "off":
			s.args = append(s.args, "--appendonly", "no")
		case "everysec", "always":
			s.args = append(s.args, "--appendonly", "yes", "--appendfsync", o.Fsync)
		default:
			return nil, fmt.Errorf("redisproc: unknown Fsync %q (want off, everysec or always)", o.Fsync)
		}
		if o.Cluster {
			s.args = append(s.args,
				"--cluster-enabled", "yes",
				"--cluster-config-file", "nodes.conf",
				"--cluster-node-timeout", "5000",
			)
		}
		s.args = append(s.args, o.Args...)
		if lastErr = s.launch(); lastErr == nil {
			return s, nil
		}
	}
	return nil, fmt.Errorf("redisproc: could not start redis-server: %w", lastErr)
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
	deadline := time.Now().Add(s.timeout)
	for {
		select {
		case <-done:
			return fmt.Errorf("redis-server on port %d exited at start: %s", s.port, s.LogTail())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			s.Kill()
			return fmt.Errorf("redis-server on port %d did not answer PING in %v: %v; log: %s", s.port, s.timeout, err, s.LogTail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// LogTail returns the end of the server's log, for error messages.
func (s *Server) LogTail() string {
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

// Kill stops the server with SIGKILL, as a crash would, and waits for the
// process to be reaped. It does nothing if the server is not running.
func (s *Server) Kill() {
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

// Restart starts the server again on the same port, data directory and
// configuration, after Kill, and waits until it answers PING. A cluster
// node may still be rejoining its cluster then: see WaitClusterOK and
// WaitCluster.
func (s *Server) Restart() error {
	s.Kill()
	var err error
	for range 50 {
		if err = s.launch(); err == nil {
			return nil
		}
		// The port may still be held for a moment by the dead process.
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("redisproc: restart on port %d: %w", s.port, err)
}

// Pause stops the process with SIGSTOP, as a slow fork, a swapped-out
// server or a network blip looks to a client: connections stay open and
// nothing answers. Resume continues it. Pause does nothing if the server is
// not running.
func (s *Server) Pause() error { return s.signal(sigStop) }

// Resume continues a paused process with SIGCONT.
func (s *Server) Resume() error { return s.signal(sigCont) }

func (s *Server) signal(sig os.Signal) error {
	if sig == nil {
		return errors.New("redisproc: pausing a process is not supported on this system")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return nil
	}
	return s.cmd.Process.Signal(sig)
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

// WaitClusterOK polls CLUSTER INFO on this node until it reports
// cluster_state:ok, or returns an error after timeout. It returns nil at
// once for a server that is not a cluster node.
func (s *Server) WaitClusterOK(timeout time.Duration) error {
	if !s.cluster {
		return nil
	}
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
			return fmt.Errorf("redisproc: node %s not cluster_state:ok after %v (%v)", s.Addr(), timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// CreateCluster joins cluster-enabled servers into a cluster of masters
// with redis-cli (the binary cli) --cluster create, and waits until it is
// ready (WaitCluster).
func CreateCluster(cli string, servers []*Server, timeout time.Duration) error {
	args := []string{"--cluster", "create"}
	for _, s := range servers {
		args = append(args, s.Addr())
	}
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("redisproc: redis-cli --cluster create: %v\n%s", err, out)
	}
	return WaitCluster(servers, timeout)
}

// WaitCluster polls every node until each says cluster_state:ok and all
// return the same slot map covering the 16384 slots.
func WaitCluster(servers []*Server, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		ok, why := clusterReady(servers)
		if ok {
			return nil
		}
		last = why
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("redisproc: cluster not ready after %v: %s", timeout, last)
}

func clusterReady(servers []*Server) (bool, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var want string
	for _, s := range servers {
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
		shards, err := cl.ClusterShards(ctx).Result()
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
func slotView(shards []redis.ClusterShard) (string, int) {
	var ranges []string
	covered := 0
	for _, sh := range shards {
		addr := ""
		for _, n := range sh.Nodes {
			if n.Role == "master" {
				addr = fmt.Sprintf("%s:%d", n.IP, n.Port)
			}
		}
		for _, r := range sh.Slots {
			ranges = append(ranges, fmt.Sprintf("%05d-%05d@%s", r.Start, r.End, addr))
			covered += int(r.End - r.Start + 1)
		}
	}
	// Sort so that the order nodes list shards in does not matter.
	sort.Strings(ranges)
	return strings.Join(ranges, ","), covered
}
