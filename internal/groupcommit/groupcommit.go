package groupcommit

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"
)

// InFlight is how many round trips of one queue are in flight at most:
// one. Two were measured no better than one before the leader gathered
// the calls of one moment, and worse since (smaller batches: a second
// round trip leaves with what the first did not take); BENCHMARKS.md,
// "Gathering the calls of one moment".
const InFlight = 1

// DefaultMax is the default Options.Max: the most calls in one round trip.
const DefaultMax = 128

var (
	// ErrNotSent wraps the error of a call that was never sent: its
	// budget or its context ended while it waited. Nothing happened.
	ErrNotSent = errors.New("not sent")
	// ErrUnknown wraps the error of a call whose budget or context ended
	// after it was sent, before its round trip returned: its outcome is
	// unknown.
	ErrUnknown = errors.New("sent, outcome unknown")
	// ErrBudget is what ends a call whose budget ran out: the cause in
	// its ErrNotSent or ErrUnknown error while it waited, and the cause of
	// the round trip's context (the Sender's) when its leader's budget
	// ends. It wraps context.DeadlineExceeded.
	ErrBudget = fmt.Errorf("call exceeded its time budget: %w", context.DeadlineExceeded)
)

// Options configure a [Queue].
type Options struct {
	// Budget is each call's budget, from when it enters the queue. It
	// must be positive.
	Budget time.Duration
	// Max bounds the calls of one round trip; 0 means DefaultMax.
	Max int
}

// Sender sends batch (at least one call, in queue order) in one round trip
// and sets every call's Out or Err. It must return by ctx's deadline (the
// batch leader's): a call it cannot finish by then gets an error, and the
// outcome of a call whose error comes after it may have reached the server
// is unknown, as the store reports it.
type Sender[C, R any] func(ctx context.Context, batch []*Call[C, R])

// Call is one call in a queue: In is what the caller asked, Out and Err
// what its round trip answered (set by the Sender).
type Call[C, R any] struct {
	In  C
	Out R
	Err error

	ctx      context.Context // the caller's
	deadline time.Time       // the end of its budget (or ctx's deadline, if earlier)
	seq      uint64          // arrival order (tests)
	wake     chan struct{}   // signalled once: named leader, or done
	b        *batch[C, R]    // under mu: the batch cut for it, nil while queued
	done     bool            // under mu: Out and Err are set
}

// batch is a batch cut from the queue: calls[0] leads it.
type batch[C, R any] struct {
	calls []*Call[C, R]
	sent  bool
}

// Queue is one store's group commit. Its zero value is not usable: see
// [New].
type Queue[C, R any] struct {
	send   Sender[C, R]
	budget time.Duration
	max    int

	mu      sync.Mutex
	leads   int           // round trips in flight, or batches cut and not yet sent
	queue   []*Call[C, R] // waiting for a batch, in arrival order
	last    *batch[C, R]  // the batch cut last, while it is not sent
	nextSeq uint64
	idled   int // cut batches that lost all their calls with none queued (tests)
}

// New returns a queue that sends through send.
func New[C, R any](send Sender[C, R], opts Options) *Queue[C, R] {
	if opts.Budget <= 0 {
		panic("groupcommit: non-positive budget")
	}
	if opts.Max == 0 {
		opts.Max = DefaultMax
	}
	return &Queue[C, R]{send: send, budget: opts.Budget, max: opts.Max}
}

// Do makes call in through the queue and returns its answer: the Sender's,
// or an error wrapping [ErrNotSent] or [ErrUnknown] (and the cause:
// [ErrBudget] or the context's) when the call's budget or ctx ended first.
func (q *Queue[C, R]) Do(ctx context.Context, in C) (R, error) {
	var zero R
	if ctx.Err() != nil {
		return zero, fmt.Errorf("%w: %w", ErrNotSent, context.Cause(ctx))
	}
	deadline := time.Now().Add(q.budget)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	c := &Call[C, R]{In: in, ctx: ctx, deadline: deadline}
	q.mu.Lock()
	c.seq = q.nextSeq
	q.nextSeq++
	if q.leads < InFlight && q.last == nil && len(q.queue) == 0 {
		q.leads++
		b := &batch[C, R]{calls: []*Call[C, R]{c}}
		c.b = b
		q.last = b
		q.mu.Unlock()
		// The queue is idle: this call leads a new round trip. Let
		// the goroutines that are runnable now (calls made at the
		// same moment) reach the queue first and share it: yield at
		// least twice, and again while calls keep arriving, up to
		// gatherYields times.
		for i, seen := 0, -1; i < gatherYields; i++ {
			runtime.Gosched()
			q.mu.Lock()
			n := len(q.queue)
			q.mu.Unlock()
			if n == seen {
				break
			}
			seen = n
		}
		q.mu.Lock()
		q.fill(b)
		q.mu.Unlock()
		q.lead(b)
		return c.Out, c.Err
	}
	c.wake = make(chan struct{}, 1)
	q.queue = append(q.queue, c)
	q.mu.Unlock()
	// A queued call waits for its turn, its context and its budget; the
	// budget is judged by the clock, so that a call whose deadline has
	// passed is never sent, whether or not its timer has fired yet.
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	expired := false
	for {
		select {
		case <-c.wake:
		case <-ctx.Done():
		case <-timer.C:
			expired = true
		}
		q.mu.Lock()
		gaveUp := expired || ctx.Err() != nil || !time.Now().Before(deadline)
		switch {
		case c.done:
			q.mu.Unlock()
			return c.Out, c.Err
		case c.b == nil && gaveUp:
			// Still queued: leave, nothing happened.
			i := slices.Index(q.queue, c)
			q.queue = slices.Delete(q.queue, i, i+1)
			q.mu.Unlock()
			return zero, fmt.Errorf("%w: %w", ErrNotSent, gaveUpCause(ctx))
		case c.b == nil:
		case c.b.sent && gaveUp:
			q.mu.Unlock()
			return zero, fmt.Errorf("%w: %w", ErrUnknown, gaveUpCause(ctx))
		case c.b.sent:
		case gaveUp:
			// Cut into a batch not yet sent: leave it, nothing happened.
			q.leaveBatch(c)
			q.mu.Unlock()
			return zero, fmt.Errorf("%w: %w", ErrNotSent, gaveUpCause(ctx))
		case c.b.calls[0] == c:
			// Named leader of a live batch: send it, with the calls
			// that queued since it was cut.
			b := c.b
			q.fill(b)
			q.mu.Unlock()
			q.lead(b)
			return c.Out, c.Err
		}
		q.mu.Unlock()
	}
}

// gaveUpCause is why a call whose context or budget ended gave up.
func gaveUpCause(ctx context.Context) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return ErrBudget
}

// lead sends b (its first call is the caller's) by the caller's deadline,
// gives every other call its answer, and hands the round trip on.
func (q *Queue[C, R]) lead(b *batch[C, R]) {
	leader := b.calls[0]
	ctx, cancel := context.WithDeadlineCause(context.WithoutCancel(leader.ctx), leader.deadline, ErrBudget)
	q.send(ctx, b.calls)
	cancel()
	q.mu.Lock()
	for _, c := range b.calls[1:] {
		c.done = true
		c.wake <- struct{}{}
	}
	q.handOff()
	q.mu.Unlock()
}

// handOff gives a round trip that just returned (or a cut batch that lost
// all its calls) to the queue: it cuts the next batch and names its first
// call leader, or gives the round trip back when nobody waits. Under mu.
func (q *Queue[C, R]) handOff() {
	if len(q.queue) == 0 {
		q.leads--
		return
	}
	n := min(len(q.queue), q.max)
	b := &batch[C, R]{calls: slices.Clone(q.queue[:n])}
	q.queue = slices.Delete(q.queue, 0, n)
	for _, c := range b.calls {
		c.b = b
	}
	q.last = b
	b.calls[0].wake <- struct{}{}
}

// fill marks b, a batch about to be sent, sent, with the calls that
// queued since it was cut (up to Max) if it was the last cut, so that
// batches stay in queue order. Calls left queued (more than one batch
// takes) wait for a round trip to return: a newcomer leads only with the
// queue empty, so it never passes them. Under mu.
func (q *Queue[C, R]) fill(b *batch[C, R]) {
	if q.last == b {
		q.last = nil
		n := min(len(q.queue), q.max-len(b.calls))
		for _, o := range q.queue[:n] {
			o.b = b
		}
		b.calls = append(b.calls, q.queue[:n]...)
		q.queue = slices.Delete(q.queue, 0, n)
	}
	b.sent = true
}

// leaveBatch takes c out of the unsent batch cut for it; if c led it, the
// next call leads, or, with the batch empty, the round trip goes back to
// the queue. Under mu.
func (q *Queue[C, R]) leaveBatch(c *Call[C, R]) {
	b := c.b
	i := slices.Index(b.calls, c)
	b.calls = slices.Delete(b.calls, i, i+1)
	switch {
	case i > 0:
	case len(b.calls) > 0:
		b.calls[0].wake <- struct{}{}
	default:
		// Nobody will send it: it must not stay the last cut, which
		// makes newcomers queue for it (a call finding the queue idle
		// leads only when no cut batch waits).
		if q.last == b {
			q.last = nil
		}
		if len(q.queue) == 0 {
			q.idled++
		}
		q.handOff()
	}
}

// ByKey splits batch into groups of the calls whose inputs have the same
// key (a store's entity: a room, a campaign), each group in batch's order
// and the groups in the order of their first calls: what a Sender sends
// as one function call each.
func ByKey[C, R any, K comparable](batch []*Call[C, R], key func(C) K) [][]*Call[C, R] {
	var groups [][]*Call[C, R]
	var keys []K
	for _, c := range batch {
		k := key(c.In)
		if i := slices.Index(keys, k); i >= 0 {
			groups[i] = append(groups[i], c)
		} else {
			keys = append(keys, k)
			groups = append(groups, []*Call[C, R]{c})
		}
	}
	return groups
}

// Len reports the round trips in flight (with the batches cut and not yet
// sent) and the calls queued: for tests that wait for a state.
func (q *Queue[C, R]) Len() (inFlight, queued int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.leads, len(q.queue)
}

// gatherYields bounds how many times a call that finds the queue idle
// yields the processor (runtime.Gosched), while calls keep arriving,
// before it sends: alone, a call yields twice, a fraction of a
// microsecond when nothing else is runnable (BENCHMARKS.md, "Gathering
// the calls of one moment").
const gatherYields = 8
