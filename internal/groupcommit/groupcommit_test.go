package groupcommit

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var errFake = errors.New("fake round trip failed")

// fakeSender records what it is sent and checks the queue's limits.
type fakeSender struct {
	t        *testing.T
	max      int
	inFlight atomic.Int32
	peak     atomic.Int32
	mu       sync.Mutex
	sent     map[int]int // call -> times sent
	batches  [][]uint64  // each batch's arrival numbers
	rng      func() float64
	until    func() time.Time // when set, a round trip that succeeds ends then
}

func (f *fakeSender) send(ctx context.Context, batch []*Call[int, int]) {
	n := f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	for p := f.peak.Load(); n > p && !f.peak.CompareAndSwap(p, n); p = f.peak.Load() {
	}
	if n > InFlight {
		f.t.Errorf("%d round trips in flight, want at most %d", n, InFlight)
	}
	if len(batch) == 0 || len(batch) > f.max {
		f.t.Errorf("batch of %d calls, want 1 to %d", len(batch), f.max)
	}
	if _, ok := ctx.Deadline(); !ok {
		f.t.Error("round trip without a deadline")
	}
	f.mu.Lock()
	seqs := make([]uint64, len(batch))
	for i, c := range batch {
		f.sent[c.In]++
		seqs[i] = c.seq
	}
	f.batches = append(f.batches, seqs)
	r := f.rng()
	f.mu.Unlock()
	switch {
	case r < 0.05: // a stall: the round trip ends at the leader's deadline
		<-ctx.Done()
		for _, c := range batch {
			c.Err = context.Cause(ctx)
		}
		return
	case r < 0.15:
		for _, c := range batch {
			c.Err = errFake
		}
		return
	}
	if f.until != nil {
		time.Sleep(time.Until(f.until()))
	} else {
		time.Sleep(time.Duration(r * float64(time.Millisecond)))
	}
	for _, c := range batch {
		c.Out = 2 * c.In
	}
}

// TestRandomised: many goroutines, random delays, failures, stalls and
// callers giving up. Every call gets one outcome that tells the truth: an
// answer or a round trip's error only if it was sent, ErrNotSent only if
// it never was, ErrUnknown only if it was; no call is sent twice; never
// more than InFlight round trips, no batch beyond Max; batches are cut
// from the queue in arrival order.
func TestRandomised(t *testing.T) {
	random := lockedRandom(1, 2)
	f := &fakeSender{t: t, max: 7, sent: map[int]int{}, rng: random}
	const budget = 30 * time.Millisecond
	q := New(f.send, Options{Budget: budget, Max: f.max})
	counts := randomRun(t, f, q, 0, 40, 60, random, func() (context.Context, context.CancelFunc) {
		ctx, cancel := context.WithCancel(context.Background())
		switch r := random(); {
		case r < 0.1:
			ctx, cancel = context.WithTimeout(context.Background(), time.Duration(random()*float64(2*time.Millisecond)))
		case r < 0.2:
			time.AfterFunc(time.Duration(random()*float64(2*time.Millisecond)), cancel)
		case r < 0.22:
			cancel() // given up before it starts
		}
		return ctx, cancel
	})
	for _, k := range []string{"answered", "not sent", "unknown", "failed"} {
		if counts[k] == 0 {
			t.Errorf("no call %s: the test did not exercise it", k)
		}
	}
	multi := 0
	for _, b := range f.batches {
		if len(b) > 1 {
			multi++
		}
	}
	if multi == 0 || f.peak.Load() != InFlight {
		t.Errorf("%d batches of several calls, peak %d in flight: the test did not exercise the queue", multi, f.peak.Load())
	}
}

// TestRandomisedGiveUpsAtHandOff: as TestRandomised, with round trips
// that end on a 500µs grid and a share of calls whose deadlines fall on
// the same grid, so that calls give up while the round trip before theirs
// returns: cut into a batch just as they leave, some batches lose every
// call before they are sent. The queue must go on sending after that
// (TestAbandonedBatchFreesTheQueue builds the state by hand).
func TestRandomisedGiveUpsAtHandOff(t *testing.T) {
	random := lockedRandom(3, 4)
	const grid = 500 * time.Microsecond
	next := func(k int) time.Time { return time.Now().Truncate(grid).Add(time.Duration(k) * grid) }
	f := &fakeSender{t: t, max: 3, sent: map[int]int{}, rng: random, until: func() time.Time { return next(1) }}
	q := New(f.send, Options{Budget: 30 * time.Millisecond, Max: f.max})
	idled := 0
	for round := 0; round < 20 && idled == 0; round++ {
		randomRun(t, f, q, round*1000, 4, 200, random, func() (context.Context, context.CancelFunc) {
			if random() < 0.5 {
				return context.WithDeadline(context.Background(), next(1+int(random()*3)))
			}
			return context.WithCancel(context.Background())
		})
		q.mu.Lock()
		idled = q.idled
		q.mu.Unlock()
	}
	t.Logf("%d cut batches lost all their calls with none queued", idled)
	if idled == 0 {
		t.Error("no cut batch lost all its calls with none queued: the test did not reach the state")
	}
}

// lockedRandom returns a seeded source of floats in [0, 1) that many
// goroutines may share.
func lockedRandom(seed1, seed2 uint64) func() float64 {
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(seed1, seed2))
	return func() float64 {
		mu.Lock()
		defer mu.Unlock()
		return rng.Float64()
	}
}

// randomRun makes goroutines x each calls through q, each with the
// context ctxFor gives it and random pauses between them, then checks
// every outcome against what f was sent and that the queue is left idle
// and still sends; it returns how many calls ended each way.
func randomRun(t *testing.T, f *fakeSender, q *Queue[int, int], base, goroutines, each int, random func() float64, ctxFor func() (context.Context, context.CancelFunc)) map[string]int {
	t.Helper()
	type result struct {
		out int
		err error
	}
	results := make([]result, goroutines*each)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for k := range each {
				id := base + g*each + k
				ctx, cancel := ctxFor()
				results[id-base].out, results[id-base].err = q.Do(ctx, id)
				cancel()
				if random() < 0.3 {
					time.Sleep(time.Duration(random() * float64(time.Millisecond)))
				}
			}
		})
	}
	wg.Wait()
	counts := map[string]int{}
	for i, r := range results {
		id := base + i
		sent := f.sent[id]
		if sent > 1 {
			t.Errorf("call %d sent %d times", id, sent)
		}
		switch {
		case r.err == nil:
			counts["answered"]++
			if sent != 1 || r.out != 2*id {
				t.Errorf("call %d: answer %d, sent %d times", id, r.out, sent)
			}
		case errors.Is(r.err, ErrNotSent):
			counts["not sent"]++
			if sent != 0 {
				t.Errorf("call %d: %v, but it was sent", id, r.err)
			}
		case errors.Is(r.err, ErrUnknown):
			counts["unknown"]++
			if sent != 1 {
				t.Errorf("call %d: %v, but it was never sent", id, r.err)
			}
		default:
			counts["failed"]++
			if sent != 1 {
				t.Errorf("call %d: %v from a round trip, sent %d times", id, r.err, sent)
			}
		}
	}
	// Batches are cut from the queue's head: each batch's calls in
	// arrival order, and no two batches interleave.
	slices.SortFunc(f.batches, func(a, b []uint64) int { return int(a[0]) - int(b[0]) })
	for i, b := range f.batches {
		if !slices.IsSorted(b) {
			t.Errorf("batch %v out of arrival order", b)
		}
		if i > 0 && f.batches[i-1][len(f.batches[i-1])-1] >= b[0] {
			t.Errorf("batches %v and %v interleave", f.batches[i-1], b)
		}
	}
	if n, queued := q.Len(); n != 0 || queued != 0 {
		t.Errorf("after every call returned: %d in flight, %d queued", n, queued)
	}
	// An idle queue still sends: a batch abandoned whole must not keep it
	// waiting for a leader that never comes. The fake fails or stalls
	// some round trips on its own, so this call must be sent once and
	// come back with its answer or the fake's error.
	last := base + goroutines*each
	out, err := q.Do(context.Background(), last)
	f.mu.Lock()
	sent := f.sent[last]
	f.mu.Unlock()
	if sent != 1 || (err == nil && out != 2*last) || (err != nil && !errors.Is(err, errFake) && !errors.Is(err, context.DeadlineExceeded)) {
		t.Errorf("a call after all others: sent %d times, returned %d, %v; want it sent once and answered or failed by the fake", sent, out, err)
	}
	t.Logf("outcomes %v; %d round trips in all; peak in flight %d", counts, len(f.batches), f.peak.Load())
	return counts
}

// TestBudgetCoversTheQueue: with the round trip stalled, every caller,
// however deep in the queue, returns within its budget (plus generous
// slack, less than the budget, so that a round trip given a budget of its
// own when it is sent would show: the calls cut when the first round
// trips end would then wait a second budget), as ErrNotSent if it was
// never sent. InFlight callers go first and stall their round trips until
// their deadlines; the rest arrive at once a tenth of the budget later.
// Whether a call deep in the queue is sent just before its deadline or
// leaves unsent at it is a race with its own timer (the round trips ahead
// of it end at their leaders' deadlines, never later than its own), so
// the test counts both and asks only that they add up: TestRandomised
// covers calls that leave the queue unsent.
// TestIdleQueueGathers: callers made runnable together (the events of one
// instant reaching a store) share the round trip of the first, who finds
// the queue idle, instead of each of the first InFlight taking one alone.
// Whether a given caller arrives in time depends on the scheduler, so the
// test asks it of the first round trip of any of a few trials; a queue
// that sends the first call at once never carries more than it.
func TestIdleQueueGathers(t *testing.T) {
	const callers = 16
	for trial := range 20 {
		var mu sync.Mutex
		var firstLen int
		release := make(chan struct{})
		q := New(func(ctx context.Context, batch []*Call[int, int]) {
			mu.Lock()
			if firstLen == 0 {
				firstLen = len(batch)
			}
			mu.Unlock()
			<-release
			for _, c := range batch {
				c.Out = c.In
			}
		}, Options{Budget: time.Minute})
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range callers {
			wg.Go(func() {
				<-start
				if out, err := q.Do(context.Background(), i); err != nil || out != i {
					t.Errorf("call %d: %d, %v", i, out, err)
				}
			})
		}
		close(start)
		for {
			if n, _ := q.Len(); n > 0 {
				mu.Lock()
				got := firstLen
				mu.Unlock()
				if got > 0 {
					break
				}
			}
			time.Sleep(100 * time.Microsecond)
		}
		close(release)
		wg.Wait()
		if firstLen > 1 {
			t.Logf("trial %d: the first round trip carried %d of %d calls", trial, firstLen, callers)
			return
		}
	}
	t.Fatal("in 20 trials, the first round trip never carried more than its own call")
}

// TestAbandonedBatchFreesTheQueue: when every call of a batch cut for the
// queue gives up before it is sent (their budgets end together, as in a
// store outage), the queue is idle again: the next call leads a round
// trip. A batch left behind as the last cut made every later call queue
// for a leader that never came, and fail unsent, for good.
func TestAbandonedBatchFreesTheQueue(t *testing.T) {
	q := New(func(ctx context.Context, batch []*Call[int, int]) {
		for _, c := range batch {
			c.Out = c.In
		}
	}, Options{Budget: time.Second})
	q.mu.Lock()
	// A round trip is in flight and two calls queue; it returns, the two
	// are cut into the next batch, and both give up before it is sent.
	q.leads = InFlight
	c1 := &Call[int, int]{In: 1, ctx: context.Background(), wake: make(chan struct{}, 1)}
	c2 := &Call[int, int]{In: 2, ctx: context.Background(), wake: make(chan struct{}, 1)}
	q.queue = append(q.queue, c1, c2)
	q.handOff()
	if c1.b == nil || q.last != c1.b {
		q.mu.Unlock()
		t.Fatal("the queued calls were not cut into a batch")
	}
	q.leaveBatch(c1)
	q.leaveBatch(c2)
	q.mu.Unlock()
	if n, queued := q.Len(); n != InFlight-1 || queued != 0 {
		t.Fatalf("after the batch was abandoned: %d in flight, %d queued; want %d and 0", n, queued, InFlight-1)
	}
	if out, err := q.Do(context.Background(), 3); err != nil || out != 3 {
		t.Fatalf("the next call: %d, %v; want it sent", out, err)
	}
}

func TestBudgetCoversTheQueue(t *testing.T) {
	const budget = 500 * time.Millisecond
	var sent atomic.Int32
	q := New(func(ctx context.Context, batch []*Call[int, int]) {
		sent.Add(int32(len(batch)))
		<-ctx.Done()
		for _, c := range batch {
			c.Err = context.Cause(ctx)
		}
	}, Options{Budget: budget, Max: 4})
	const callers = 150
	took := make([]time.Duration, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	call := func(i int) {
		wg.Go(func() {
			start := time.Now()
			_, errs[i] = q.Do(context.Background(), i)
			took[i] = time.Since(start)
		})
	}
	for i := range InFlight {
		call(i)
	}
	for deadline := time.Now().Add(budget / 2); sent.Load() < InFlight; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of the first %d calls sent after %v", sent.Load(), InFlight, budget/2)
		}
	}
	time.Sleep(budget / 10)
	for i := InFlight; i < callers; i++ {
		call(i)
	}
	wg.Wait()
	notSent := 0
	for i := range callers {
		if took[i] > budget+300*time.Millisecond {
			t.Errorf("caller %d returned after %v, budget %v", i, took[i], budget)
		}
		switch {
		case errors.Is(errs[i], ErrNotSent):
			notSent++
		case !errors.Is(errs[i], ErrBudget):
			t.Errorf("caller %d: %v, want the budget's error", i, errs[i])
		}
	}
	if int(sent.Load())+notSent != callers {
		t.Errorf("%d sent, %d never sent, of %d", sent.Load(), notSent, callers)
	}
}

// TestRoundTripOutlivesTheLeadersContext: a round trip carries other
// callers' calls, so cancelling its leader's context does not cancel it;
// its deadline is the leader's.
func TestRoundTripOutlivesTheLeadersContext(t *testing.T) {
	release := make(chan struct{})
	sending := make(chan context.Context, 1)
	q := New(func(ctx context.Context, batch []*Call[int, int]) {
		sending <- ctx
		<-release
		for _, c := range batch {
			c.Out = c.In
		}
	}, Options{Budget: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := q.Do(ctx, 1)
		done <- err
	}()
	rt := <-sending
	cancel()
	time.Sleep(10 * time.Millisecond)
	if err := rt.Err(); err != nil {
		t.Errorf("round trip cancelled with its leader's context: %v", err)
	}
	if d, ok := rt.Deadline(); !ok || time.Until(d) < 59*time.Minute {
		t.Errorf("round trip's deadline %v, want the leader's (an hour)", d)
	}
	close(release)
	if err := <-done; err != nil {
		t.Errorf("leader: %v", err)
	}
}

// TestByKey: groups by key, each in the batch's order, groups in the order
// of their first calls.
func TestByKey(t *testing.T) {
	var batch []*Call[string, int]
	for _, in := range []string{"a1", "b1", "a2", "c1", "b2", "a3"} {
		batch = append(batch, &Call[string, int]{In: in})
	}
	groups := ByKey(batch, func(in string) byte { return in[0] })
	var got []string
	for _, g := range groups {
		s := ""
		for _, c := range g {
			s += c.In
		}
		got = append(got, s)
	}
	if want := []string{"a1a2a3", "b1b2", "c1"}; !slices.Equal(got, want) {
		t.Errorf("ByKey groups %q, want %q", got, want)
	}
}
