package main

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// action is what a person does at an event.
type action uint8

const (
	actArrive       action = iota // first join (back-door try first)
	actJoin2                      // the second device joins
	actPoll                       // status poll
	actStorm                      // one re-join of a reconnect storm
	actSkip                       // a skipper's trick
	actExpiredTry                 // book with the pass that just expired
	actReturn                     // a comeback returns
	actHold                       // hold a slot
	actHoldRetry                  // the same hold again, same key
	actConfirm                    // confirm the hold
	actConfirmRetry               // the same confirm again, same key
)

// event is one person's next step; dev is the device (0, or 1 for the
// second device of a double booker); n is the number of storm joins left.
type event struct {
	p   int32
	act action
	dev uint8
	n   uint16
}

// calendar is the discrete-event queue: events bucketed by tick, in a
// slice indexed by the tick itself (a run has at most -max-sim / -tick of
// them, some tens of thousands), so that adding an event is an append and
// finding the next tick a step forward over empty buckets; no map, no
// heap. Events past the last tick the run can reach (limit) never run:
// they are only counted, with the earliest of their ticks, so that peek
// still reports that the calendar goes on past the end. Only the main
// loop touches it.
type calendar struct {
	buckets [][]event
	cur     int64 // no bucket before cur holds an event
	limit   int64 // last tick kept; later ones only counted
	n       int   // events in buckets
	far     int   // events past limit
	farMin  int64 // the earliest of their ticks
	free    [][]event
}

// newCalendar returns a calendar for ticks 0 to limit.
func newCalendar(limit int64) *calendar { return &calendar{limit: max(0, limit)} }

func (c *calendar) add(tick int64, e event) {
	tick = max(tick, 0)
	if tick > c.limit {
		if c.far == 0 || tick < c.farMin {
			c.farMin = tick
		}
		c.far++
		return
	}
	for int64(len(c.buckets)) <= tick {
		c.buckets = append(c.buckets, nil)
	}
	b := c.buckets[tick]
	if b == nil {
		if n := len(c.free); n > 0 {
			b = c.free[n-1][:0]
			c.free = c.free[:n-1]
		}
	}
	c.buckets[tick] = append(b, e)
	c.n++
	if tick < c.cur {
		c.cur = tick
	}
}

// peek returns the earliest tick with events.
func (c *calendar) peek() (int64, bool) {
	if c.n == 0 {
		return c.farMin, c.far > 0
	}
	for len(c.buckets[c.cur]) == 0 {
		c.cur++
	}
	return c.cur, true
}

// pop removes and returns the events of the earliest tick (which must be
// within the limit: peek said so). The slice is the caller's until it
// gives it back with recycle.
func (c *calendar) pop() (int64, []event) {
	t, _ := c.peek()
	b := c.buckets[t]
	c.buckets[t] = nil
	c.n -= len(b)
	return t, b
}

func (c *calendar) recycle(b []event) {
	if cap(b) <= 1<<16 && len(c.free) < 64 {
		c.free = append(c.free, b)
	}
}

// scheduled is a follow-up event a worker produced during a tick.
type scheduled struct {
	tick int64
	ev   event
}

// worker runs events of a tick; it owns its rng, stats and out buffer.
type worker struct {
	id   int
	lane int // the pool's place among the lanes (-overlap)
	rng  *rand.Rand
	st   workerStats
	out  []scheduled
	tick int64
	now  time.Time     // the tick's instant
	off  time.Duration // the tick's offset from the simulation's start
	s    *sim
	rc   *reqCtx // the last request's context (req)
}

// at schedules ev d after the current tick's instant, and never in the
// current tick.
func (w *worker) after(d time.Duration, ev event) {
	t := w.s.tickOf(w.off + d)
	if t <= w.tick {
		t = w.tick + 1
	}
	w.out = append(w.out, scheduled{t, ev})
}

// at schedules ev at offset off (from the simulation's start).
func (w *worker) at(off time.Duration, ev event) {
	w.after(off-w.off, ev)
}

// pool is the fixed set of workers and the barrier that runs one tick's
// events on them.
type pool struct {
	workers []*worker
	start   []chan []event
	next    atomic.Int64
	wg      sync.WaitGroup
	run     func(w *worker, e event)
}

func newPool(s *sim, lane, n int, seed int64, run func(*worker, event)) *pool {
	p := &pool{run: run}
	for i := range n {
		id := lane*n + i
		w := &worker{id: id, lane: lane, s: s, rng: rand.New(rand.NewPCG(uint64(seed), uint64(id)+1))}
		p.workers = append(p.workers, w)
		ch := make(chan []event, 1)
		p.start = append(p.start, ch)
		if i > 0 { // worker 0 runs on the caller of runTick
			go p.loop(w, ch)
		}
	}
	return p
}

func (p *pool) loop(w *worker, ch chan []event) {
	w.s.label(partCrowd)
	for batch := range ch {
		p.drain(w, batch)
		p.wg.Done()
	}
}

// drain runs batch's events not yet taken, on w, until none is left.
func (p *pool) drain(w *worker, batch []event) {
	for {
		i := p.next.Add(1) - 1
		if i >= int64(len(batch)) {
			return
		}
		p.run(w, batch[i])
	}
}

// pollsPerWorker is how many status polls the pool gives each worker it
// wakes for them: a poll the room answers from its snapshot is a few
// microseconds of CPU, so waking a goroutine for each (there are 23 a
// person) costs more than the poll; the few that go to the store (a
// claim) still find other workers taking the rest.
const pollsPerWorker = 16

// callsFirst moves the events that call the store (everything but status
// polls) to the front of batch and returns how many there are: they start
// first, one worker each, and the polls run meanwhile. Among them, the
// confirms come first: a booking confirmed is followed by its Done in the
// same event, two round trips one after the other, the longest chain of a
// tick, so it starts before the single calls, whose round trips then
// overlap its second. Events of one tick run concurrently in no set
// order, so the order changes nothing else.
func callsFirst(batch []event) int {
	chains := 0
	for i, e := range batch {
		if e.act == actConfirm || e.act == actConfirmRetry {
			batch[i], batch[chains] = batch[chains], batch[i]
			chains++
		}
	}
	n := chains
	for i := chains; i < len(batch); i++ {
		if e := batch[i]; e.act != actPoll && e.act != actReturn {
			batch[i], batch[n] = batch[n], batch[i]
			n++
		}
	}
	return n
}

// runTick runs batch on the workers at tick, instant now, and returns when
// every event has been handled, with how many of them call the store. It
// wakes a worker for each event that calls the store and one for every
// pollsPerWorker polls, up to the pool's size (-workers, the callers at
// once).
func (p *pool) runTick(batch []event, tick int64, now time.Time, off time.Duration) int {
	calls := callsFirst(batch)
	polls := len(batch) - calls
	n := min(len(batch), len(p.workers), calls+(polls+pollsPerWorker-1)/pollsPerWorker)
	if n == 0 {
		return calls
	}
	p.next.Store(0)
	for _, w := range p.workers[:n] {
		w.tick, w.now, w.off = tick, now, off
	}
	// The caller is the first worker: a tick of one event runs with no
	// goroutine woken and none to wait for, and a larger one saves the
	// hand-over to one worker and back.
	p.wg.Add(n - 1)
	for i := 1; i < n; i++ {
		p.start[i] <- batch
	}
	p.drain(p.workers[0], batch)
	p.wg.Wait()
	return calls
}

func (p *pool) stop() {
	for _, ch := range p.start {
		close(ch)
	}
}
