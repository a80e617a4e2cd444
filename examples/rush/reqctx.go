package main

import (
	"context"
	"slices"
	"sync"
	"time"
)

// reqCtx is a request's context: the parent's values and cancellation,
// and the per-request deadline (-timeout, on the wall clock), made cheap
// for a run's millions of requests:
//
//   - Nothing is made until somebody asks for Done (a store call waiting
//     for its round trip, a context derived from it): the status polls
//     the room answers from its snapshot, most of a run's requests, only
//     fill in a reused struct.
//   - Done, once asked for, is a channel closed by release, or by the
//     one goroutine (watch) that looks every watchEvery at the requests
//     whose Done is out, for a deadline passed or a parent cancelled: no
//     timer and no registration with the parent per request, which
//     context.WithDeadline makes. The channel may close up to watchEvery
//     after the deadline; Deadline and Err are exact either way, so a
//     store client that sets its socket deadlines from Deadline, or
//     checks Err, sees the same budget.
type reqCtx struct {
	parent   context.Context
	deadline time.Time
	poll     bool // a status poll's (asPoll): Value(pollKey{}) is true
	lane     int  // the lane of the worker that makes it (-overlap)

	mu       sync.Mutex
	done     chan struct{} // made by Done; closed with err set
	err      error         // why done was closed
	released bool
	afters   []*afterFunc // AfterFunc's functions, while done is open
	slot     int          // index in watch.live while done is open
}

// afterFunc is one function given to reqCtx.AfterFunc.
type afterFunc struct{ f func() }

var _ context.Context = (*reqCtx)(nil)

func newReqCtx(parent context.Context, deadline time.Time) *reqCtx {
	return &reqCtx{parent: parent, deadline: deadline, slot: -1}
}

// req returns the context of w's next request: w's last one made new
// again when nothing can still be using it (nobody asked for its Done, so
// no child context and no waiter hangs on it; release was called), else
// a new one. A worker makes one request at a time, so most requests (the
// polls answered from the snapshot) allocate nothing.
func (w *worker) req(parent context.Context, deadline time.Time) *reqCtx {
	if c := w.rc; c != nil {
		c.mu.Lock()
		reuse := c.done == nil && c.released
		if reuse {
			c.parent, c.deadline, c.poll, c.released, c.lane = parent, deadline, false, false, w.lane
		}
		c.mu.Unlock()
		if reuse {
			return c
		}
	}
	w.rc = newReqCtx(parent, deadline)
	w.rc.lane = w.lane
	return w.rc
}

func (c *reqCtx) Deadline() (time.Time, bool) { return c.deadline, true }

// Done makes the channel on first use: closed at once when the request is
// already over, else watched until release, the deadline or the parent's
// cancellation closes it.
func (c *reqCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done != nil {
		return c.done
	}
	c.done = make(chan struct{})
	if err := c.errLocked(time.Now()); err != nil {
		c.closeLocked(err)
		return c.done
	}
	watch.add(c)
	return c.done
}

// errLocked is why the request is over at now, nil while it is not.
func (c *reqCtx) errLocked(now time.Time) error {
	switch {
	case c.err != nil:
		return c.err
	case c.released:
		return context.Canceled
	}
	if err := c.parent.Err(); err != nil {
		return err
	}
	if !now.Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

// closeLocked closes done with err and runs the AfterFunc functions, each
// on a goroutine of its own as context.AfterFunc does.
func (c *reqCtx) closeLocked(err error) {
	c.err = err
	close(c.done)
	for _, a := range c.afters {
		go a.f()
	}
	c.afters = nil
}

// Err is exact: past the deadline it is DeadlineExceeded at once. So
// that Done is closed whenever Err is not nil, as the context contract
// has it, an Err that finds the request over closes an open Done itself
// rather than leave it to the watch.
func (c *reqCtx) Err() error {
	c.mu.Lock()
	err := c.errLocked(time.Now())
	open := err != nil && c.done != nil && c.err == nil
	if open {
		c.closeLocked(err)
	}
	c.mu.Unlock()
	if open {
		watch.remove(c)
	}
	return err
}

func (c *reqCtx) Value(key any) any {
	if _, ok := key.(pollKey); ok && c.poll {
		return true
	}
	return c.parent.Value(key)
}

// AfterFunc lets a context derived from this one (a store call's budget)
// hang its cancellation on this one's Done, as it does on any context of
// the standard library's, instead of a goroutine of its own: f runs, on a
// goroutine of its own, once Done is closed; stop keeps it from running
// if it has not started.
func (c *reqCtx) AfterFunc(f func()) (stop func() bool) {
	c.Done()
	a := &afterFunc{f: f}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		go f()
		return func() bool { return false }
	}
	c.afters = append(c.afters, a)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		i := slices.Index(c.afters, a)
		if i < 0 {
			return false
		}
		c.afters = slices.Delete(c.afters, i, i+1)
		return true
	}
}

// release ends the request: Done, if it was asked for, is closed, and the
// context reads as cancelled from now on.
func (c *reqCtx) release() {
	c.mu.Lock()
	c.released = true
	open := c.done != nil && c.err == nil
	if open {
		c.closeLocked(context.Canceled)
	}
	c.mu.Unlock()
	if open {
		watch.remove(c)
	}
}

// expire closes c's Done if the request is over by now (its deadline
// passed, its parent cancelled) and Done is still open.
func (c *reqCtx) expire(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	if err := c.errLocked(now); err != nil {
		c.closeLocked(err)
	}
}

// watchEvery is how often the watch looks at the open requests: how late
// a request's Done may close after its deadline or its parent's
// cancellation.
const watchEvery = 5 * time.Millisecond

// watch is the process's one watcher of open requests. Its goroutine runs
// only while some request's Done is open.
var watch requestWatch

// requestWatch closes the Done of open requests whose deadline has passed
// or whose parent was cancelled.
type requestWatch struct {
	mu      sync.Mutex
	live    []*reqCtx // requests whose Done is open; each knows its slot
	running bool
	due     []*reqCtx // the loop's scratch
}

// add watches c (its Done just made, under c.mu).
func (w *requestWatch) add(c *reqCtx) {
	w.mu.Lock()
	c.slot = len(w.live)
	w.live = append(w.live, c)
	if !w.running {
		w.running = true
		go w.loop()
	}
	w.mu.Unlock()
}

// remove stops watching c, if it still is.
func (w *requestWatch) remove(c *reqCtx) {
	w.mu.Lock()
	w.removeLocked(c)
	w.mu.Unlock()
}

func (w *requestWatch) removeLocked(c *reqCtx) {
	i := c.slot
	if i < 0 || i >= len(w.live) || w.live[i] != c {
		return
	}
	last := len(w.live) - 1
	w.live[i] = w.live[last]
	w.live[i].slot = i
	w.live[last] = nil
	w.live = w.live[:last]
	c.slot = -1
}

// loop looks at the open requests every watchEvery, and ends when there
// are none.
func (w *requestWatch) loop() {
	t := time.NewTicker(watchEvery)
	defer t.Stop()
	for range t.C {
		now := time.Now()
		w.mu.Lock()
		if len(w.live) == 0 {
			w.running = false
			w.mu.Unlock()
			return
		}
		// Deadlines and parents are fixed while a request is watched
		// (req reuses only a context whose Done was never made).
		w.due = w.due[:0]
		for _, c := range w.live {
			if !now.Before(c.deadline) || c.parent.Err() != nil {
				w.due = append(w.due, c)
			}
		}
		for _, c := range w.due {
			w.removeLocked(c)
		}
		due := w.due
		w.mu.Unlock()
		for _, c := range due {
			c.expire(now)
		}
	}
}
