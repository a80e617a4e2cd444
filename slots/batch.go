package slots

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-go/gatehouse/internal/groupcommit"
	"github.com/gatehouse-go/gatehouse/window/redisopt"
)

// Group commit (internal/groupcommit holds the rule, shared with the
// admission store). By default the Redis store sends concurrent Hold,
// Confirm, Cancel and Move calls together: a call that finds fewer than
// groupcommit.InFlight round trips of the store in flight (and no batch
// waiting to be sent) leads a new one, after yielding the processor a few
// times so that the calls made at the same moment join it (a call alone
// waits only those yields, under a microsecond); calls that arrive while
// that many are in flight queue, and when one returns, the first of them
// (the next leader) sends the queue's first calls, up to maxBatchOps, as
// one round trip: one FCALL per campaign, the campaign's operations in the
// order they queued, through the library's batch function, which runs each
// operation in turn exactly as its own function would (a campaign with a
// single operation gets its own function); several campaigns' FCALLs go
// as one pipeline (on a Cluster go-redis splits it by node: a campaign's
// keys share its hash tag). Every guarantee of one operation holds for
// each operation of a batch: each is atomic, idempotent by its key, judged
// at its own now. Each call's budget (RedisOptions.Timeout) runs from when
// it enters the store and covers its wait and its round trip: a call not
// yet sent when its budget or context ends leaves the queue (ErrUnavailable,
// nothing happened); a sent call whose budget ends, or whose batch fails,
// gets ErrUnavailable, outcome unknown, and a retry with the same key
// learns it. Under load this spreads one round trip's cost (the socket
// work, the call into Lua) over many operations. No goroutine is started:
// the callers themselves take turns to lead.

// maxBatchOps bounds the operations of one round trip, below
// groupcommit.DefaultMax: a slots operation costs Redis tens of
// microseconds (an admission call a few), and a round trip of 64 keeps a
// shard busy for a few milliseconds at most.
const maxBatchOps = 64

// writeCall is one mutating operation: function f of campaign c.
type writeCall struct {
	f    *luaFunc
	c    Campaign
	args []any
}

// batchOp is one operation waiting in or sent with a batch.
type batchOp = groupcommit.Call[writeCall, any]

// write runs mutating function f for campaign c, in a batch unless the
// store does not batch.
func (s *redisStore) write(ctx context.Context, f *luaFunc, c Campaign, args ...any) (any, error) {
	if s.unbatched {
		return s.run(ctx, f, c, true, args...)
	}
	v, err := s.batch.Do(ctx, writeCall{f: f, c: c, args: args})
	if err != nil && !errors.Is(err, ErrUnavailable) {
		err = unavailable(err)
	}
	return v, err
}

// campaignCall is the FCALL of one campaign's operations: the operation's
// own function for one, the batch function for several.
func (s *redisStore) campaignCall(ops []*batchOp) fcall {
	w := &ops[0].In
	if len(ops) == 1 {
		return fcall{f: w.f, keys: s.campaignKeys(w.c)[:w.f.keys], args: w.args}
	}
	var args []any
	for _, op := range ops {
		args = append(args, op.In.f.lua)
		args = append(args, op.In.args...)
	}
	return fcall{f: batchFunc, keys: s.campaignKeys(w.c)[:batchFunc.keys], args: args}
}

// send makes one round trip for ops, bounded by ctx's deadline (the
// leader's), and sets every operation's result.
func (s *redisStore) send(ctx context.Context, ops []*batchOp) {
	groups := groupcommit.ByKey(ops, func(w writeCall) Campaign { return w.c })
	calls := make([]fcall, len(groups))
	for i, g := range groups {
		calls[i] = s.campaignCall(g)
	}
	var replies []reply
	if len(calls) == 1 {
		// One campaign: exactly the call an unbatched store makes.
		var r reply
		r.v, r.err = s.run(ctx, calls[0].f, groups[0][0].In.c, true, calls[0].args...)
		replies = []reply{r}
	} else {
		var err error
		replies, err = redisopt.Do(ctx, 0, s.inline, func(ctx context.Context) ([]reply, error) {
			if s.waitN > 0 {
				return s.pipeWait(ctx, calls), nil
			}
			return s.pipe(ctx, calls), nil
		})
		if err != nil {
			replies = make([]reply, len(calls))
			for i := range replies {
				replies[i].err = err
			}
		}
	}
	for i, g := range groups {
		r := replies[i]
		if r.err != nil && !errors.Is(r.err, ErrUnavailable) {
			r.err = unavailable(r.err)
		}
		if r.err != nil || len(g) == 1 {
			for _, op := range g {
				op.Out, op.Err = r.v, r.err
			}
			continue
		}
		outs, ok := r.v.([]any)
		if !ok || len(outs) != len(g) {
			err := fmt.Errorf("%w: batch reply of %d for %d operations", ErrUnavailable, len(outs), len(g))
			for _, op := range g {
				op.Err = err
			}
			continue
		}
		for j, op := range g {
			op.Out = outs[j]
		}
	}
}

// fcall is one function call of a round trip.
type fcall struct {
	f    *luaFunc
	keys []string
	args []any
}

// reply is an fcall's reply.
type reply struct {
	v   any
	err error
}

// pipe sends calls as one pipeline; a call that finds its function
// missing (a server that lost the library) loads it and is called again.
func (s *redisStore) pipe(ctx context.Context, calls []fcall) []reply {
	p := s.rdb.Pipeline()
	cmds := make([]*redis.Cmd, len(calls))
	for i, c := range calls {
		cmds[i] = p.FCall(ctx, c.f.name, c.keys, c.args...)
	}
	_, _ = p.Exec(ctx) // each command carries its own error
	out := make([]reply, len(calls))
	for i, c := range calls {
		out[i].v, out[i].err = cmds[i].Result()
		if out[i].err != nil && missingFunc(out[i].err) {
			if out[i].err = s.load(ctx, c.keys[0]); out[i].err == nil {
				out[i].v, out[i].err = s.rdb.FCall(ctx, c.f.name, c.keys, c.args...).Result()
			}
		}
	}
	return out
}

// pipeWait sends calls with WAIT (RedisOptions.WaitReplicas): on a Cluster
// the calls of each primary, with a WAIT after them, as a pipeline on one
// connection to it, one primary after another; elsewhere all of them and
// one WAIT.
func (s *redisStore) pipeWait(ctx context.Context, calls []fcall) []reply {
	out := make([]reply, len(calls))
	cc, ok := s.rdb.(*redis.ClusterClient)
	if !ok {
		s.onNode(ctx, s.rdb.(*redis.Client), calls, out)
		return out
	}
	var nodes []*redis.Client
	var idx [][]int
	for i, c := range calls {
		n, err := cc.MasterForKey(ctx, c.keys[0])
		if err != nil {
			out[i].err = unavailable(err)
			continue
		}
		j := slices.Index(nodes, n)
		if j < 0 {
			nodes, idx = append(nodes, n), append(idx, nil)
			j = len(nodes) - 1
		}
		idx[j] = append(idx[j], i)
	}
	for j, n := range nodes {
		sub := make([]fcall, len(idx[j]))
		for k, i := range idx[j] {
			sub[k] = calls[i]
		}
		res := make([]reply, len(sub))
		s.onNode(ctx, n, sub, res)
		for k, i := range idx[j] {
			out[i] = res[k]
		}
	}
	return out
}
