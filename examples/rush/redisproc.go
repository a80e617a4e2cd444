package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// loopbackOnly refuses any address that is not on the loopback interface:
// this program sends load, and load goes only to this machine.
func loopbackOnly(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q: %v", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q is not a loopback address (127.0.0.0/8, ::1, localhost)", addr)
	}
	return nil
}

func loopbackURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q: want an http:// or https:// URL", raw)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), map[string]string{"http": "80", "https": "443"}[u.Scheme])
	}
	return loopbackOnly(host)
}

// redisProcs are redis-server processes this program started (-redis-start):
// one standalone server or three cluster masters, with AOF and appendfsync
// always by default (-redis-fsync), on free loopback ports (never 6379),
// in a temporary directory.
type redisProcs struct {
	bin, cli string
	dir      string
	cluster  bool
	fsync    string
	nodes    []*redisNode
}

type redisNode struct {
	port int
	dir  string
	args []string
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

func (n *redisNode) addr() string { return "127.0.0.1:" + strconv.Itoa(n.port) }

// startRedis starts a standalone server, or a 3-master cluster.
func startRedis(cluster bool, fsync string) (*redisProcs, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("-redis-start: %w", err)
	}
	rp := &redisProcs{bin: bin, cluster: cluster, fsync: fsync}
	if cluster {
		if rp.cli, err = exec.LookPath("redis-cli"); err != nil {
			return nil, fmt.Errorf("-redis-start: %w", err)
		}
	}
	rp.dir, err = os.MkdirTemp("", "rush-redis-")
	if err != nil {
		return nil, err
	}
	n := 1
	if cluster {
		n = 3
	}
	for i := range n {
		node, err := rp.startNode(filepath.Join(rp.dir, "node"+strconv.Itoa(i)))
		if err != nil {
			rp.Close()
			return nil, err
		}
		rp.nodes = append(rp.nodes, node)
	}
	if cluster {
		args := []string{"--cluster", "create"}
		for _, nd := range rp.nodes {
			args = append(args, nd.addr())
		}
		args = append(args, "--cluster-replicas", "0", "--cluster-yes")
		if out, err := exec.Command(rp.cli, args...).CombinedOutput(); err != nil {
			rp.Close()
			return nil, fmt.Errorf("redis-cli --cluster create: %v\n%s", err, out)
		}
		if err := rp.waitCluster(20 * time.Second); err != nil {
			rp.Close()
			return nil, err
		}
	}
	return rp, nil
}

func freeLoopbackPort(bus bool) (int, error) {
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if port == 6379 || port == 16379 || (bus && port+10000 > 65535) {
			continue
		}
		if bus {
			lb, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port+10000))
			if err != nil {
				continue
			}
			lb.Close()
		}
		return port, nil
	}
	return 0, errors.New("no free loopback port")
}

func (rp *redisProcs) startNode(dir string) (*redisNode, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var last error
	for range 5 {
		port, err := freeLoopbackPort(rp.cluster)
		if err != nil {
			return nil, err
		}
		n := &redisNode{port: port, dir: dir}
		n.args = []string{
			"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--protected-mode", "no",
			"--dir", dir, "--logfile", filepath.Join(dir, "redis.log"), "--save", "",
			"--daemonize", "no",
		}
		switch rp.fsync {
		case "off":
			n.args = append(n.args, "--appendonly", "no")
		case "everysec":
			n.args = append(n.args, "--appendonly", "yes", "--appendfsync", "everysec")
		default:
			n.args = append(n.args, "--appendonly", "yes", "--appendfsync", "always")
		}
		if rp.cluster {
			n.args = append(n.args, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
				"--cluster-node-timeout", "5000")
		}
		if last = rp.launch(n); last == nil {
			return n, nil
		}
	}
	return nil, last
}

// launch starts n's process and waits for PING (LOADING while the AOF is
// read back counts as not yet).
func (rp *redisProcs) launch(n *redisNode) error {
	cmd := exec.Command(rp.bin, n.args...)
	setPdeathsig(cmd)
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	n.mu.Lock()
	n.cmd, n.done = cmd, done
	n.mu.Unlock()
	c := redis.NewClient(&redis.Options{Addr: n.addr(), MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(n.dir, "redis.log"))
			return fmt.Errorf("redis-server on port %d exited: %s", n.port, tail(string(log), 1500))
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			rp.killNode(n)
			return fmt.Errorf("redis-server on port %d: no PING answer: %v", n.port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return strings.TrimSpace(s)
}

func (rp *redisProcs) killNode(n *redisNode) {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.cmd = nil
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Kill()
	<-done
}

// Addrs are the server addresses.
func (rp *redisProcs) Addrs() []string {
	a := make([]string, len(rp.nodes))
	for i, n := range rp.nodes {
		a[i] = n.addr()
	}
	return a
}

// Kill stops every node with SIGKILL, as a crash would.
func (rp *redisProcs) Kill() error {
	for _, n := range rp.nodes {
		rp.killNode(n)
	}
	return nil
}

// Restart starts every node again on its port and data, and waits until
// it answers (and the cluster is whole again).
func (rp *redisProcs) Restart() error {
	for _, n := range rp.nodes {
		rp.killNode(n)
		var err error
		for range 50 {
			if err = rp.launch(n); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			return err
		}
	}
	if rp.cluster {
		return rp.waitCluster(30 * time.Second)
	}
	return nil
}

func (rp *redisProcs) waitCluster(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ok := true
		for _, n := range rp.nodes {
			c := redis.NewClient(&redis.Options{Addr: n.addr(), MaxRetries: -1})
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			info, err := c.ClusterInfo(ctx).Result()
			cancel()
			c.Close()
			if err != nil || !strings.Contains(info, "cluster_state:ok") {
				ok = false
				break
			}
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis cluster not ready after %v", timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Close stops the servers and removes their data.
func (rp *redisProcs) Close() error {
	for _, n := range rp.nodes {
		rp.killNode(n)
	}
	if rp.dir != "" {
		return os.RemoveAll(rp.dir)
	}
	return nil
}
