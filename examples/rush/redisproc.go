package main

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/gatehouse-go/gatehouse/internal/redisproc"
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
// in a temporary directory. internal/redisproc runs the processes, as it
// does for the tests.
type redisProcs struct {
	dir     string
	cluster bool
	nodes   []*redisproc.Server
}

// startTimeout allows for reading a large AOF back at restart.
const startTimeout = 2 * time.Minute

// startRedis starts a standalone server, or a 3-master cluster.
func startRedis(cluster bool, fsync string) (*redisProcs, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("-redis-start: %w", err)
	}
	var cli string
	if cluster {
		if cli, err = exec.LookPath("redis-cli"); err != nil {
			return nil, fmt.Errorf("-redis-start: %w", err)
		}
	}
	rp := &redisProcs{cluster: cluster}
	if rp.dir, err = os.MkdirTemp("", "rush-redis-"); err != nil {
		return nil, err
	}
	n := 1
	if cluster {
		n = 3
	}
	for i := range n {
		node, err := redisproc.Start(bin, redisproc.Options{
			Dir:          filepath.Join(rp.dir, "node"+strconv.Itoa(i)),
			Fsync:        fsync,
			Cluster:      cluster,
			StartTimeout: startTimeout,
		})
		if err != nil {
			rp.Close()
			return nil, err
		}
		rp.nodes = append(rp.nodes, node)
	}
	if cluster {
		if err := redisproc.CreateCluster(cli, rp.nodes, 20*time.Second); err != nil {
			rp.Close()
			return nil, err
		}
	}
	return rp, nil
}

// Addrs are the server addresses.
func (rp *redisProcs) Addrs() []string {
	a := make([]string, len(rp.nodes))
	for i, n := range rp.nodes {
		a[i] = n.Addr()
	}
	return a
}

// Kill stops every node with SIGKILL, as a crash would.
func (rp *redisProcs) Kill() error {
	for _, n := range rp.nodes {
		n.Kill()
	}
	return nil
}

// Restart starts every node again on its port and data, and waits until
// it answers (and the cluster is whole again).
func (rp *redisProcs) Restart() error {
	for _, n := range rp.nodes {
		n.Kill()
	}
	for _, n := range rp.nodes {
		if err := n.Restart(); err != nil {
			return err
		}
	}
	if rp.cluster {
		return redisproc.WaitCluster(rp.nodes, 30*time.Second)
	}
	return nil
}

// Close stops the servers and removes their data.
func (rp *redisProcs) Close() error {
	for _, n := range rp.nodes {
		n.Kill()
	}
	if rp.dir != "" {
		return os.RemoveAll(rp.dir)
	}
	return nil
}
