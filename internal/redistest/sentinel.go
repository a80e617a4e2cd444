package redistest

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-go/gatehouse/internal/redisproc"
)

// SentinelMasterName is the name the Sentinels of StartSentinel monitor the
// primary under, for redis.FailoverOptions.MasterName.
const SentinelMasterName = "gatehouse"

// Sentinel timings of StartSentinel: a primary that does not answer for
// SentinelDownAfter is deemed down, and a failover is under way within a
// few seconds of that.
const (
	SentinelDownAfter       = time.Second
	sentinelFailoverTimeout = 5 * time.Second
)

// Sentinel is a primary, one replica and three Sentinels (quorum 2) owned
// by a test: the smallest setup in which Sentinel fails over automatically.
type Sentinel struct {
	t testing.TB
	// Primary and Replica are the data servers, in their roles at start;
	// after a failover the Replica is the primary (see Master).
	Primary, Replica *Server
	// Sentinels are the three Sentinel processes.
	Sentinels []*Server
}

// StartSentinel runs a primary, a replica of it and three Sentinels
// monitoring it as SentinelMasterName, and waits until the replica is in
// sync and every Sentinel knows the replica and the two other Sentinels.
// opts applies to both data servers; a non-empty Dir gets one subdirectory
// per process. It skips t when redis-server is missing and RequireEnv is
// unset; the Sentinels are redis-server in Sentinel mode.
func StartSentinel(t testing.TB, opts Options) *Sentinel {
	t.Helper()
	bin, _ := binaries(t, false)
	base := opts.Dir
	if base == "" {
		base = t.TempDir()
	}
	sub := func(name string) Options {
		o := opts
		o.Dir = filepath.Join(base, name)
		return o
	}
	s := &Sentinel{t: t}
	s.Primary = start(t, bin, sub("primary"), false)
	ro := sub("replica")
	ro.Args = append(append([]string(nil), ro.Args...), "--replicaof", "127.0.0.1", strconv.Itoa(s.Primary.Port()))
	s.Replica = start(t, bin, ro, false)
	if err := redisproc.WaitReplicaSynced(s.Replica.Addr(), redisproc.DefaultStartTimeout); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		p, err := redisproc.StartSentinel(bin, redisproc.SentinelOptions{
			Dir:             filepath.Join(base, "sentinel"+strconv.Itoa(i)),
			MasterName:      SentinelMasterName,
			MasterAddr:      s.Primary.Addr(),
			Quorum:          2,
			DownAfter:       SentinelDownAfter,
			FailoverTimeout: sentinelFailoverTimeout,
		})
		if err != nil {
			t.Fatalf("redistest: %v", err)
		}
		sv := &Server{t: t, p: p}
		t.Cleanup(sv.Stop)
		s.Sentinels = append(s.Sentinels, sv)
	}
	s.WaitReady()
	return s
}

// WaitReady blocks until every Sentinel knows a live replica and the other
// Sentinels, failing the test after a bound. StartSentinel calls it; a
// failover test calls it again after restarting the old primary (which
// Sentinel turns into a replica of the new one).
func (s *Sentinel) WaitReady() {
	s.t.Helper()
	if err := redisproc.WaitSentinels(s.procs(), SentinelMasterName, 1, 30*time.Second); err != nil {
		s.t.Fatal(err)
	}
}

func (s *Sentinel) procs() []*redisproc.Server {
	p := make([]*redisproc.Server, len(s.Sentinels))
	for i, sv := range s.Sentinels {
		p[i] = sv.p
	}
	return p
}

// Addrs are the Sentinels' addresses, for redis.FailoverOptions.SentinelAddrs.
func (s *Sentinel) Addrs() []string {
	a := make([]string, len(s.Sentinels))
	for i, sv := range s.Sentinels {
		a[i] = sv.Addr()
	}
	return a
}

// Client returns a new Sentinel-backed client of the primary (a
// *redis.Client from redis.NewFailoverClient, which follows failovers),
// honouring context deadlines, closed when the test ends.
func (s *Sentinel) Client() *redis.Client {
	c := redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName:            SentinelMasterName,
		SentinelAddrs:         s.Addrs(),
		ContextTimeoutEnabled: true,
	})
	s.t.Cleanup(func() { c.Close() })
	return c
}

// Master returns the address of the primary as the first Sentinel that
// answers sees it.
func (s *Sentinel) Master() (string, error) {
	var err error
	for _, sv := range s.Sentinels {
		if !sv.Running() {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		var a string
		a, err = redisproc.SentinelMaster(ctx, sv.Addr(), SentinelMasterName)
		cancel()
		if err == nil {
			return a, nil
		}
	}
	return "", err
}

// WaitFailover blocks until every running Sentinel names the same primary,
// other than old, and that server answers as a primary, and returns its
// address; it fails the test after timeout. Waiting for all of them, not
// the first that answers, matters to whoever restarts the old primary next:
// a Sentinel that has not yet heard of the failover still names old, and a
// client asking it would follow it to the restarted, empty server.
func (s *Sentinel) WaitFailover(old string, timeout time.Duration) string {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if a, ok := s.agreed(); ok && a != old && isPrimary(a) {
			return a
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("redistest: no agreed failover from %s within %v: %s", old, timeout, s.Describe())
	return ""
}

// agreed returns the primary every running Sentinel names, and whether they
// all answered and agree.
func (s *Sentinel) agreed() (string, bool) {
	primary := ""
	for _, sv := range s.Sentinels {
		if !sv.Running() {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		a, err := redisproc.SentinelMaster(ctx, sv.Addr(), SentinelMasterName)
		cancel()
		if err != nil || (primary != "" && a != primary) {
			return "", false
		}
		primary = a
	}
	return primary, primary != ""
}

// Describe reports, for a failing test's message, the primary each Sentinel
// names with its flags (TILT included), and the role each data server
// answers.
func (s *Sentinel) Describe() string {
	var b strings.Builder
	for _, sv := range s.Sentinels {
		fmt.Fprintf(&b, "sentinel %s: ", sv.Addr())
		if !sv.Running() {
			b.WriteString("stopped; ")
			continue
		}
		c := redis.NewSentinelClient(&redis.Options{Addr: sv.Addr(), MaxRetries: -1, DialTimeout: time.Second})
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		m, err := c.Master(ctx, SentinelMasterName).Result()
		ic := redis.NewClient(&redis.Options{Addr: sv.Addr(), MaxRetries: -1, DialTimeout: time.Second})
		info, err2 := ic.Info(ctx, "sentinel").Result()
		cancel()
		ic.Close()
		c.Close()
		if err != nil {
			fmt.Fprintf(&b, "%v; ", err)
			continue
		}
		tilt := "?"
		if err2 == nil {
			for _, l := range strings.Split(info, "\n") {
				if v, ok := strings.CutPrefix(strings.TrimSpace(l), "sentinel_tilt:"); ok {
					tilt = v
				}
			}
		}
		fmt.Fprintf(&b, "primary %s:%s flags %s tilt %s; ", m["ip"], m["port"], m["flags"], tilt)
	}
	for _, sv := range []*Server{s.Primary, s.Replica} {
		if r, err := roleOf(sv.Addr()); err != nil {
			fmt.Fprintf(&b, "server %s: %v; ", sv.Addr(), err)
		} else {
			fmt.Fprintf(&b, "server %s: %v; ", sv.Addr(), r)
		}
	}
	return b.String()
}

// roleOf is the reply of ROLE from the server at addr, asked within
// 500 ms.
func roleOf(addr string) ([]any, error) {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, ContextTimeoutEnabled: true})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	return c.Do(ctx, "ROLE").Slice()
}

// Server returns the data server (Primary or Replica) at addr, or nil.
func (s *Sentinel) Server(addr string) *Server {
	for _, sv := range []*Server{s.Primary, s.Replica} {
		if sv.Addr() == addr {
			return sv
		}
	}
	return nil
}

func isPrimary(addr string) bool {
	r, err := roleOf(addr)
	return err == nil && len(r) > 0 && r[0] == "master"
}
