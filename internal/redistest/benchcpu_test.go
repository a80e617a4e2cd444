package redistest_test

import (
	"context"
	"flag"
	"strings"
	"testing"

	"github.com/gatehouse-go/gatehouse/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// heavyScript does measurably more work than the no-op: 200 INCRs.
var heavyScript = redis.NewScript(`for i = 1, 200 do redis.call('INCR', KEYS[1]) end return 0`)

// benchCPU runs redistest.BenchCPU through testing.Benchmark with a fixed
// number of calls (so the test stays short) and returns its cpu-x-noop.
func benchCPU(t *testing.T, c redis.UniversalClient, noopKey string, op func(ctx context.Context) error) float64 {
	t.Helper()
	bt := flag.Lookup("test.benchtime")
	old := bt.Value.String()
	if err := bt.Value.Set("4000x"); err != nil {
		t.Fatal(err)
	}
	defer bt.Value.Set(old)
	r := testing.Benchmark(func(b *testing.B) {
		b.SetParallelism(8)
		redistest.BenchCPU(b, c, noopKey, true, op)
	})
	if r.N == 0 {
		t.Fatal("the benchmark failed")
	}
	x, ok := r.Extra["cpu-x-noop"]
	if !ok || r.Extra["redis-cpu-us/op"] <= 0 {
		t.Fatalf("metrics missing or zero: %v", r.Extra)
	}
	t.Logf("N=%d %v", r.N, r.Extra)
	return x
}

func TestBenchCPU(t *testing.T) {
	c := redistest.Start(t, redistest.Options{}).Client()
	ctx := context.Background()
	if err := heavyScript.Load(ctx, c).Err(); err != nil {
		t.Fatal(err)
	}
	noop := func(ctx context.Context) error {
		return redistest.NoopScript.EvalSha(ctx, c, []string{"{a}:noop"}).Err()
	}
	heavy := func(ctx context.Context) error {
		return heavyScript.EvalSha(ctx, c, []string{"{a}:n"}).Err()
	}
	if x := benchCPU(t, c, "{a}:noop", noop); x < 0.5 || x > 2 {
		t.Errorf("no-op against itself: cpu-x-noop %.2f, want about 1", x)
	}
	if x := benchCPU(t, c, "{a}:noop", heavy); x < 3 {
		t.Errorf("200 INCRs per call: cpu-x-noop %.2f, want well above 1", x)
	}
}

// TestBenchCPUSumsClusterMasters runs the heavy script on a shard other
// than the no-op's: only a sum over every master sees its cost.
func TestBenchCPUSumsClusterMasters(t *testing.T) {
	c := redistest.StartCluster(t, redistest.Options{}).Client()
	ctx := context.Background()
	// {a} and {b} hash to slots 15495 and 3300: different masters.
	if c.ClusterKeySlot(ctx, "{a}").Val()/5461 == c.ClusterKeySlot(ctx, "{b}").Val()/5461 {
		t.Fatal("{a} and {b} on the same master")
	}
	if err := heavyScript.Run(ctx, c, []string{"{b}:n"}).Err(); err != nil {
		t.Fatal(err)
	}
	heavy := func(ctx context.Context) error {
		return heavyScript.EvalSha(ctx, c, []string{"{b}:n"}).Err()
	}
	if x := benchCPU(t, c, "{a}:noop", heavy); x < 3 {
		t.Errorf("heavy script on another master: cpu-x-noop %.2f, want well above 1", x)
	}
}

func TestMainThreadCPUUnsupportedClient(t *testing.T) {
	var c redis.UniversalClient = (*fakeClient)(nil)
	if _, err := redistest.MainThreadCPU(context.Background(), c); err == nil || !strings.Contains(err.Error(), "unsupported") {
		t.Fatalf("err = %v", err)
	}
}

type fakeClient struct{ redis.UniversalClient }
