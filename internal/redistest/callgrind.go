package redistest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
)

// BenchInstr is BenchCPU's deterministic twin, for a redis-server run under
// valgrind --tool=callgrind (a wrapper named redis-server first on PATH
// that execs valgrind --tool=callgrind /usr/bin/redis-server "$@"; the
// servers tests start are then instrumented). It runs op b.N times and
// NoopScript b.N times on c (one server: a *redis.Client), from 8 callers
// when parallel, and reports the server's main-thread instructions per
// call (callgrind_control -z before, -e Ir after) as "instr/op",
// "noop-instr/op", "extra-instr/op" (op's beyond the no-op's) and
// "instr-x-noop". Instruction counts do not move with the machine's load,
// so they show a script's cost to within a percent from one short run;
// they leave out kernel time, which BenchCPU counts.
//
// With CallgrindDumpEnv set it also dumps op's profile (callgrind_control
// --dump), for callgrind_annotate.
//
// It skips b when the server is not running under callgrind.
func BenchInstr(b *testing.B, c *redis.Client, noopKey string, parallel bool, op func(ctx context.Context) error) {
	b.Helper()
	ctx := b.Context()
	pid, err := serverPID(ctx, c)
	if err != nil {
		b.Fatalf("redistest: %v", err)
	}
	if _, err := callgrindIr(pid); err != nil {
		b.Skipf("redistest: redis-server (pid %d) is not running under callgrind: %v", pid, err)
	}
	if err := NoopScript.Run(ctx, c, []string{noopKey}).Err(); err != nil {
		b.Fatalf("redistest: no-op script: %v", err)
	}
	noop := func(ctx context.Context) error {
		return NoopScript.EvalSha(ctx, c, []string{noopKey}).Err()
	}
	callers := 1
	if parallel {
		callers = 8
	}
	// Open every caller's connection first.
	if err := runCallers(ctx, callers, callers*2, noop); err != nil {
		b.Fatal(err)
	}
	count := func(f func(context.Context) error) float64 {
		if out, err := exec.Command("callgrind_control", "-z", strconv.Itoa(pid)).CombinedOutput(); err != nil {
			b.Fatalf("redistest: callgrind_control -z: %v: %s", err, out)
		}
		if err := runCallers(ctx, callers, b.N, f); err != nil {
			b.Fatal(err)
		}
		ir, err := callgrindIr(pid)
		if err != nil {
			b.Fatalf("redistest: %v", err)
		}
		return float64(ir) / float64(b.N)
	}
	b.ReportAllocs()
	b.ResetTimer()
	opIr := count(op)
	b.StopTimer()
	if os.Getenv(CallgrindDumpEnv) != "" {
		// Keep a profile of op for callgrind_annotate: b.N more calls
		// (reading the counters restarts them, so this is a run of its own).
		if out, err := exec.Command("callgrind_control", "-z", strconv.Itoa(pid)).CombinedOutput(); err != nil {
			b.Fatalf("redistest: callgrind_control -z: %v: %s", err, out)
		}
		if err := runCallers(ctx, callers, b.N, op); err != nil {
			b.Fatal(err)
		}
		if out, err := exec.Command("callgrind_control", "--dump="+b.Name(), strconv.Itoa(pid)).CombinedOutput(); err != nil {
			b.Fatalf("redistest: callgrind_control --dump: %v: %s", err, out)
		}
	}
	noopIr := count(noop)
	b.ReportMetric(opIr, "instr/op")
	b.ReportMetric(noopIr, "noop-instr/op")
	b.ReportMetric(opIr-noopIr, "extra-instr/op")
	b.ReportMetric(opIr/noopIr, "instr-x-noop")
}

// CallgrindDumpEnv, when set, makes BenchInstr dump each operation's
// profile.
const CallgrindDumpEnv = "GATEHOUSE_CALLGRIND_DUMP"

// runCallers runs f n times from callers goroutines.
func runCallers(ctx context.Context, callers, n int, f func(context.Context) error) error {
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				if err := f(ctx); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// serverPID returns the process id a server reports (INFO server).
func serverPID(ctx context.Context, c *redis.Client) (int, error) {
	info, err := c.Info(ctx, "server").Result()
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "process_id:"); ok {
			return strconv.Atoi(v)
		}
	}
	return 0, fmt.Errorf("INFO server has no process_id")
}

// callgrindIr returns the instructions the main thread (callgrind's
// thread 1) ran since the counters were last zeroed.
func callgrindIr(pid int) (int64, error) {
	out, err := exec.Command("callgrind_control", "-e", "Ir", strconv.Itoa(pid)).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("callgrind_control -e Ir: %v: %s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == "Th" && f[1] == "1" {
			return strconv.ParseInt(strings.ReplaceAll(f[2], ",", ""), 10, 64)
		}
	}
	return 0, fmt.Errorf("callgrind_control -e Ir: no thread 1 in %q", out)
}
