package admission

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// The room's ETA models what bounds the drain, from the line's figures
// (the same on every instance sharing the store) that the room sees at
// each store call and snapshot refresh:
//
//   - the rate in force (Line.Limits: an operator's change counts from the
//     next snapshot on);
//   - the cap, with the measured time people stay in the active set
//     (admitted until Done or the end of their lease): by Little's law,
//     departures over an interval are the mean active count over it times
//     its length over the mean stay S, and a binding cap drains Cap/S a
//     minute. The people ahead first fill the room's free active places,
//     then wait for departures;
//   - the supply left: a person with more people ahead than places
//     surely left is given no time (ETA.PlacesShort), a sold-out room says
//     so (StateSoldOut);
//   - instability: S is measured over three spans (one, two and four
//     drain windows), each widened by its count's noise; with a pacer, the
//     slowest drain seen lately (measured, or the lowest rate it set over
//     the last window) and its maximum bound the rate. The range runs from the
//     fastest of these drains to the slowest, so that it widens when the
//     drain moves and stays as narrow as the rate-bound range when it
//     does not.
//
// Before the store has measured one drain window the ETA is unknown, and
// so is a cap-bound person's ETA until departures have been seen.

// etaRing is the number of line samples the room keeps: four drain
// windows at one sample per etaSteps-th of a window. A stay measured over
// fewer than etaMinLeft departures is not used; one over D departures is
// widened by etaNoise/sqrt(D) either way (the count's own noise).
const (
	etaSteps   = 16
	etaRing    = 4*etaSteps + 8
	etaMinLeft = 8
	etaNoise   = 2.0
)

// lineSample is the line's figures at one instant.
type lineSample struct {
	at       int64 // Unix ms
	admitted uint64
	active   int64
	rate     int
}

// drainModel is what the recent samples say about the drain.
type drainModel struct {
	// stayLo and stayHi are the shortest and longest measured mean stay
	// in the active set, ms, over the spans measured; 0 when no span had
	// departures.
	stayLo, stayHi float64
	// rateMin is the lowest rate in force over the last drain window.
	rateMin int
}

// etaSampler keeps the line's recent samples and the model drawn from
// them. add is cheap when a sample is not due; model never blocks.
type etaSampler struct {
	last  atomic.Int64 // Unix ms of the latest sample
	mu    sync.Mutex
	ring  [etaRing]lineSample
	n     int // samples held
	next  int // ring index of the next sample
	model atomic.Pointer[drainModel]
}

// add records line, read from the store at now, if a sample is due
// (one per window/etaSteps).
func (s *etaSampler) add(now time.Time, line Line, window time.Duration) {
	at := now.UnixMilli()
	step := max(1, window.Milliseconds()/etaSteps)
	if at-s.last.Load() < step || !line.Opened {
		return
	}
	if !s.mu.TryLock() {
		return // another caller is sampling
	}
	defer s.mu.Unlock()
	if at-s.last.Load() < step {
		return
	}
	s.last.Store(at)
	s.ring[s.next] = lineSample{at: at, admitted: line.Admitted, active: line.Active, rate: line.Limits.Rate}
	s.next = (s.next + 1) % etaRing
	s.n = min(s.n+1, etaRing)
	m := s.fit(window.Milliseconds())
	s.model.Store(&m)
}

// sample returns the i-th newest sample (0: the latest).
func (s *etaSampler) sample(i int) lineSample {
	return s.ring[(s.next-1-i+2*etaRing)%etaRing]
}

// fit draws the model from the samples, w the drain window in ms.
func (s *etaSampler) fit(w int64) drainModel {
	newest := s.sample(0)
	m := drainModel{rateMin: newest.rate}
	for i := 1; i < s.n; i++ {
		v := s.sample(i)
		if newest.at-v.at > w {
			break
		}
		m.rateMin = min(m.rateMin, v.rate)
	}
	for _, span := range [...]int64{w, 2 * w, 4 * w} {
		stay, left, ok := s.stay(span)
		if !ok {
			continue
		}
		noise := etaNoise / math.Sqrt(left)
		lo, hi := stay/(1+noise), stay*(1+noise)
		if m.stayLo == 0 || lo < m.stayLo {
			m.stayLo = lo
		}
		m.stayHi = max(m.stayHi, hi)
	}
	return m
}

// stay is the mean stay in the active set (ms) measured over the latest
// span ms of samples by Little's law, and the departures it was measured
// over, if the samples cover at least half of the span and at least
// etaMinLeft people left meanwhile.
func (s *etaSampler) stay(span int64) (stay, left float64, ok bool) {
	newest := s.sample(0)
	var area float64 // active × ms
	prev, k := newest, 0
	for i := 1; i < s.n; i++ {
		v := s.sample(i)
		if newest.at-v.at > span {
			break
		}
		area += float64(prev.active+v.active) / 2 * float64(prev.at-v.at)
		prev, k = v, i
	}
	length := newest.at - prev.at
	if k == 0 || 2*length < span {
		return 0, 0, false
	}
	left = float64(newest.admitted-prev.admitted) - float64(newest.active-prev.active)
	if left < etaMinLeft || area <= 0 {
		return 0, 0, false
	}
	return area / left, left, true
}

// estimate is the room's ETA for a person with ahead people before them,
// given the line's figures l (the snapshot's, or a store call's).
func (r *Room) estimate(ahead int64, l *Line) ETA {
	lim := l.Limits
	if lim.Rate <= 0 {
		lim = r.p.limits()
	}
	if ahead < 0 || !l.Drain.Known() || l.Drain.Admissions <= 0 {
		return ETA{}
	}
	m := float64(ahead + 1)
	if sup := l.Supply; sup.Known {
		sure := sup.Budget
		if r.o.Overbooking > 1 {
			sure = min(sure, sup.Free-l.Active)
		}
		if ahead >= sure {
			return ETA{PlacesShort: true}
		}
	}
	model := r.eta.model.Load()
	rateLo, rateHi := float64(lim.Rate), float64(lim.Rate)
	if p := r.o.Pacer; p != nil {
		// The pacer moves the rate between its bounds: from the slowest
		// drain seen lately (the drain measured, the lowest rate it set
		// over the last window) up to its maximum.
		_, hi := p.bounds(lim)
		rateHi = max(rateHi, float64(hi))
		rateLo = min(rateLo, l.Drain.PerMinute())
		if model != nil && model.rateMin > 0 {
			rateLo = min(rateLo, float64(model.rateMin))
		}
	}
	perMin := float64(time.Minute)
	fast, slow := m/rateHi*perMin, m/rateLo*perMin
	if c := lim.Cap; c > 0 {
		free := math.Max(0, float64(int64(c)-l.Active))
		if over := m - free; over > 0 {
			if model == nil || model.stayLo == 0 {
				return ETA{} // no departure measured yet
			}
			// Past the free places, each admission waits for a departure:
			// Cap of them per mean stay. The time until the over-th
			// departure varies by about 1/sqrt(over) of itself.
			ms := float64(time.Millisecond)
			spread := 1 / math.Sqrt(over)
			fast = math.Max(fast, over*model.stayLo*ms/float64(c)*math.Max(0, 1-spread))
			slow = math.Max(slow, over*model.stayHi*ms/float64(c)*(1+spread))
		}
	}
	interval := perMin / float64(lim.Rate)
	floor := math.Max(0, m-float64(lim.Burst)) * perMin / rateHi
	return etaRange(floor, fast, slow, interval)
}

// since returns e as seen age after the figures it was computed from:
// that much of the wait has passed.
func (e ETA) since(age time.Duration) ETA {
	if !e.Known || age <= 0 {
		return e
	}
	e.Min = max(0, e.Min-age).Truncate(time.Second)
	e.Max = max(e.Min, ceilSecond(e.Max-age))
	return e
}
