package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"syscall"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/redis/go-redis/v9"
)

// Exit statuses.
const (
	exitOK         = 0
	exitViolations = 1 // the run completed and a violation count is not zero
	exitUsage      = 2 // bad flags
	exitError      = 3 // the run could not be carried out
)

func init() {
	// go-redis logs every failed dial; the report counts them instead.
	redis.SetLogger(quietRedis{})
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tuneGC(os.Getenv, memTotal())
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run is the program: flags in, report out, exit status back.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runWith(ctx, args, runEnv{stdout: stdout, stderr: stderr})
}

// runWith is run with env's target factory (tests).
func runWith(ctx context.Context, args []string, env runEnv) int {
	stderr := env.stderr
	if stderr == nil {
		stderr = io.Discard
	}
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintln(stderr, "rush:", err)
		return exitUsage
	}
	env.progress = !cfg.Quiet && isTerminal(stderr)
	if cfg.CPUProfile != "" {
		stopProfile, err := startCPUProfile(cfg.CPUProfile)
		if err != nil {
			fmt.Fprintln(stderr, "rush:", err)
			return exitError
		}
		defer stopProfile()
	}
	if cfg.MemProfile != "" {
		defer func() {
			if err := writeMemProfile(cfg.MemProfile); err != nil {
				fmt.Fprintln(stderr, "rush:", err)
			}
		}()
	}
	status := exitOK
	if cfg.PacingCompare {
		// The same crowd first with the controller off; its pacing
		// figures go beside the controller's in the report.
		off := cfg
		off.Pacing, off.PacingCompare, off.JSONPath, off.PlotDir, off.TickLog = false, false, "", "", ""
		if env.stdout != nil {
			fmt.Fprintln(env.stdout, "== the same crowd with the controller off ==")
		}
		rep, err := simulate(ctx, &off, env)
		if err != nil {
			fmt.Fprintln(stderr, "rush:", err)
			return exitError
		}
		status = exitStatus(rep)
		cfg.baseline = rep.Pacing
		if env.stdout != nil {
			fmt.Fprintln(env.stdout, "== with the controller ==")
		}
	}
	rep, err := simulate(ctx, &cfg, env)
	if err != nil {
		fmt.Fprintln(stderr, "rush:", err)
		return exitError
	}
	return max(status, exitStatus(rep))
}

type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

// exitStatus is non-zero when any violation count is.
func exitStatus(r *report) int {
	if r.Violations.Total != 0 {
		return exitViolations
	}
	return exitOK
}

// runEnv is how a run talks to the world; tests replace the target.
type runEnv struct {
	stdout, stderr io.Writer
	progress       bool
	// newTarget, when set, builds the system under test instead of the
	// one the configuration names (tests: broken or fake targets).
	newTarget targetFactory
}

// targetFactory builds a target for cfg, whose library reads clk and whose
// room opens at open, with the crowd's slots. It may return a
// faultControl for Redis faults, and a cleanup.
type targetFactory func(ctx context.Context, cfg *config, clk clock.Clock, open time.Time, cr *crowd) (target, faultControl, func(), error)

// simulate runs the rush described by cfg and writes the reports.
func simulate(ctx context.Context, cfg *config, env runEnv) (*report, error) {
	if env.stdout == nil {
		env.stdout = io.Discard
	}
	if env.stderr == nil {
		env.stderr = io.Discard
	}
	cr := newCrowd(cfg)
	var clk clock.Clock
	var open time.Time
	if cfg.Realtime {
		clk = clock.New()
		// Open Prequeue from now, on a whole second.
		open = time.Now().Add(cfg.openAt()).Truncate(time.Second).Add(time.Second)
	} else {
		open = openingInstant
		clk = newSimClock(simStartFor(cfg, open))
	}
	cr.backend = newBackendModel(cfg, simStartFor(cfg, open), open, int((cfg.openAt()+cfg.MaxSim)/time.Second)+2)
	factory := env.newTarget
	if factory == nil {
		factory = defaultTarget
	}
	tgt, faults, cleanup, err := factory(ctx, cfg, clk, open, cr)
	if err != nil {
		return nil, err
	}
	if cleanup != nil {
		defer cleanup()
	}
	defer tgt.Close()
	if st, ok := tgt.(serverTarget); ok {
		// A server keeps its own clock and slots: fit the crowd to them.
		open = st.opening()
		pre := time.Until(open).Truncate(cfg.Tick)
		if pre < 0 {
			return nil, fmt.Errorf("the server's booking opened at %s, before this run: start it with a later opening", open.Format(time.RFC3339))
		}
		if pre < cfg.Prequeue || cfg.Early == 0 {
			cfg.Prequeue = pre
		}
		if cfg.Prequeue == 0 {
			cfg.Early = 0
		}
		ids, caps := st.slotList()
		cfg.Slots = 0
		for _, c := range caps {
			cfg.Slots += c
		}
		cr = newCrowd(cfg)
		cr.setSlots(ids, caps)
		cfg.SlotCapacity = slices.Max(caps)
		// The crowd starts arriving Prequeue before the opening.
		fmt.Fprintf(env.stderr, "rush: server opens booking at %s; crowd of %d for %d places in %d slots\n",
			open.Format(time.RFC3339), cfg.People, cfg.Slots, len(ids))
	}

	var noop *noopStat
	if m, ok := tgt.(noopMeasurer); ok && cfg.NoopRounds > 0 {
		// The crowd was just built: collect it first, so that the
		// collector's background work does not slow the no-op (which
		// would make the floor longer, and the run look closer to it).
		runtime.GC()
		if noop, err = m.measureNoop(ctx, cfg.NoopRounds, cfg.Workers); err != nil {
			return nil, fmt.Errorf("no-op baseline: %w", err)
		}
	}

	s := newSim(ctx, cfg, cr, tgt, clk, simStartFor(cfg, open))
	s.faults = faults
	if cfg.TickLog != "" {
		f, err := os.Create(cfg.TickLog)
		if err != nil {
			return nil, err
		}
		s.tickLog = bufio.NewWriter(f)
		fmt.Fprintln(s.tickLog, "# tick events store_events wall_us start_us")
		defer func() {
			if err := errors.Join(s.tickLog.Flush(), f.Close()); err != nil {
				fmt.Fprintln(env.stderr, "rush: -ticklog:", err)
			}
		}()
	}
	if env.progress {
		s.progress = newBarProgress(env.stderr, cfg.People)
	}
	runtime.GC()
	wall := s.run()
	var multi *multiStat
	if ms, ok := tgt.(multiStater); ok {
		multi = ms.multiStatFor(ctx, s, wall)
	}
	var store *storeStat
	if ss, ok := tgt.(storeStater); ok {
		store = ss.storeStat(ctx, cfg.People)
		if store != nil && restarts(cfg) {
			// A restart set Redis's CPU counters back to zero mid-run:
			// its CPU over the run is not known.
			store.RedisCPUUSPerPerson = 0
		}
	}
	// The no-op again, now that Redis's CPU over the run has been read:
	// the floor and the CPU unit are the medians of both ends.
	if m, ok := tgt.(noopMeasurer); ok && noop != nil {
		if err := m.measureNoopAfter(ctx, noop, cfg.NoopRounds, cfg.Workers); err != nil {
			return nil, fmt.Errorf("no-op after the run: %w", err)
		}
		if store != nil && noop.CPUUS > 0 {
			store.NoopRedisCPUUS = noop.CPUUS
			if store.RedisCPUUSPerPerson > 0 {
				store.FloorRatio = store.RedisCPUUSPerPerson / (4 * noop.CPUUS)
			}
		}
	}

	var stats workerStats
	for _, w := range s.workers() {
		for o := range stats.lat {
			stats.lat[o].merge(&w.st.lat[o])
		}
		for o := range stats.outcomes {
			for k := range stats.outcomes[o] {
				stats.outcomes[o][k] += w.st.outcomes[o][k]
			}
		}
	}

	audit := auditResult{Error: "(-audit=false)"}
	if cfg.Audit {
		actx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		data, err := tgt.Audit(actx)
		cancel()
		if err != nil {
			audit = auditResult{Error: err.Error()}
		} else {
			audit = s.led.audit(data, func(pi int) bool { return s.cr.people[pi].uncertain })
		}
	}
	rep := s.buildReport(wall, &stats, noop, audit)
	rep.Store = store
	rep.finishMulti(multi)
	if rep.Pacing != nil {
		rep.Pacing.WithoutController = cfg.baseline
	}
	if store != nil && noop != nil {
		simCPU := 0.0
		if cfg.Mode == "inprocess" {
			simCPU = rep.SimCPUSeconds
		}
		store.setFloors(cfg.People, wall.Seconds(), noop.ParallelPerSec, simCPU, runtime.NumCPU())
		store.MachineBusyMeasured = s.machineBusy
	}
	if cfg.Audit && !audit.Performed {
		// An audit that could not be done is not a pass.
		return rep, fmt.Errorf("audit: %s", audit.Error)
	}
	rep.writeText(env.stdout)
	rep.writeMulti(env.stdout)
	if cfg.JSONPath != "" {
		if err := rep.writeJSON(cfg.JSONPath); err != nil {
			return rep, err
		}
	}
	if cfg.PlotDir != "" {
		files, err := s.writePlots(cfg.PlotDir)
		if err != nil {
			return rep, fmt.Errorf("plots: %w", err)
		}
		for _, f := range files {
			fmt.Fprintln(env.stdout, "wrote", f)
		}
	}
	return rep, nil
}

// restarts reports whether cfg restarts Redis during the run.
func restarts(cfg *config) bool {
	for _, f := range cfg.Faults {
		if f.Kind == "redis-restart" {
			return true
		}
	}
	return false
}

// storeStater is implemented by targets that count their store calls
// (the in-process one): the report's store block, read right after the
// run (before the audit, which reads the whole store).
type storeStater interface {
	storeStat(ctx context.Context, people int) *storeStat
}

// noopMeasurer is implemented by Redis-backed targets: the round-trip floor
// (a no-op script on the same server) measured before the run, and again
// after it.
type noopMeasurer interface {
	measureNoop(ctx context.Context, rounds, parallel int) (*noopStat, error)
	measureNoopAfter(ctx context.Context, ns *noopStat, rounds, parallel int) error
}
