package admission

import (
	"context"
	"slices"
	"sync"

	"github.com/gatehouse-go/gatehouse/window/redisopt"
	"github.com/redis/go-redis/v9"
)

// Group commit. Unless RedisOptions.Unbatched is set, the calls one store
// value makes concurrently share round trips: a call goes out at once, on
// its own, while fewer than maxBatchesInFlight round trips of the store
// are in flight (so at low load nothing waits); otherwise it queues, and
// when a round trip returns, the caller that sent it hands the queue to
// the first caller in it, which sends it as one pipeline (up to maxBatch
// calls) and hands on in turn. No goroutine of its own: callers carry
// their batches. Each call is still one function call, atomic on its own,
// with its own reply; a pipeline is not a transaction, and calls from
// different people never depended on each other's order. What a batch
// saves is Redis's per-round-trip work (a read and a write system call,
// the event loop), which costs as much as a small function.
//
// A batch runs under a budget of its own (RedisOptions.Timeout from when
// it is sent), since it carries calls of several callers; a caller whose
// context ends while it waits in the queue leaves it (its call was never
// sent), and one whose context ends after its call was sent gets the
// context's error (the outcome is unknown: the caller admits nobody).
type batcher struct {
	mu       sync.Mutex
	inflight int            // round trips in flight
	queue    []*pendingCall // calls waiting for one
}

const (
	// maxBatchesInFlight is how many round trips one store keeps in
	// flight: two, so that Redis works on one while the other travels.
	maxBatchesInFlight = 2
	// maxBatch bounds the calls of one pipeline.
	maxBatch = 128
)

// pendingCall is one function call waiting for, or in, a round trip.
type pendingCall struct {
	fn    string
	keys  []string
	args  []any
	reply any
	err   error
	// signal receives once: when the reply is in, or when this caller
	// must send lead (lead is set first).
	signal chan struct{}
	lead   []*pendingCall
}

// batched calls fn through the store's group commit.
func (s *redisStore) batched(ctx context.Context, fn string, keys []string, args []any) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, context.Cause(ctx)
	}
	pc := &pendingCall{fn: fn, keys: keys, args: args, signal: make(chan struct{}, 1)}
	b := &s.batch
	b.mu.Lock()
	if b.inflight < maxBatchesInFlight {
		b.inflight++
		b.mu.Unlock()
		s.lead([]*pendingCall{pc})
		return pc.reply, pc.err
	}
	b.queue = append(b.queue, pc)
	b.mu.Unlock()
	select {
	case <-pc.signal:
	case <-ctx.Done():
		b.mu.Lock()
		if i := slices.Index(b.queue, pc); i >= 0 {
			// Never sent: leave the queue.
			b.queue = slices.Delete(b.queue, i, i+1)
			b.mu.Unlock()
			return nil, context.Cause(ctx)
		}
		lead := pc.lead
		b.mu.Unlock()
		if lead == nil {
			// Sent with someone else's batch: the outcome is unknown.
			return nil, context.Cause(ctx)
		}
		<-pc.signal // the hand-off's signal
	}
	if pc.lead != nil {
		s.lead(pc.lead)
	}
	return pc.reply, pc.err
}

// lead sends batch (whose first call is the caller's), gives every other
// call of it its reply, then hands the queue to the next leader, or gives
// back the round trip when nobody waits.
func (s *redisStore) lead(batch []*pendingCall) {
	s.send(batch)
	for _, pc := range batch[1:] {
		pc.signal <- struct{}{}
	}
	b := &s.batch
	b.mu.Lock()
	if len(b.queue) == 0 {
		b.inflight--
		b.mu.Unlock()
		return
	}
	n := min(len(b.queue), maxBatch)
	next := slices.Clone(b.queue[:n])
	b.queue = slices.Delete(b.queue, 0, n)
	next[0].lead = next
	b.mu.Unlock()
	next[0].signal <- struct{}{}
}

// send makes one round trip for batch: the call alone, or a pipeline.
func (s *redisStore) send(batch []*pendingCall) {
	type result struct {
		reply any
		err   error
	}
	res, err := redisopt.Do(context.Background(), s.timeout, s.inline, func(ctx context.Context) ([]result, error) {
		out := make([]result, len(batch))
		if len(batch) == 1 {
			pc := batch[0]
			out[0].reply, out[0].err = s.fcall(ctx, pc.fn, pc.keys, pc.args...)
			return out, nil
		}
		pipe := s.c.Pipeline()
		cmds := make([]*redis.Cmd, len(batch))
		for i, pc := range batch {
			cmds[i] = pipe.FCall(ctx, pc.fn, pc.keys, pc.args...)
		}
		_, _ = pipe.Exec(ctx) // each command carries its own error
		for i, pc := range batch {
			out[i].reply, out[i].err = cmds[i].Result()
			if out[i].err != nil && isNoFunction(out[i].err) {
				// The server lost the library: load it, call again.
				out[i].reply, out[i].err = s.fcall(ctx, pc.fn, pc.keys, pc.args...)
			}
		}
		return out, nil
	})
	for i, pc := range batch {
		if err != nil {
			pc.err = err
			continue
		}
		pc.reply, pc.err = res[i].reply, res[i].err
	}
}
