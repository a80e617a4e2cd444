package redistest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/internal/redistest"
)

func TestSentinelFailsOverToTheReplica(t *testing.T) {
	s := redistest.StartSentinel(t, redistest.Options{})
	if len(s.Sentinels) != 3 {
		t.Fatalf("%d Sentinels, want 3", len(s.Sentinels))
	}
	for _, sv := range append([]*redistest.Server{s.Primary, s.Replica}, s.Sentinels...) {
		if sv.Port() == 6379 {
			t.Fatal("a process on the default port 6379")
		}
	}
	old, err := s.Master()
	if err != nil || old != s.Primary.Addr() {
		t.Fatalf("Sentinels name %q (%v) as the primary, want %s", old, err, s.Primary.Addr())
	}
	c := s.Client()
	ctx := context.Background()
	if err := c.Set(ctx, "k", "before", 0).Err(); err != nil {
		t.Fatal(err)
	}
	// The write reaches the replica.
	if n, err := c.Do(ctx, "WAIT", 1, 2000).Int(); err != nil || n != 1 {
		t.Fatalf("WAIT 1 = %d, %v", n, err)
	}

	s.Primary.Kill()
	promoted := s.WaitFailover(old, 30*time.Second)
	if promoted != s.Replica.Addr() {
		t.Fatalf("promoted %s, want the replica %s", promoted, s.Replica.Addr())
	}
	// The failover client follows: the replicated write is there, and new
	// writes go to the new primary.
	deadline := time.Now().Add(10 * time.Second)
	for {
		cctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		err = c.Set(cctx, "k2", "after", 0).Err()
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no write accepted after the failover: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if v := c.Get(ctx, "k").Val(); v != "before" {
		t.Fatalf("replicated key = %q after failover", v)
	}
	// What a failing failover test prints: every Sentinel names the new
	// primary, and the old one is down.
	d := s.Describe()
	if strings.Count(d, "primary "+promoted) != 3 || !strings.Contains(d, "server "+promoted+": [master") {
		t.Errorf("Describe after the failover to %s: %s", promoted, d)
	}
}

func TestPauseDebugSleepAndDropClients(t *testing.T) {
	s := redistest.Start(t, redistest.Options{})
	c := s.Client()
	ctx := context.Background()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	call := func() (time.Duration, error) {
		cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := c.Ping(cctx).Err()
		return time.Since(start), err
	}

	s.Pause()
	if d, err := call(); err == nil || d > time.Second {
		t.Fatalf("PING to a paused server: %v after %v, want a timeout by the deadline", err, d)
	}
	s.Resume()
	if _, err := call(); err != nil {
		t.Fatalf("PING after resume: %v", err)
	}

	done := s.DebugSleep(time.Second)
	if d, err := call(); err == nil || d > time.Second {
		t.Fatalf("PING during DEBUG SLEEP: %v after %v, want a timeout by the deadline", err, d)
	}
	<-done
	if _, err := call(); err != nil {
		t.Fatalf("PING after DEBUG SLEEP: %v", err)
	}

	id, err := c.ClientID(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	s.DropClients()
	// go-redis notices the closed connection and dials again.
	if err := c.Ping(ctx).Err(); err != nil {
		if err := c.Ping(ctx).Err(); err != nil {
			t.Fatalf("PING after the connections were dropped: %v", err)
		}
	}
	if id2, err := c.ClientID(ctx).Result(); err != nil || id2 == id {
		t.Fatalf("client id %d after CLIENT KILL, was %d (%v): the connection was not dropped", id2, id, err)
	}
}
