package redistest_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-go/gatehouse/internal/redistest"
	"github.com/redis/go-redis/v9"
)

func TestStandaloneStartsOnLoopbackNotDefaultPort(t *testing.T) {
	s := redistest.Start(t, redistest.Options{})
	if s.Port() == 6379 {
		t.Fatal("server on the default port 6379")
	}
	if !strings.HasPrefix(s.Addr(), "127.0.0.1:") {
		t.Fatalf("addr %q is not loopback", s.Addr())
	}
	ctx := context.Background()
	c := s.Client()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got := c.Get(ctx, "k").Val(); got != "v" {
		t.Fatalf("get = %q", got)
	}
}

func TestKillRestartKeepsAOFWrites(t *testing.T) {
	s := redistest.Start(t, redistest.Options{AOF: true})
	ctx := context.Background()
	c := s.Client()
	for i := range 100 {
		if err := c.Set(ctx, fmt.Sprint("k", i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	s.Kill()
	if s.Running() {
		t.Fatal("running after Kill")
	}
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("PING answered by a killed server")
	}
	s.Restart()
	if !s.Running() {
		t.Fatal("not running after Restart")
	}
	n, err := c.DBSize(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	if n != 100 {
		t.Fatalf("after kill -9 and restart: %d keys, want 100", n)
	}
}

func TestKillWithoutAOFLosesData(t *testing.T) {
	// The control for the test above: without persistence a crash loses
	// everything, so the AOF test is not passing by accident.
	s := redistest.Start(t, redistest.Options{})
	ctx := context.Background()
	c := s.Client()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	s.Kill()
	s.Restart()
	if n := c.DBSize(ctx).Val(); n != 0 {
		t.Fatalf("%d keys survived a crash without persistence", n)
	}
}

func TestClusterHasThreeShards(t *testing.T) {
	cl := redistest.StartCluster(t, redistest.Options{})
	ctx := context.Background()
	c := cl.Client()

	// Write keys until every one of the three masters holds at least one.
	for i := range 64 {
		if err := c.Set(ctx, fmt.Sprintf("{tag%d}:k", i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	shards := map[string]int64{}
	err := c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		n, err := m.DBSize(ctx).Result()
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		shards[m.Options().Addr] = n
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(shards) != 3 {
		t.Fatalf("%d masters, want 3: %v", len(shards), shards)
	}
	var total int64
	for addr, n := range shards {
		if n == 0 {
			t.Errorf("master %s holds no key: %v", addr, shards)
		}
		total += n
	}
	if total != 64 {
		t.Fatalf("masters hold %d keys in all, want 64", total)
	}
	// A multi-key command across hash tags must be refused: it proves the
	// keys really live on different shards.
	if err := c.Do(ctx, "MGET", "{tag0}:k", "{tag1}:k").Err(); err == nil || !strings.Contains(err.Error(), "CROSSSLOT") {
		t.Fatalf("MGET across tags: %v, want CROSSSLOT", err)
	}
}

func TestClusterNodeKillRestart(t *testing.T) {
	cl := redistest.StartCluster(t, redistest.Options{AOF: true})
	ctx := context.Background()
	c := cl.Client()
	if err := c.Set(ctx, "{a}x", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	for _, s := range cl.Servers {
		s.Kill()
		s.Restart()
	}
	if got, err := c.Get(ctx, "{a}x").Result(); err != nil || got != "1" {
		t.Fatalf("after restarting every node: %q, %v", got, err)
	}
}

// TestMissingBinary runs this test binary again with an empty PATH, once
// without and once with GATEHOUSE_REQUIRE_REDIS, and checks that the inner
// test skips in the first case and fails in the second.
func TestMissingBinary(t *testing.T) {
	if os.Getenv("REDISTEST_INNER") != "" {
		redistest.Start(t, redistest.Options{})
		t.Fatal("Start returned without redis-server on the PATH")
		return
	}
	for _, tc := range []struct {
		require bool
		want    string
	}{
		{false, "--- SKIP: TestMissingBinary"},
		{true, "--- FAIL: TestMissingBinary"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMissingBinary$", "-test.v")
		cmd.Env = []string{"PATH=" + t.TempDir(), "REDISTEST_INNER=1", "HOME=" + t.TempDir()}
		if tc.require {
			cmd.Env = append(cmd.Env, redistest.RequireEnv+"=1")
		}
		out, err := cmd.CombinedOutput()
		if !strings.Contains(string(out), tc.want) {
			t.Errorf("require=%v: want %q in output, got (err %v):\n%s", tc.require, tc.want, err, out)
		}
		if tc.require != (err != nil) {
			t.Errorf("require=%v: exit error %v", tc.require, err)
		}
	}
}
