package main

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// backendModel is the booking backend behind the room, in simulated time:
// it serves -backend-capacity calls (holds and confirms) per simulated
// second. Calls beyond it queue (a fluid queue: the backlog drains at the
// capacity), so latency is the base latency plus the backlog's wait; a
// call that would wait past -backend-timeout times out, unserved (the
// backend dropped it: the client sees a timeout and retries). A
// backend-slow fault divides the capacity by five over its window. It is
// the same for every target in process: it decides before the call
// reaches the slots store.
type backendModel struct {
	capacity float64 // calls per simulated second
	base     time.Duration
	timeout  time.Duration
	open     time.Time
	slow     []interval // fault windows, absolute

	mu      sync.Mutex
	backlog float64 // calls queued
	last    time.Time

	// Per simulated second from the start of the simulation: calls,
	// latency sum (µs), timeouts; and the latency histograms before,
	// during and after the faults.
	start    time.Time
	calls    []atomic.Int64
	latSum   []atomic.Int64
	timeouts []atomic.Int64
	rate     []atomic.Int64 // the room's rate in force, sampled once a second (0: none)
	phase    [3]hist        // under mu
	phaseTO  [3]int64       // timeouts by phase, under mu
	phaseN   [3]int64       // calls by phase, under mu
}

// errBackendTimeout is a call the backend did not serve in time.
var errBackendTimeout = errors.New("booking backend: timed out")

// newBackendModel returns the model of cfg, nil when -backend-capacity is
// 0 (an unbounded backend, the simulator's former behaviour).
func newBackendModel(cfg *config, start, open time.Time, seconds int) *backendModel {
	if cfg.BackendCapacity <= 0 {
		return nil
	}
	b := &backendModel{
		capacity: cfg.BackendCapacity, base: cfg.BackendLatency, timeout: cfg.BackendTimeout,
		open: open, start: start, last: start,
		calls: make([]atomic.Int64, seconds), latSum: make([]atomic.Int64, seconds),
		timeouts: make([]atomic.Int64, seconds), rate: make([]atomic.Int64, seconds),
	}
	for _, f := range cfg.Faults {
		if f.Kind == "backend-slow" {
			b.slow = append(b.slow, interval{open.Add(f.At), open.Add(f.At + f.For)})
		}
	}
	return b
}

// phaseOf is 0 before the first fault, 1 during a fault, 2 after.
func (b *backendModel) phaseOf(now time.Time) int {
	ph := 0
	for _, iv := range b.slow {
		switch {
		case !now.Before(iv.from) && now.Before(iv.to):
			return 1
		case !now.Before(iv.to):
			ph = 2
		}
	}
	return ph
}

// capacityAt is the capacity at now: divided by five during a fault.
func (b *backendModel) capacityAt(now time.Time) float64 {
	if b.phaseOf(now) == 1 {
		return b.capacity / 5
	}
	return b.capacity
}

func (b *backendModel) sec(now time.Time) int {
	return max(0, min(int(now.Sub(b.start)/time.Second), len(b.calls)-1))
}

// call is one booking call arriving at now: its latency, and
// errBackendTimeout when it is not served.
func (b *backendModel) call(now time.Time) (time.Duration, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.capacityAt(now)
	if dt := now.Sub(b.last); dt > 0 {
		b.backlog = max(0, b.backlog-c*dt.Seconds())
		b.last = now
	}
	lat := b.base + time.Duration(b.backlog/c*float64(time.Second))
	i, ph := b.sec(now), b.phaseOf(now)
	b.calls[i].Add(1)
	b.phaseN[ph]++
	if lat > b.timeout {
		b.timeouts[i].Add(1)
		b.phaseTO[ph]++
		b.phase[ph].add(b.timeout)
		b.latSum[i].Add(b.timeout.Microseconds())
		return b.timeout, errBackendTimeout
	}
	b.backlog++
	b.phase[ph].add(lat)
	b.latSum[i].Add(lat.Microseconds())
	return lat, nil
}

// sampleRate records the room's rate in force at now.
func (b *backendModel) sampleRate(now time.Time, rate int) {
	b.rate[b.sec(now)].Store(int64(rate))
}
