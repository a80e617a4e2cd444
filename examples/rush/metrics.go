package main

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// hist is a log-linear latency histogram: values (nanoseconds) below 64 are
// exact; above, each power of two is split into 32 buckets, so a quantile
// is reported within 1/32 (3%) of the true value. It is not safe for
// concurrent use: each worker keeps its own and they are merged.
type hist struct {
	counts [64 * 32]int64
	n      int64
	sum    float64
	max    int64
}

const histSub = 5 // 2^5 = 32 sub-buckets per power of two

func histIndex(v int64) int {
	if v < 64 {
		if v < 0 {
			v = 0
		}
		return int(v)
	}
	e := bits.Len64(uint64(v)) - histSub - 1 // v >> e is in [32, 64)
	return (e+1)<<histSub + int(v>>e) - 1<<histSub
}

// histLow returns the smallest value of bucket i.
func histLow(i int) int64 {
	if i < 64 {
		return int64(i)
	}
	e := i>>histSub - 1
	m := int64(i&(1<<histSub-1)) + 1<<histSub
	return m << e
}

func (h *hist) add(d time.Duration) {
	v := int64(d)
	h.counts[histIndex(v)]++
	h.n++
	h.sum += float64(v)
	if v > h.max {
		h.max = v
	}
}

func (h *hist) merge(o *hist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.max = max(h.max, o.max)
}

// quantile returns the q-quantile (0..1): the middle of the bucket holding
// it, capped at the maximum.
func (h *hist) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(h.n)))
	if rank >= h.n {
		return time.Duration(h.max)
	}
	rank = max(1, rank)
	var seen int64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, hi := histLow(i), histLow(i+1)
			return time.Duration(min((lo+hi)/2, h.max))
		}
	}
	return time.Duration(h.max)
}

func (h *hist) mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.n))
}

// op names a call measured for latency.
type op uint8

const (
	opJoin op = iota
	opStatus
	opHold
	opConfirm
	opDone
	numOps
)

var opNames = [numOps]string{"join", "status", "hold", "confirm", "done"}

// workerStats are one worker's counters, merged at the end.
type workerStats struct {
	lat      [numOps]hist
	outcomes [numOps][numKinds]int64
}

// series counts events per second of simulated time, from the start of
// the simulation. Safe for concurrent use.
type series struct {
	arrivals   []atomic.Int64 // first joins
	admissions []atomic.Int64 // first admissions seen
	bookings   []atomic.Int64 // confirmed bookings
	waiting    []atomic.Int64 // people waiting (sampled at the last tick of the second)
	line       []atomic.Int64 // the room's own waiting figure, last seen in the second (-1: none)
}

func newSeries(seconds int) *series {
	s := &series{
		arrivals:   make([]atomic.Int64, seconds),
		admissions: make([]atomic.Int64, seconds),
		bookings:   make([]atomic.Int64, seconds),
		waiting:    make([]atomic.Int64, seconds),
		line:       make([]atomic.Int64, seconds),
	}
	for i := range s.line {
		s.line[i].Store(-1)
	}
	return s
}

func (s *series) at(off time.Duration) int {
	i := int(off / time.Second)
	return max(0, min(i, len(s.arrivals)-1))
}
