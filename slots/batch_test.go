package slots_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-go/gatehouse/internal/groupcommit"
	"github.com/gatehouse-go/gatehouse/internal/redistest"
	"github.com/gatehouse-go/gatehouse/slots"
)

// fcallHook watches the FCALLs a client sends: it counts them by function
// (the part of the name after the library's), can hold each one back until
// gate is closed, and can fail the batch function's.
type fcallHook struct {
	mu        sync.Mutex
	calls     map[string]int
	gate      chan struct{} // nil: never held back
	failBatch bool
}

func (h *fcallHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *fcallHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (h *fcallHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() != "fcall" {
			return next(ctx, cmd)
		}
		name := fmt.Sprint(cmd.Args()[1])
		fn := name[strings.LastIndexByte(name, '_')+1:]
		h.mu.Lock()
		if h.calls == nil {
			h.calls = map[string]int{}
		}
		h.calls[fn]++
		gate, fail := h.gate, h.failBatch && fn == "batch"
		h.mu.Unlock()
		if gate != nil {
			<-gate
		}
		if fail {
			cmd.SetErr(errors.New("injected batch failure"))
			return cmd.Err()
		}
		return next(ctx, cmd)
	}
}

func (h *fcallHook) count(fn string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls[fn]
}

// waitFor polls cond until it holds or a generous time passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func batchStore(t *testing.T, opts slots.RedisOptions) (slots.Store, *fcallHook, slots.Campaign) {
	t.Helper()
	rdb := redistest.Start(t, redistest.Options{}).Client()
	h := &fcallHook{}
	rdb.AddHook(h)
	s := freshStore(t, rdb, opts)
	const c = slots.Campaign("batch")
	if err := s.DefineSlots(t.Context(), t0, slots.DefineRequest{Campaign: c, Slots: []slots.Slot{{ID: "a", Capacity: 1000}, {ID: "b", Capacity: 1000}}, Key: "d"}); err != nil {
		t.Fatal(err)
	}
	return s, h, c
}

// stall makes groupcommit.InFlight Holds (persons "first0", "first1", ...)
// whose round trips h holds back, and returns once they are in flight:
// calls made from now on queue behind them. release lets them, and every
// later round trip, through, and returns the first of their errors.
func stall(t *testing.T, s slots.Store, h *fcallHook, c slots.Campaign) (release func() error) {
	t.Helper()
	gate := make(chan struct{})
	h.mu.Lock()
	h.gate = gate
	h.mu.Unlock()
	first := make(chan error, groupcommit.InFlight)
	// One after the other: calls made together would share a round trip.
	for i := range groupcommit.InFlight {
		p := fmt.Sprint("first", i)
		go func() {
			_, err := s.Hold(t.Context(), t0, slots.HoldRequest{Campaign: c, Slot: "a", Person: p, TTL: time.Hour, Key: p})
			first <- err
		}()
		waitFor(t, "the first calls' round trips", func() bool { return h.count("hold") == i+1 })
	}
	return func() error {
		h.mu.Lock()
		h.gate = nil
		h.mu.Unlock()
		close(gate)
		var err error
		for range groupcommit.InFlight {
			if e := <-first; err == nil {
				err = e
			}
		}
		return err
	}
}

// TestBatchLoneCallIsSentAtOnce: at low load nothing waits and nothing is
// batched: each call, made one after another, is one FCALL of its own
// function, sent by the caller itself.
func TestBatchLoneCallIsSentAtOnce(t *testing.T) {
	s, h, c := batchStore(t, slots.RedisOptions{})
	ctx := t.Context()
	for i := range 5 {
		p := fmt.Sprint("p", i)
		hd, err := s.Hold(ctx, t0, slots.HoldRequest{Campaign: c, Slot: "a", Person: p, TTL: time.Hour, Key: "h" + p})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Confirm(ctx, t0, slots.ConfirmRequest{Campaign: c, HoldID: hd.ID, Person: p, Key: "c" + p}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Move(ctx, t0, slots.MoveRequest{Campaign: c, ID: hd.ID, Person: p, To: "b", Key: "m" + p}); err != nil {
			t.Fatal(err)
		}
		if err := s.Cancel(ctx, t0, slots.CancelRequest{Campaign: c, ID: hd.ID, Person: p, Key: "x" + p}); err != nil {
			t.Fatal(err)
		}
	}
	for _, fn := range []string{"hold", "confirm", "move", "cancel"} {
		if n := h.count(fn); n != 5 {
			t.Errorf("%d FCALLs of %s for 5 calls, want 5", n, fn)
		}
	}
	if n := h.count("batch"); n != 0 {
		t.Errorf("%d batches for calls made one at a time, want 0", n)
	}
}

// TestBatchConcurrentCallsShareRoundTrips holds back the first round trips
// (stall) until 40 more calls have queued: they then go in one batch, and
// every one of them gets the answer its own function gives (39 holds, a
// refused second hold of the same person, their snapshot).
func TestBatchConcurrentCallsShareRoundTrips(t *testing.T) {
	s, h, c := batchStore(t, slots.RedisOptions{})
	ctx := t.Context()
	release := stall(t, s, h, c)
	var wg sync.WaitGroup
	const n = 40
	errs := make([]error, n)
	for i := range n {
		p := fmt.Sprint("p", i%(n-1)) // p0 asks twice, under two keys
		wg.Go(func() {
			_, errs[i] = s.Hold(ctx, t0, slots.HoldRequest{Campaign: c, Slot: "a", Person: p, TTL: time.Hour, Key: fmt.Sprint("k", i)})
		})
	}
	time.Sleep(50 * time.Millisecond) // let them queue
	if err := release(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	booked := 0
	for _, err := range errs {
		switch {
		case err == nil:
			booked++
		case !errors.Is(err, slots.ErrAlreadyBooked):
			t.Errorf("Hold in a batch: %v", err)
		}
	}
	if booked != n-1 {
		t.Errorf("%d holds made, want %d (p0's second refused)", booked, n-1)
	}
	if b := h.count("batch"); b == 0 || b+h.count("hold") > n/2 {
		t.Errorf("%d batches and %d lone holds for %d calls: the calls did not share round trips", b, h.count("hold"), n+1)
	}
	snap := snapshot(t, s, t0, c)
	if want := n - 1 + groupcommit.InFlight; len(snap.Holds) != want || snap.Slots[0].Held != want {
		t.Errorf("snapshot after the batch: %d holds, %+v; want %d", len(snap.Holds), snap.Slots[0], want)
	}
}

// TestBatchCallerGivingUpChangesNothing: a call whose context ends while it
// waits for its turn leaves the queue unsent (ErrUnavailable, and no hold
// exists afterwards), and the calls behind it still go.
func TestBatchCallerGivingUpChangesNothing(t *testing.T) {
	s, h, c := batchStore(t, slots.RedisOptions{})
	ctx := t.Context()
	release := stall(t, s, h, c)
	var wg sync.WaitGroup
	var lastErr error
	quit, cancel := context.WithCancel(ctx)
	var quitErr error
	var quitDone atomic.Bool
	wg.Go(func() {
		_, quitErr = s.Hold(quit, t0, slots.HoldRequest{Campaign: c, Slot: "a", Person: "quitter", TTL: time.Hour, Key: "quit"})
		quitDone.Store(true)
	})
	time.Sleep(20 * time.Millisecond) // the quitter queues, then the last caller
	wg.Go(func() {
		_, lastErr = s.Hold(ctx, t0, slots.HoldRequest{Campaign: c, Slot: "a", Person: "last", TTL: time.Hour, Key: "last"})
	})
	time.Sleep(20 * time.Millisecond)
	cancel()
	waitFor(t, "the quitter to return", quitDone.Load)
	firstErr := release()
	wg.Wait()
	if !errors.Is(quitErr, slots.ErrUnavailable) {
		t.Errorf("Hold given up while queued: %v, want ErrUnavailable", quitErr)
	}
	if firstErr != nil || lastErr != nil {
		t.Fatalf("the calls around the quitter: %v, %v", firstErr, lastErr)
	}
	if _, err := s.Lookup(ctx, t0, c, "quitter"); !errors.Is(err, slots.ErrNotFound) {
		t.Errorf("the quitter's hold: %v, want none", err)
	}
	if _, err := s.Lookup(ctx, t0, c, "last"); err != nil {
		t.Errorf("the hold queued behind the quitter: %v", err)
	}
}

// TestBatchFailureIsUnknownForEveryCall: when a batch's round trip fails,
// every call in it gets ErrUnavailable (its outcome unknown), never a
// domain answer; retried with the same keys, the calls succeed.
func TestBatchFailureIsUnknownForEveryCall(t *testing.T) {
	s, h, c := batchStore(t, slots.RedisOptions{})
	ctx := t.Context()
	h.mu.Lock()
	h.failBatch = true
	h.mu.Unlock()
	release := stall(t, s, h, c)
	var wg sync.WaitGroup
	const n = 10
	reqs := make([]slots.HoldRequest, n)
	errs := make([]error, n)
	for i := range reqs {
		reqs[i] = slots.HoldRequest{Campaign: c, Slot: "a", Person: fmt.Sprint("p", i), TTL: time.Hour, Key: fmt.Sprint("k", i)}
		wg.Go(func() { _, errs[i] = s.Hold(ctx, t0, reqs[i]) })
	}
	time.Sleep(50 * time.Millisecond)
	if err := release(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if h.count("batch") == 0 {
		t.Fatal("no batch was sent")
	}
	for i, err := range errs {
		if err != nil && !errors.Is(err, slots.ErrUnavailable) {
			t.Errorf("call %d of a failed batch: %v, want ErrUnavailable", i, err)
		}
	}
	h.mu.Lock()
	h.failBatch = false
	h.mu.Unlock()
	for i, req := range reqs {
		if _, err := s.Hold(ctx, t0, req); err != nil {
			t.Errorf("retry of call %d: %v", i, err)
		}
	}
}

// TestBatchUnbatchedOption: with RedisOptions.Unbatched every call is a
// round trip of its own, however many wait.
func TestBatchUnbatchedOption(t *testing.T) {
	s, h, c := batchStore(t, slots.RedisOptions{Unbatched: true})
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			p := fmt.Sprint("p", i)
			if _, err := s.Hold(t.Context(), t0, slots.HoldRequest{Campaign: c, Slot: "a", Person: p, TTL: time.Hour, Key: p}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if b, n := h.count("batch"), h.count("hold"); b != 0 || n != 40 {
		t.Errorf("unbatched: %d batches, %d holds, want 0 and 40", b, n)
	}
}
