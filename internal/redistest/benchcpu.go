package redistest

import (
	"bufio"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// BenchCPU runs op b.N times (in b.RunParallel when parallel) and reports,
// beside ns/op, the custom metrics "redis-cpu-us/op" and "cpu-x-noop":
// Redis main-thread CPU per call (INFO cpu used_cpu_sys_main_thread +
// used_cpu_user_main_thread, summed over every master the client reaches)
// divided by that of NoopScript run the same way on the same servers in the
// same benchmark (noopKey picks the shard: pass a key under the op's hash
// tag).
//
// Main-thread CPU includes the socket work of each call, so a plain GET
// comes out just under 1 and the ratio says what an operation costs Redis
// beyond the round trip every call pays. Unlike ns/op, it holds when the
// machine is shared: it counts the server's CPU, not the time callers wait.
//
// Use b.SetParallelism beforehand to choose the number of callers. The
// timer covers op only. NoopScript runs outside it, b.N times in all but
// at most 20,000, with the same parallelism, taking turns with op in six
// rounds around op's five, so that both see the same load on a shared
// machine (its wall time per call is reported too, as "noop-ns/op").
// op receives b.Context(); an error from op fails the benchmark.
// A server that does not report the main-thread figures (before Redis 6.2)
// is measured with used_cpu_sys + used_cpu_user instead, which also counts
// background threads.
func BenchCPU(b *testing.B, c redis.UniversalClient, noopKey string, parallel bool, op func(ctx context.Context) error) {
	b.Helper()
	ctx := b.Context()
	// Load the no-op on the shard that owns noopKey, outside the timer.
	if err := NoopScript.Run(ctx, c, []string{noopKey}).Err(); err != nil {
		b.Fatalf("redistest: no-op script: %v", err)
	}
	noop := func(ctx context.Context) error {
		return NoopScript.EvalSha(ctx, c, []string{noopKey}).Err()
	}
	if parallel {
		// Open every caller's connection before measuring: a dial costs
		// Redis CPU (HELLO, CLIENT SETINFO) that belongs to neither figure.
		b.RunParallel(func(pb *testing.PB) {
			for range 2 {
				if err := noop(ctx); err != nil {
					b.Error(err)
				}
			}
			for pb.Next() {
			}
		})
	}

	// The operation and the no-op take turns, in rounds, so that a change
	// in the machine's load during the run weighs on both figures alike.
	noopN := max(benchRounds+1, min(b.N, maxNoopCalls))
	var opCPU, noopCPU float64
	var noopWall time.Duration
	noopChunk := func(i int) {
		start := time.Now()
		noopCPU += measureCPU(b, c, parallel, part(noopN, benchRounds+1, i), noop)
		noopWall += time.Since(start)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.StopTimer()
	for i := range benchRounds {
		noopChunk(i)
		if n := part(b.N, benchRounds, i); n > 0 {
			b.StartTimer()
			opCPU += measureCPU(b, c, parallel, n, op)
			b.StopTimer()
		}
	}
	noopChunk(benchRounds)
	if b.Failed() {
		return
	}
	b.ReportMetric(opCPU/float64(b.N), "redis-cpu-us/op")
	b.ReportMetric(float64(noopWall.Nanoseconds())/float64(noopN), "noop-ns/op")
	if noopCPU > 0 {
		b.ReportMetric((opCPU/float64(b.N))/(noopCPU/float64(noopN)), "cpu-x-noop")
	}
}

// benchRounds is the number of turns the operation takes, each between two
// turns of the no-op.
const benchRounds = 5

// part returns the size of the i-th of k near-equal parts of n.
func part(n, k, i int) int { return n*(i+1)/k - n*i/k }

// maxNoopCalls bounds the no-op's calls per benchmark run: enough for its
// CPU per call to be exact to a few percent, and a cheap operation (one
// that rarely reaches Redis, measured over millions of calls) does not pay
// millions of round trips for its baseline.
const maxNoopCalls = 20000

// measureCPU runs f n times (n <= b.N) and returns the Redis main-thread CPU
// it cost, in microseconds, summed over every master of c. When parallel,
// the calls are shared out by b.RunParallel's goroutines, so they run with
// the benchmark's parallelism.
func measureCPU(b *testing.B, c redis.UniversalClient, parallel bool, n int, f func(context.Context) error) float64 {
	b.Helper()
	before, err := MainThreadCPU(b.Context(), c)
	if err != nil {
		b.Fatalf("redistest: INFO cpu: %v", err)
	}
	if parallel {
		var next atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			ctx := b.Context()
			for pb.Next() {
				if next.Add(1) > int64(n) {
					continue // drain: RunParallel insists on b.N iterations
				}
				if err := f(ctx); err != nil {
					b.Error(err)
					next.Store(int64(n))
				}
			}
		})
	} else {
		ctx := b.Context()
		for range n {
			if err := f(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	after, err := MainThreadCPU(b.Context(), c)
	if err != nil {
		b.Fatalf("redistest: INFO cpu: %v", err)
	}
	return after - before
}

// MainThreadCPU returns the Redis main-thread CPU time consumed so far, in
// microseconds, summed over every master c reaches (each master of a
// Cluster, each shard of a Ring, the one server otherwise): INFO cpu
// used_cpu_sys_main_thread + used_cpu_user_main_thread, or used_cpu_sys +
// used_cpu_user on a server that lacks the main-thread fields.
func MainThreadCPU(ctx context.Context, c redis.UniversalClient) (float64, error) {
	var (
		mu    sync.Mutex
		total float64
	)
	add := func(ctx context.Context, n *redis.Client) error {
		info, err := n.Info(ctx, "cpu").Result()
		if err != nil {
			return err
		}
		us, err := parseCPU(info)
		if err != nil {
			return fmt.Errorf("%s: %w", n.Options().Addr, err)
		}
		mu.Lock()
		total += us
		mu.Unlock()
		return nil
	}
	var err error
	switch cc := c.(type) {
	case *redis.ClusterClient:
		err = cc.ForEachMaster(ctx, add)
	case *redis.Ring:
		err = cc.ForEachShard(ctx, add)
	case *redis.Client:
		err = add(ctx, cc)
	default:
		return 0, fmt.Errorf("unsupported client type %T", c)
	}
	return total, err
}

// parseCPU reads an INFO cpu answer and returns main-thread CPU in
// microseconds.
func parseCPU(info string) (float64, error) {
	fields := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			continue
		}
		fields[k] = f
	}
	sys, okS := fields["used_cpu_sys_main_thread"]
	user, okU := fields["used_cpu_user_main_thread"]
	if !okS || !okU {
		sys, okS = fields["used_cpu_sys"]
		user, okU = fields["used_cpu_user"]
	}
	if !okS || !okU {
		return 0, fmt.Errorf("INFO cpu has no used_cpu_sys/used_cpu_user")
	}
	return (sys + user) * 1e6, nil
}
