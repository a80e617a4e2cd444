package slots

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Group commit. By default the Redis store sends concurrent Hold, Confirm,
// Cancel and Move calls on one campaign together: a call that finds no
// round trip of its campaign in flight sends its own at once, alone (no
// wait, no timer: nothing is added at low load); calls that arrive while
// one is in flight queue, and when it returns, the first of them (the
// next leader) sends the whole queue, up to maxBatchOps, as one FCALL of
// the library's batch function, which runs each operation in turn exactly
// as its own function would. Every guarantee of one operation holds for
// each operation of a batch: each is atomic, idempotent by its key, judged
// at its own now; a batch that fails (an error, the budget) reports every
// operation in it as ErrUnavailable, outcome unknown, and a retry with the
// same key learns it. Under load this spreads one round trip's cost (the
// socket work, the call into Lua) over many operations. No goroutine is
// started: the callers themselves take turns to lead.

// maxBatchOps bounds the operations of one round trip, so that one call
// keeps Redis busy for a bounded time (each operation takes Redis tens of
// microseconds).
const maxBatchOps = 64

// batcher is one campaign's queue.
type batcher struct {
	mu    sync.Mutex
	queue []*batchOp // waiting to be sent, in arrival order
	busy  bool       // a leader is named or sending
}

// batchOp is one operation waiting in or sent with a batch.
type batchOp struct {
	f     *luaFunc
	args  []any
	lead  chan struct{} // closed when this op's caller is named leader
	done  chan struct{} // closed once v and err are set
	named bool          // under mu: named leader
	taken bool          // under mu: in a batch being sent
	v     any
	err   error
}

// batcher returns campaign c's queue, or nil when the store does not
// batch (RedisOptions.Unbatched) or keeps too many campaigns already.
func (s *redisStore) batcher(c Campaign) *batcher {
	if s.unbatched {
		return nil
	}
	if b, ok := s.batchers.Load(c); ok {
		return b.(*batcher)
	}
	if s.batched.Add(1) > maxCachedCampaigns {
		return nil
	}
	b, _ := s.batchers.LoadOrStore(c, &batcher{})
	return b.(*batcher)
}

// write runs mutating function f for campaign c, in a batch unless the
// store does not batch.
func (s *redisStore) write(ctx context.Context, f *luaFunc, c Campaign, args ...any) (any, error) {
	b := s.batcher(c)
	if b == nil {
		return s.run(ctx, f, c, true, args...)
	}
	if err := ctx.Err(); err != nil {
		return nil, unavailable(err)
	}
	op := &batchOp{f: f, args: args, lead: make(chan struct{}), done: make(chan struct{})}
	b.mu.Lock()
	b.queue = append(b.queue, op)
	if !b.busy {
		b.busy = true
		b.name(op)
	}
	b.mu.Unlock()
	// The call's budget runs from here, whether it waits, leads or both.
	deadline := time.Now().Add(s.timeout)
	timer := time.NewTimer(s.timeout)
	defer timer.Stop()
	var gaveUp error
	select {
	case <-op.lead:
		if gaveUp = ctx.Err(); gaveUp == nil {
			s.lead(ctx, deadline, c, b)
			return op.v, op.err
		}
	case <-op.done:
		return op.v, op.err
	case <-ctx.Done():
		gaveUp = ctx.Err()
	case <-timer.C:
		gaveUp = fmt.Errorf("waited for a batch longer than the store's budget %v", s.timeout)
	}
	b.mu.Lock()
	if !op.taken {
		// Not sent: leave the queue (and pass on the lead if it was
		// ours), nothing happened.
		for i, q := range b.queue {
			if q == op {
				b.queue = append(b.queue[:i:i], b.queue[i+1:]...)
				break
			}
		}
		if op.named {
			b.next()
		}
	}
	b.mu.Unlock()
	return nil, unavailable(gaveUp)
}

// name makes op's caller the leader. Under b.mu.
func (b *batcher) name(op *batchOp) {
	op.named = true
	close(op.lead)
}

// next names the first waiting operation's caller leader, or marks the
// campaign idle. Under b.mu.
func (b *batcher) next() {
	if len(b.queue) > 0 {
		b.name(b.queue[0])
	} else {
		b.busy = false
	}
}

// lead sends the queue (the leader's own operation first), up to
// maxBatchOps, by the leader's deadline, sets every result, and hands the
// lead on.
func (s *redisStore) lead(ctx context.Context, deadline time.Time, c Campaign, b *batcher) {
	b.mu.Lock()
	n := min(len(b.queue), maxBatchOps)
	ops := b.queue[:n:n]
	b.queue = append([]*batchOp(nil), b.queue[n:]...)
	for _, op := range ops {
		op.taken = true
	}
	b.mu.Unlock()
	s.flush(ctx, deadline, c, ops)
	b.mu.Lock()
	b.next()
	b.mu.Unlock()
}

// flush sends ops in one round trip and sets their results. The call is
// bounded by the leader's deadline (its budget, or its context's deadline
// if earlier), but not cancelled with the leader's context: it carries the
// others' operations too.
func (s *redisStore) flush(ctx context.Context, deadline time.Time, c Campaign, ops []*batchOp) {
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	fctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	defer cancel()
	defer func() {
		for _, op := range ops {
			close(op.done)
		}
	}()
	if len(ops) == 1 {
		ops[0].v, ops[0].err = s.run(fctx, ops[0].f, c, true, ops[0].args...)
		return
	}
	var args []any
	for _, op := range ops {
		args = append(args, op.f.lua)
		args = append(args, op.args...)
	}
	v, err := s.run(fctx, batchFunc, c, true, args...)
	outs, ok := v.([]any)
	if err == nil && (!ok || len(outs) != len(ops)) {
		err = fmt.Errorf("%w: batch reply of %d for %d operations", ErrUnavailable, len(outs), len(ops))
	}
	for i, op := range ops {
		if err != nil {
			op.err = err
		} else {
			op.v = outs[i]
		}
	}
}
