package admission

import (
	"context"
	"fmt"

	"github.com/gatehouse-go/gatehouse/internal/groupcommit"
	"github.com/gatehouse-go/gatehouse/window/redisopt"
	"github.com/redis/go-redis/v9"
)

// Group commit (internal/groupcommit holds the rule, shared with the
// slots store). Unless RedisOptions.Unbatched is set, the calls one store
// value makes concurrently share round trips: a call that finds fewer
// than groupcommit.InFlight round trips of the store in flight leads a new
// one, with the calls made at the same moment (after a few yields: a call
// alone waits under a microsecond); otherwise it queues, and
// when a round trip returns, the caller that sent it hands the queue's
// first calls (up to groupcommit.DefaultMax) to the first of them, which
// sends them as one round trip and hands on in turn. No goroutine of its
// own: callers carry their batches.
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
// Each call's budget (RedisOptions.Timeout) runs from when it enters the
// queue and covers its wait and its round trip. A call whose budget or
// context ends before it is sent leaves the queue (nothing happened); one
// whose budget or context ends after it was sent fails as unavailable
// (the outcome is unknown: the caller admits nobody). A round trip is
// bounded by its leader's deadline, not cancelled with its context. A
// batch FCALL that fails (or whose outcome is unknown) fails every call it
// carried the same way.

// pendingCall is one function call waiting for, or in, a round trip.
type pendingCall = groupcommit.Call[roomCall, any]

// batched calls c through the store's group commit.
func (s *redisStore) batched(ctx context.Context, c roomCall) (any, error) {
	return s.batch.Do(ctx, c)
}

// roomFCall is the function call of one room's calls: the call's own
// function for one, the batch function for several.
func (s *redisStore) roomFCall(calls []*pendingCall) (fn string, keys []string, args []any) {
	c := &calls[0].In
	if len(calls) == 1 && !s.batchAll {
		return fnNames[c.op], c.keys, c.args()
	}
	args = make([]any, 0, 2*len(calls))
	for i, pc := range calls {
		if i > 0 && sameParams(pc.In.a, calls[i-1].In.a) {
			args = append(args, shortArgs(pc.In.a))
		} else {
			args = append(args, pc.In.a)
		}
		if pc.In.op <= opDone {
			args = append(args, pc.In.field)
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
// or in a pipeline, by ctx's deadline (the batch leader's).
func (s *redisStore) send(ctx context.Context, batch []*pendingCall) {
	type result struct {
		reply any
		err   error
	}
	rooms := groupcommit.ByKey(batch, func(c roomCall) string { return c.keys[0] })
	res, err := redisopt.Do(ctx, 0, s.inline, func(ctx context.Context) ([]result, error) {
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
			calls[0].Out = res[i].reply
		default:
			replies, ok := res[i].reply.([]any)
			if !ok || len(replies) != len(calls) {
				setAll(calls, nil, fmt.Errorf("%w: a batch of %d calls answered %v", ErrUnavailable, len(calls), res[i].reply))
				continue
			}
			for j, pc := range calls {
				if e, isErr := replies[j].(error); isErr {
					// The call's own error (a redis.Error).
					pc.Err = e
				} else {
					pc.Out = replies[j]
				}
			}
		}
	}
}

// setAll gives every call of calls the same outcome.
func setAll(calls []*pendingCall, reply any, err error) {
	for _, pc := range calls {
		pc.Out, pc.Err = reply, err
	}
}
