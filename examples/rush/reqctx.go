package main

import (
	"context"
	"sync"
	"time"
)

// reqCtx is a request's context: the parent's values and cancellation,
// and the per-request deadline (-timeout, on the wall clock). It is
// context.WithDeadline made lazy: the timer behind Done is made only when
// somebody asks for Done (a store call's budget, a select on it), not for
// the status polls the room answers from its snapshot without waiting for
// anything, which are most of a run's requests. Deadline and Err give the
// same deadline either way, so a store client that sets its socket
// deadlines from Deadline, or checks Err, sees the same budget; once Done
// was asked for, everything comes from context.WithDeadline itself.
type reqCtx struct {
	parent   context.Context
	deadline time.Time
	poll     bool // a status poll's (asPoll): Value(pollKey{}) is true

	mu       sync.Mutex
	inner    context.Context // WithDeadline(parent, deadline), once Done was asked for
	cancel   context.CancelFunc
	released bool
}

var _ context.Context = (*reqCtx)(nil)

func newReqCtx(parent context.Context, deadline time.Time) *reqCtx {
	return &reqCtx{parent: parent, deadline: deadline}
}

// req returns the context of w's next request: w's last one made new
// again when nothing can still be using it (nobody asked for its Done, so
// no timer, no child context and no waiter hangs on it; release was
// called), else a new one. A worker makes one request at a time, so most
// requests (the polls answered from the snapshot) allocate nothing.
func (w *worker) req(parent context.Context, deadline time.Time) *reqCtx {
	if c := w.rc; c != nil {
		c.mu.Lock()
		reuse := c.inner == nil && c.released
		if reuse {
			c.parent, c.deadline, c.poll, c.released = parent, deadline, false, false
		}
		c.mu.Unlock()
		if reuse {
			return c
		}
	}
	w.rc = newReqCtx(parent, deadline)
	return w.rc
}

// materialize returns the real context, made on first use (cancelled at
// once if the request is already over).
func (c *reqCtx) materialize() context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inner == nil {
		c.inner, c.cancel = context.WithDeadline(c.parent, c.deadline)
		if c.released {
			c.cancel()
		}
	}
	return c.inner
}

func (c *reqCtx) Deadline() (time.Time, bool) { return c.deadline, true }

func (c *reqCtx) Done() <-chan struct{} { return c.materialize().Done() }

func (c *reqCtx) Err() error {
	c.mu.Lock()
	inner, released := c.inner, c.released
	c.mu.Unlock()
	switch {
	case inner != nil:
		return inner.Err()
	case released:
		return context.Canceled
	}
	if err := c.parent.Err(); err != nil {
		return err
	}
	if !time.Now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

func (c *reqCtx) Value(key any) any {
	if _, ok := key.(pollKey); ok && c.poll {
		return true
	}
	return c.parent.Value(key)
}

// AfterFunc lets a context derived from this one (a store call's budget)
// hang its cancellation on the real context's, as it does on any context
// of the standard library's, instead of a goroutine of its own.
func (c *reqCtx) AfterFunc(f func()) func() bool {
	return context.AfterFunc(c.materialize(), f)
}

// release ends the request: the timer, if Done made one, is stopped, and
// the context reads as cancelled from now on.
func (c *reqCtx) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.released = true
	if c.cancel != nil {
		c.cancel()
	}
}
