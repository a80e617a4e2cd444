package admission

import (
	"errors"
	"fmt"
)

// ErrSplit is returned by [Limits.Split] when the limits cannot be shared
// out: no weights, a weight below 1, or fewer people per minute (or burst,
// or cap) than parts, so that a part would get none.
var ErrSplit = errors.New("admission: limits cannot be split")

// Split shares the limits out over rooms that together serve one opening
// (one room per partition of the people, each under its own hash tag, so
// that a Redis Cluster spreads them over its shards), in proportion to
// weights (give each part its places). The parts' rates add up to l.Rate
// and their bursts to l.Burst exactly, so over any interval T the rooms
// together admit at most Rate*T/1min + Burst, as one room would; a cap,
// the pacing bounds (when set) likewise add up to l's. Each part gets at
// least 1 of each (a cap of 0, no cap, stays 0 in every part), by largest
// remainder: part i gets total*w[i]/sum(w) rounded down, the units left
// over go to the largest remainders (ties to the lower index), and a part
// left with none takes one from the largest part.
//
// A part's MinRate is never above its MaxRate: where rounding would put it
// there it is lowered, so the parts' minimums may add up to less than
// l.MinRate. Errors wrap ErrSplit, or are l.Validate's.
func (l Limits) Split(weights []int) ([]Limits, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	if len(weights) == 0 {
		return nil, fmt.Errorf("%w: no weights", ErrSplit)
	}
	var sum int64
	for i, w := range weights {
		if w < 1 {
			return nil, fmt.Errorf("%w: weight %d is %d, want at least 1", ErrSplit, i, w)
		}
		if sum += int64(w); sum > 1<<40 {
			return nil, fmt.Errorf("%w: weights add up beyond 2^40", ErrSplit)
		}
	}
	field := func(name string, total int, optional bool) ([]int, error) {
		if optional && total == 0 {
			return make([]int, len(weights)), nil
		}
		if total < len(weights) {
			return nil, fmt.Errorf("%w: %s %d over %d parts: each needs at least 1", ErrSplit, name, total, len(weights))
		}
		return apportion(total, weights), nil
	}
	var rate, burst, capacity, minRate, maxRate []int
	for _, f := range []struct {
		name     string
		total    int
		optional bool
		dst      *[]int
	}{{"rate", l.Rate, false, &rate}, {"burst", l.Burst, false, &burst}, {"cap", l.Cap, true, &capacity},
		{"min rate", l.MinRate, true, &minRate}, {"max rate", l.MaxRate, true, &maxRate}} {
		v, err := field(f.name, f.total, f.optional)
		if err != nil {
			return nil, err
		}
		*f.dst = v
	}
	out := make([]Limits, len(weights))
	for i := range out {
		out[i] = Limits{Rate: rate[i], Burst: burst[i], Cap: capacity[i], MinRate: minRate[i], MaxRate: maxRate[i]}
		if out[i].MaxRate > 0 && out[i].MinRate > out[i].MaxRate {
			out[i].MinRate = out[i].MaxRate
		}
	}
	return out, nil
}

// apportion splits total (>= len(weights)) in proportion to weights by
// largest remainder, then gives each part left with none a unit from the
// largest part, so that every part has at least 1 and the parts add up
// to total.
func apportion(total int, weights []int) []int {
	var sum uint64
	for _, w := range weights {
		sum += uint64(w)
	}
	out := make([]int, len(weights))
	rem := make([]uint64, len(weights))
	var given uint64
	for i, w := range weights {
		q := uint64(total) * uint64(w)
		out[i] = int(q / sum)
		rem[i] = q % sum
		given += q / sum
	}
	for left := uint64(total) - given; left > 0; left-- {
		best := 0
		for i := range rem {
			if rem[i] > rem[best] {
				best = i
			}
		}
		out[best]++
		rem[best] = 0
	}
	for i := range out {
		if out[i] == 0 {
			big := 0
			for j := range out {
				if out[j] > out[big] {
					big = j
				}
			}
			out[big]--
			out[i]++
		}
	}
	return out
}
