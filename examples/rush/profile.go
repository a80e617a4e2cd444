package main

import (
	"bufio"
	"context"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
)

// gcPercent is the collector's GOGC for a run when the environment sets
// none. A run allocates some 24 KB a person while its live heap (the crowd,
// the ledger, the library's state) grows slowly, so at Go's default of 100
// the collector runs every few seconds, each time marking the whole live
// heap: a fifth of the simulator's CPU, taken from the two cores it shares
// with the store. At 400 it runs a quarter as often.
const gcPercent = 400

// tuneGC sets the collector for a run, unless the environment does: GOGC
// to gcPercent, and a memory limit of a third of the machine's memory
// (memTotal bytes; none when unknown), past which the collector runs
// sooner, so that the larger GOGC never costs a big crowd more memory
// than that. It returns what it set (percent -1, limit 0: left alone).
func tuneGC(getenv func(string) string, memTotal int64) (percent int, limit int64) {
	percent = -1
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
		percent = gcPercent
	}
	if getenv("GOMEMLIMIT") == "" && memTotal > 0 {
		limit = memTotal / 3
		debug.SetMemoryLimit(limit)
	}
	return percent, limit
}

// memTotal is the machine's memory in bytes, from /proc/meminfo (0 where
// there is none).
func memTotal() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// startCPUProfile profiles the simulator's CPU into path until the
// returned function is called (-cpuprofile): where a run's wall time goes
// on this side of the store.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// writeMemProfile writes the allocations made so far (pprof's allocs
// profile: go tool pprof -sample_index=alloc_space) to path (-memprofile).
func writeMemProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// With -cpuprofile the simulator labels its goroutines by what they are
// doing, so that the profile splits its CPU (go tool pprof -tags):
// part=target while a worker is inside a call to the target (the library
// it drives, with its store clients and the target's own bookkeeping: the
// work a server embedding the library would do), part=crowd for the rest
// of the main loop's events (the crowd's decisions, the calendar, the
// ledger). Samples with no part are the runtime's own goroutines (the
// collector, the scheduler's idle loop) and everything outside the main
// loop (the no-op, the audit).
var (
	partTarget = pprof.WithLabels(context.Background(), pprof.Labels("part", "target"))
	partCrowd  = pprof.WithLabels(context.Background(), pprof.Labels("part", "crowd"))
)

// label sets the calling goroutine's part when the run is profiled.
func (s *sim) label(part context.Context) {
	if s.cfg.CPUProfile != "" {
		pprof.SetGoroutineLabels(part)
	}
}
