package main

import (
	"os"
	"runtime/pprof"
)

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
