package redisproc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// SentinelOptions configures one Sentinel process.
type SentinelOptions struct {
	// Dir is the Sentinel's directory (its config file, rewritten by
	// Sentinel, and its log). Required.
	Dir string
	// MasterName is the name the primary is monitored under. Required.
	MasterName string
	// MasterAddr is the primary's host:port at start. Required.
	MasterAddr string
	// Quorum is how many Sentinels must agree the primary is down.
	Quorum int
	// DownAfter is how long the primary may not answer before a Sentinel
	// deems it down (down-after-milliseconds).
	DownAfter time.Duration
	// FailoverTimeout is Sentinel's failover-timeout.
	FailoverTimeout time.Duration
}

// StartSentinel runs bin (redis-server) in Sentinel mode on a free loopback
// port, monitoring o.MasterAddr, and waits until it answers PING.
func StartSentinel(bin string, o SentinelOptions) (*Server, error) {
	if o.Dir == "" || o.MasterName == "" || o.MasterAddr == "" || o.Quorum < 1 {
		return nil, errors.New("redisproc: StartSentinel: Dir, MasterName, MasterAddr and Quorum are required")
	}
	host, port, ok := strings.Cut(o.MasterAddr, ":")
	if !ok {
		return nil, fmt.Errorf("redisproc: StartSentinel: master address %q is not host:port", o.MasterAddr)
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	var lastErr error
	for range 5 {
		p, err := FreePort(false)
		if err != nil {
			return nil, err
		}
		s := &Server{bin: bin, port: p, dir: o.Dir, logPath: filepath.Join(o.Dir, "sentinel.log"), timeout: DefaultStartTimeout}
		conf := filepath.Join(o.Dir, "sentinel.conf")
		text := strings.Join([]string{
			"port " + strconv.Itoa(p),
			"bind 127.0.0.1",
			"protected-mode no",
			"daemonize no",
			"dir " + o.Dir,
			"logfile " + s.logPath,
			fmt.Sprintf("sentinel monitor %s %s %s %d", o.MasterName, host, port, o.Quorum),
			fmt.Sprintf("sentinel down-after-milliseconds %s %d", o.MasterName, o.DownAfter.Milliseconds()),
			fmt.Sprintf("sentinel failover-timeout %s %d", o.MasterName, o.FailoverTimeout.Milliseconds()),
			fmt.Sprintf("sentinel parallel-syncs %s 1", o.MasterName),
			"",
		}, "\n")
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			return nil, err
		}
		s.args = []string{conf, "--sentinel"}
		if lastErr = s.launch(); lastErr == nil {
			return s, nil
		}
	}
	return nil, fmt.Errorf("redisproc: could not start a Sentinel: %w", lastErr)
}

// SentinelMaster asks the Sentinel at addr for the address of the primary
// it monitors under name.
func SentinelMaster(ctx context.Context, addr, name string) (string, error) {
	c := redis.NewSentinelClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	a, err := c.GetMasterAddrByName(ctx, name).Result()
	if err != nil {
		return "", err
	}
	if len(a) != 2 {
		return "", fmt.Errorf("redisproc: Sentinel %s answered %q for the master address", addr, a)
	}
	return a[0] + ":" + a[1], nil
}

// WaitSentinels polls every Sentinel until each knows replicas replicas and
// the other Sentinels, so that a failover can be agreed and has somewhere
// to go, or returns an error after timeout.
func WaitSentinels(sentinels []*Server, name string, replicas int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		ok := true
		for _, s := range sentinels {
			c := redis.NewSentinelClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1})
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			m, err := c.Master(ctx, name).Result()
			rs, err2 := c.Replicas(ctx, name).Result()
			cancel()
			c.Close()
			switch {
			case err != nil || err2 != nil:
				ok, last = false, fmt.Sprint(s.Addr(), ": ", errors.Join(err, err2))
			case m["num-other-sentinels"] != strconv.Itoa(len(sentinels)-1):
				ok, last = false, fmt.Sprintf("%s knows %s other Sentinels", s.Addr(), m["num-other-sentinels"])
			case countUp(rs) < replicas:
				ok, last = false, fmt.Sprintf("%s knows %d live replicas", s.Addr(), countUp(rs))
			}
			if !ok {
				break
			}
		}
		if ok {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("redisproc: Sentinels not ready after %v: %s", timeout, last)
}

// countUp counts the replicas a Sentinel lists that it sees linked to the
// primary.
func countUp(rs []map[string]string) int {
	n := 0
	for _, r := range rs {
		if !strings.Contains(r["flags"], "down") && !strings.Contains(r["flags"], "disconnected") && r["master-link-status"] == "ok" {
			n++
		}
	}
	return n
}

// WaitReplicaSynced polls the replica at addr until its link to the
// primary is up and its initial sync is done, or returns an error after
// timeout.
func WaitReplicaSynced(addr string, timeout time.Duration) error {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		info, err := c.Info(ctx, "replication").Result()
		cancel()
		if err == nil && strings.Contains(info, "master_link_status:up") && strings.Contains(info, "master_sync_in_progress:0") {
			return nil
		}
		last = fmt.Sprint(err)
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("redisproc: replica %s not in sync after %v (%s)", addr, timeout, last)
}
