package main

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/gatehouse-go/gatehouse/admission"
	"github.com/gatehouse-go/gatehouse/internal/redistest"
	"github.com/gatehouse-go/gatehouse/slots"
)

// The bounds every healthy run must meet (see doc.go, "Reading the report").
const (
	minPostOpeningSpearman = 0.99  // first come, first served after the opening
	earlySpearmanSigmas    = 4     // |rho| <= 4/sqrt(n-1) for the shuffled early arrivals
	minEarlyChiP           = 0.001 // chi-square over deciles not significant
	minETACalibration      = 0.9   // real wait inside the range shown
)

// checkHealthy asserts what every run against a correct system must show.
func checkHealthy(t *testing.T, rep *report) {
	t.Helper()
	if rep.Violations.Total != 0 {
		t.Errorf("violations: %+v", rep.Violations)
	}
	if exitStatus(rep) != exitOK {
		t.Errorf("exit status %d", exitStatus(rep))
	}
	if rep.Stopped != "" {
		t.Errorf("stopped early: %s", rep.Stopped)
	}
	if rep.PastOpening != 0 {
		t.Errorf("%d calls of a tick before the opening could read a clock past it", rep.PastOpening)
	}
	if !rep.Audit.Performed {
		t.Errorf("audit not performed: %s", rep.Audit.Error)
	}
	if got := rep.Audit.Booked; got != rep.Counts.Booked || got == 0 {
		t.Errorf("audit found %d bookings, the crowd was told of %d", got, rep.Counts.Booked)
	}
	if u := rep.Fates["unfinished"]; u != 0 {
		t.Errorf("%d people unfinished", u)
	}
	if f := rep.Fates["failed"]; f > int64(rep.People/100) {
		t.Errorf("%d people gave up after errors", f)
	}
	f := rep.Fairness
	if f.PostOpening.N < 100 || f.PostOpening.Spearman < minPostOpeningSpearman {
		t.Errorf("post-opening fairness: n=%d Spearman=%.5f, want >= %v", f.PostOpening.N, f.PostOpening.Spearman, minPostOpeningSpearman)
	}
	// Under independence rho is about normal with sd 1/sqrt(n-1).
	if bound := earlySpearmanSigmas / math.Sqrt(float64(f.Early.N-1)); f.Early.N < 100 || math.Abs(f.Early.Spearman) > bound {
		t.Errorf("early shuffle: n=%d Spearman=%.4f, want |rho| <= %.4f", f.Early.N, f.Early.Spearman, bound)
	}
	if f.Early.N >= 1000 && f.Early.PValue < minEarlyChiP {
		t.Errorf("early shuffle: chi-square over deciles %.1f (df %d), p=%.5f < %v", f.Early.ChiSquare, f.Early.DF, f.Early.PValue, minEarlyChiP)
	}
	if e := rep.ETA; e.WithEstimate < 100 || e.Calibration < minETACalibration {
		t.Errorf("ETA calibration %.3f over %d people, want >= %v", e.Calibration, e.WithEstimate, minETACalibration)
	}
	for name, a := range rep.Attacks.Skippers {
		if a.Tried == 0 || a.Refused != a.Tried {
			t.Errorf("skippers %s: %d of %d refused", name, a.Refused, a.Tried)
		}
	}
	if b := rep.Attacks.Backdoor; b.Tried == 0 || b.Refused != b.Tried {
		t.Errorf("backdoor: %d of %d refused", b.Refused, b.Tried)
	}
	if c := rep.Comebacks; c.WentAway == 0 || c.AdmittedAfterReturn == 0 {
		t.Errorf("comebacks: %+v", c)
	}
}

// rushPeople is a test's crowd size: full, or small with -short or under
// the race detector (which makes every event ~10 times slower: the
// examples module's whole -race run must stay near 90 s).
func rushPeople(full, small int) int {
	if testing.Short() || raceEnabled {
		return small
	}
	return full
}

func TestRushMemory(t *testing.T) {
	cfg := testConfig(t, "-people", itoa(rushPeople(20000, 6000)), "-fault", "maintenance@4m+1m")
	dir := t.TempDir()
	cfg.JSONPath = filepath.Join(dir, "rush.json")
	cfg.PlotDir = dir
	var out bytes.Buffer
	rep, err := simulate(context.Background(), &cfg, runEnv{stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())
	checkHealthy(t, rep)
	checkCPUFigures(t, rep)
	if n := rep.Outcomes["hold"]["maintenance"] + rep.Outcomes["confirm"]["maintenance"]; n == 0 {
		t.Error("no booking was refused for maintenance: the fault did not bite")
	}
	for _, f := range []string{"rush.json", "rush-queue.png", "rush-flow.png", "rush-eta.png", "rush-eta-time.png"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// serverFaults kills and restarts a redistest server.
type serverFaults struct{ s *redistest.Server }

func (f serverFaults) Kill() error    { f.s.Kill(); return nil }
func (f serverFaults) Restart() error { f.s.Restart(); return nil }

// redisFactory builds the in-process target on a test's Redis.
func redisFactory(addrs []string, faults faultControl) targetFactory {
	return func(ctx context.Context, cfg *config, clk clock.Clock, open time.Time, cr *crowd) (target, faultControl, func(), error) {
		rdb := newRedisClient(cfg, addrs, false)
		arb := newRedisClient(cfg, addrs, true)
		parts, err := redisParts(cfg, rdb, arb, clk)
		if err != nil {
			return nil, nil, nil, err
		}
		tg, err := newLibTarget(ctx, cfg, clk, open, cr, parts)
		if err != nil {
			return nil, nil, nil, err
		}
		return tg, faults, func() { parts.sw.(interface{ Close() error }).Close(); rdb.Close(); arb.Close() }, nil
	}
}

func TestRushRedis(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, redistest.Options{AOF: true})
	cfg := testConfig(t, "-people", itoa(rushPeople(5000, 2000)), "-store", "redis", "-redis-addr", srv.Addr(), "-fault", "maintenance@4m+1m", "-workers", "256", "-tick", "1s", "-prequeue", "3m", "-tail", "5m", "-rate", itoa(rushPeople(5000, 2000)/5))
	// A crash mid-rush: SIGKILL, 10 s (simulated) down, restart from the AOF.
	cfg.Faults = append(cfg.Faults, fault{Kind: "redis-restart", At: 2 * time.Minute, For: 10 * time.Second})
	var out bytes.Buffer
	rep, err := simulate(context.Background(), &cfg, runEnv{stdout: &out, newTarget: redisFactory([]string{srv.Addr()}, serverFaults{srv})})
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())
	checkHealthy(t, rep)
	if rep.Noop == nil || rep.Noop.MeanUS <= 0 {
		t.Error("no no-op baseline measured")
	}
	if len(rep.Faults) != 2 {
		t.Errorf("faults applied: %+v", rep.Faults)
	}
	for _, f := range rep.Faults {
		if f.Error != "" {
			t.Errorf("fault %s: %s", f.Kind, f.Error)
		}
	}
	if rep.Outcomes["status"]["unavailable"] == 0 {
		t.Error("no status call failed during the outage: the fault did not bite")
	}
	checkCPUFigures(t, rep)
	// After the restart the no-op is loaded again and sampled after the run.
	checkNoopBothEnds(t, rep)
	// The restart set Redis's CPU counters back to zero mid-run: Redis's
	// CPU over the run is unknown, and so are its figures in floors.
	if st := rep.Store; st == nil || st.RedisCPUUSPerPerson > 0 || st.RedisCPUOverFloor != 0 || st.RedisBusy != 0 || st.MachineCPUOverFloor != 0 ||
		st.RedisOtherCPUSeconds != 0 || st.RedisChildrenCPUSeconds != 0 || st.AOFRewrites != 0 {
		t.Errorf("store block after a restart: %+v; want no Redis CPU figures", st)
	}
}

// checkRedisFigures: Redis's CPU over the run, in floors and as a share of
// the wall time.
func checkRedisFigures(t *testing.T, rep *report) {
	t.Helper()
	st := rep.Store
	if st == nil || st.FloorWallSeconds <= 0 || st.RedisCPUUSPerPerson <= 0 {
		t.Fatalf("store block without a floor or Redis CPU: %+v", st)
	}
	redisSec := st.RedisCPUUSPerPerson * float64(rep.People) / 1e6
	if got, want := st.RedisCPUOverFloor, redisSec/st.FloorWallSeconds; math.Abs(got-want) > 1e-9*want {
		t.Errorf("redis_cpu_over_floor %v, want Redis's CPU over the floor %v", got, want)
	}
	if got, want := st.RedisBusy, redisSec/rep.WallSeconds; math.Abs(got-want) > 1e-9*want {
		t.Errorf("redis_busy %v, want Redis's CPU over the wall time %v", got, want)
	}
	// In process, the machine's figures: this process's and Redis's CPU
	// over every core, in floors and over the wall time.
	if rep.SimCPUSeconds <= 0 || st.Cores != runtime.NumCPU() {
		t.Fatalf("store block without the machine's figures (simulator CPU %v s, cores %d): %+v", rep.SimCPUSeconds, st.Cores, st)
	}
	both := (rep.SimCPUSeconds + redisSec) / float64(st.Cores)
	if got, want := st.MachineCPUOverFloor, both/st.FloorWallSeconds; math.Abs(got-want) > 1e-9*want {
		t.Errorf("machine_cpu_over_floor %v, want both CPUs over the cores and the floor %v", got, want)
	}
	if got, want := st.MachineBusy, both/rep.WallSeconds; math.Abs(got-want) > 1e-9*want {
		t.Errorf("machine_busy %v, want both CPUs over the cores and the wall time %v", got, want)
	}
	// The machine as Linux counts it: a share of the run's CPU time, and
	// Redis's CPU besides the main thread, never negative.
	if _, err := os.Stat("/proc/stat"); err == nil && (st.MachineBusyMeasured <= 0 || st.MachineBusyMeasured > 1) {
		t.Errorf("machine_busy_measured %v, want a share in (0, 1]", st.MachineBusyMeasured)
	}
	if st.RedisOtherCPUSeconds < 0 || st.RedisChildrenCPUSeconds < 0 || st.AOFRewrites < 0 {
		t.Errorf("Redis's other CPU %v s, children %v s, %d rewrites", st.RedisOtherCPUSeconds, st.RedisChildrenCPUSeconds, st.AOFRewrites)
	}
	checkNoopBothEnds(t, rep)
	if got, want := st.FloorRatio, st.RedisCPUUSPerPerson/(4*rep.Noop.CPUUS); math.Abs(got-want) > 1e-9*want {
		t.Errorf("floor_ratio %v, want Redis's CPU per person over four pooled no-ops %v", got, want)
	}
}

// checkNoopBothEnds: the no-op was sampled before and after the run, and
// the floor and the CPU unit are the pooled medians.
func checkNoopBothEnds(t *testing.T, rep *report) {
	t.Helper()
	n := rep.Noop
	if n == nil || n.ParallelSamples != 2*noopSamples || n.BeforeCPUUS <= 0 || n.AfterCPUUS <= 0 || n.BeforePerSec <= 0 || n.AfterPerSec <= 0 {
		t.Fatalf("no-op not sampled at both ends of the run: %+v", n)
	}
	if n.CPUUS < n.CPUMinUS || n.CPUUS > n.CPUMaxUS || min(n.BeforeCPUUS, n.AfterCPUUS) < n.CPUMinUS || max(n.BeforeCPUUS, n.AfterCPUUS) > n.CPUMaxUS {
		t.Errorf("pooled no-op CPU %v outside its range [%v, %v], or an end's median %v, %v outside it", n.CPUUS, n.CPUMinUS, n.CPUMaxUS, n.BeforeCPUUS, n.AfterCPUUS)
	}
	if st := rep.Store; st == nil || st.NoopRedisCPUUS != n.CPUUS {
		t.Errorf("store block's no-op unit %+v, want the pooled %v", st, n.CPUUS)
	}
	if st := rep.Store; st != nil && st.FloorWallSeconds > 0 {
		if want := float64(rep.People) * 4 / n.ParallelPerSec; math.Abs(st.FloorWallSeconds-want) > 1e-9*want {
			t.Errorf("floor %v s, want people x 4 / the pooled no-op rate %v", st.FloorWallSeconds, want)
		}
	}
}

// checkCPUFigures: the report gives this process's CPU over the main loop,
// and per person, where /proc has it.
func checkCPUFigures(t *testing.T, rep *report) {
	t.Helper()
	if runtime.GOOS != "linux" {
		return
	}
	// The main loop ran every person's night: it cannot have cost less
	// than one clock tick (10 ms) of CPU.
	if rep.SimCPUSeconds < 0.01 {
		t.Errorf("sim_cpu_seconds %v: the main loop's CPU was not measured", rep.SimCPUSeconds)
	}
	if got, want := rep.SimCPUUSPerPerson, rep.SimCPUSeconds*1e6/float64(rep.People); math.Abs(got-want) > 1e-9*want {
		t.Errorf("sim_cpu_us_per_person %v, want %v", got, want)
	}
}

func TestRushRedisCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster run skipped with -short")
	}
	t.Parallel()
	c := redistest.StartCluster(t, redistest.Options{})
	cfg := testConfig(t, "-people", itoa(rushPeople(3000, 1000)), "-workers", "128", "-tick", "1s", "-prequeue", "3m", "-tail", "5m", "-rate", "300", "-store", "redis-cluster", "-redis-addr", c.Servers[0].Addr())
	var out bytes.Buffer
	rep, err := simulate(context.Background(), &cfg, runEnv{stdout: &out, newTarget: redisFactory(c.Addrs(), nil)})
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())
	checkHealthy(t, rep)
	checkCPUFigures(t, rep)
	checkRedisFigures(t, rep)
}

func itoa(n int) string { return string(appendInt(nil, n)) }

func appendInt(b []byte, n int) []byte {
	if n >= 10 {
		b = appendInt(b, n/10)
	}
	return append(b, byte('0'+n%10))
}

var (
	_ = admission.ErrInvalidPass
	_ = slots.ErrFull
)
