package admission

import (
	"context"
	"fmt"
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
// the first caller in it, which sends it as one round trip (up to maxBatch
// calls) and hands on in turn. No goroutine of its own: callers carry
// their batches.
//
// A round trip carries one function call per room: the calls of one room
// (in the order they queued) go in one FCALL of the library's batch
// function, which reads the room's state and the records they name once,
// runs each call in turn as its own function would have (its own now,
// arguments and reply: an error among them is that call's alone), and
// writes what changed once; a room with a single call gets its own
// function. Calls of several rooms go as a pipeline of those FCALLs (on a
// Cluster, go-redis sends each to its room's shard: a room's keys share
// its hash tag, and only one room's calls share an FCALL). The FCALL is
// atomic, so each call still is; calls from different people never
// depended on each other's order. What a batch saves is Redis's
// per-round-trip work (a read and a write system call, the event loop)
// and each call's fixed cost inside Redis (the FCALL, reading and
// unpacking the room's state, writing it), which together cost more than
// most calls' own work.
//
// A batch runs under a budget of its own (RedisOptions.Timeout from when
// it is sent), since it carries calls of several callers; a caller whose
// context ends while it waits in the queue leaves it (its call was never
// sent), and one whose context ends after its call was sent gets the
// context's error (the outcome is unknown: the caller admits nobody). A
// batch FCALL that fails (or whose outcome is unknown) fails every call it
// carried the same way.
type batcher struct {
	mu       sync.Mutex
	inflight int            // round trips in flight
	queue    []*pendingCall // calls waiting for one
}

const (
	// maxBatchesInFlight is how many round trips one store keeps in
	// flight: two, so that Redis works on one while the other travels.
	maxBatchesInFlight = 2
	// maxBatch bounds the calls of one round trip.
	maxBatch = 128
)

// pendingCall is one function call waiting for, or in, a round trip.
type pendingCall struct {
	call  roomCall
	reply any
	err   error
	// signal receives once: when the reply is in, or when this caller
	// must send lead (lead is set first).
	signal chan struct{}
	lead   []*pendingCall
}

// batched calls c through the store's group commit.
func (s *redisStore) batched(ctx context.Context, c roomCall) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, context.Cause(ctx)
	}
	pc := &pendingCall{call: c, signal: make(chan struct{}, 1)}
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

// byRoom splits batch into its rooms' calls, each room's in batch's order.
func byRoom(batch []*pendingCall) [][]*pendingCall {
	var rooms [][]*pendingCall
	for _, pc := range batch {
		i := slices.IndexFunc(rooms, func(r []*pendingCall) bool { return r[0].call.keys[0] == pc.call.keys[0] })
		if i < 0 {
			rooms = append(rooms, []*pendingCall{pc})
		} else {
			rooms[i] = append(rooms[i], pc)
		}
	}
	return rooms
}

// roomFCall is the function call of one room's calls: the call's own
// function for one, the batch function for several.
func (s *redisStore) roomFCall(calls []*pendingCall) (fn string, keys []string, args []any) {
	c := &calls[0].call
	if len(calls) == 1 && !s.batchAll {
		return fnNames[c.op], c.keys, c.args()
	}
	args = make([]any, 0, 2*len(calls))
	for i, pc := range calls {
		if i > 0 && sameParams(pc.call.a, calls[i-1].call.a) {
			args = append(args, shortArgs(pc.call.a))
		} else {
			args = append(args, pc.call.a)
		}
		if pc.call.op <= opDone {
			args = append(args, pc.call.field)
		}
	}
	return fnBatch, c.keys, args
}

// The parts of a call's packed numbers (packArgs): the op's byte, the
// check, now, the opening and windows, the function's own numbers, the
// limits.
const (
	argsNow    = 1 + checkLen
	argsOwn    = argsNow + 8*5
	argsLimits = 8 * 3 // from the end
)

// sameParams reports whether packed numbers a and b carry the same
// check, opening, windows and limits (they may differ in now and their
// own numbers).
func sameParams(a, b []byte) bool {
	return len(a) >= argsOwn+argsLimits && len(b) >= argsOwn+argsLimits &&
		string(a[1:argsNow]) == string(b[1:argsNow]) && string(a[argsNow+8:argsOwn]) == string(b[argsNow+8:argsOwn]) &&
		string(a[len(a)-argsLimits:]) == string(b[len(b)-argsLimits:])
}

// shortArgs is a call's packed numbers as a batch sends them after a
// call with the same check, opening, windows and limits: its op's byte
// plus shortOp, now and its own numbers (lib.lua's start).
func shortArgs(a []byte) []byte {
	b := make([]byte, 0, 1+8+len(a)-argsOwn-argsLimits)
	b = append(b, a[0]+shortOp)
	b = append(b, a[argsNow:argsNow+8]...)
	return append(b, a[argsOwn:len(a)-argsLimits]...)
}

// shortOp marks a call that comes short (lib.lua's SHORT).
const shortOp = 128

// send makes one round trip for batch: one function call per room, alone
// or in a pipeline.
func (s *redisStore) send(batch []*pendingCall) {
	type result struct {
		reply any
		err   error
	}
	rooms := byRoom(batch)
	res, err := redisopt.Do(context.Background(), s.timeout, s.inline, func(ctx context.Context) ([]result, error) {
		out := make([]result, len(rooms))
		if len(rooms) == 1 {
			fn, keys, args := s.roomFCall(rooms[0])
			out[0].reply, out[0].err = s.fcall(ctx, fn, keys, args...)
			return out, nil
		}
		pipe := s.c.Pipeline()
		cmds := make([]*redis.Cmd, len(rooms))
		for i, calls := range rooms {
			fn, keys, args := s.roomFCall(calls)
			cmds[i] = pipe.FCall(ctx, fn, keys, args...)
		}
		_, _ = pipe.Exec(ctx) // each command carries its own error
		for i, calls := range rooms {
			out[i].reply, out[i].err = cmds[i].Result()
			if out[i].err != nil && isNoFunction(out[i].err) {
				// The server lost the library: load it, call again.
				fn, keys, args := s.roomFCall(calls)
				out[i].reply, out[i].err = s.fcall(ctx, fn, keys, args...)
			}
		}
		return out, nil
	})
	for i, calls := range rooms {
		switch {
		case err != nil:
			setAll(calls, nil, err)
		case res[i].err != nil:
			setAll(calls, nil, res[i].err)
		case len(calls) == 1 && !s.batchAll:
			calls[0].reply = res[i].reply
		default:
			replies, ok := res[i].reply.([]any)
			if !ok || len(replies) != len(calls) {
				setAll(calls, nil, fmt.Errorf("%w: a batch of %d calls answered %v", ErrUnavailable, len(calls), res[i].reply))
				continue
			}
			for j, pc := range calls {
				if e, isErr := replies[j].(error); isErr {
					// The call's own error (a redis.Error).
					pc.err = e
				} else {
					pc.reply = replies[j]
				}
			}
		}
	}
}

// setAll gives every call of calls the same outcome.
func setAll(calls []*pendingCall, reply any, err error) {
	for _, pc := range calls {
		pc.reply, pc.err = reply, err
	}
}
