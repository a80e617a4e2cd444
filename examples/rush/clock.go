package main

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"
)

// simClock is the simulated clock the library is given. Time moves only
// when the scheduler calls advance; a whole night of traffic then runs as
// fast as the machine allows.
//
// It is a clock.Mock with a faster Now: clock.Mock.Now takes a mutex and
// clock.Mock.Set sleeps a millisecond after every move (to let timer
// goroutines run), which at one move per tick would cost more than the
// simulation itself. simClock keeps the current instant in an atomic and
// moves the embedded Mock only once somebody has asked it for a timer
// (After, Timer, WithTimeout, ...), so timers still fire at the right
// simulated instant. The library reads only Now on its hot paths.
type simClock struct {
	now atomic.Int64 // Unix nanoseconds

	mu     sync.Mutex
	mock   *clock.Mock
	timers atomic.Bool // a timer was asked for: keep mock in step
}

var _ clock.Clock = (*simClock)(nil)

func newSimClock(start time.Time) *simClock {
	c := &simClock{mock: clock.NewMock()}
	c.mock.Set(start)
	c.now.Store(start.UnixNano())
	return c
}

// advance moves the clock to t; it never moves backwards.
func (c *simClock) advance(t time.Time) {
	if t.UnixNano() <= c.now.Load() {
		return
	}
	c.now.Store(t.UnixNano())
	if c.timers.Load() {
		c.mu.Lock()
		c.mock.Set(t)
		c.mu.Unlock()
	}
}

// synced returns the mock, brought up to the current instant, for a timer.
func (c *simClock) synced() *clock.Mock {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.timers.Store(true)
	if now := c.Now(); c.mock.Now().Before(now) {
		c.mock.Set(now)
	}
	return c.mock
}

func (c *simClock) Now() time.Time                  { return time.Unix(0, c.now.Load()) }
func (c *simClock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }
func (c *simClock) Until(t time.Time) time.Duration { return t.Sub(c.Now()) }

func (c *simClock) After(d time.Duration) <-chan time.Time { return c.synced().After(d) }
func (c *simClock) AfterFunc(d time.Duration, f func()) *clock.Timer {
	return c.synced().AfterFunc(d, f)
}
func (c *simClock) Sleep(d time.Duration)                 { c.synced().Sleep(d) }
func (c *simClock) Tick(d time.Duration) <-chan time.Time { return c.synced().Tick(d) }
func (c *simClock) Ticker(d time.Duration) *clock.Ticker  { return c.synced().Ticker(d) }
func (c *simClock) Timer(d time.Duration) *clock.Timer    { return c.synced().Timer(d) }
func (c *simClock) WithDeadline(parent context.Context, d time.Time) (context.Context, context.CancelFunc) {
	return c.synced().WithDeadline(parent, d)
}
func (c *simClock) WithTimeout(parent context.Context, t time.Duration) (context.Context, context.CancelFunc) {
	return c.synced().WithTimeout(parent, t)
}
