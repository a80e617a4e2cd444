package redisopt

// Budgets. go-redis applies a context's deadline to its socket reads and
// writes only when the client was built with ContextTimeoutEnabled;
// otherwise a call to a stalled server (SIGSTOP, a long command, a network
// blip) waits for the client's ReadTimeout (3 s by default) and its retries,
// whatever the context says. CheckClient refuses such a go-redis client, but
// accepts a wrapper it cannot inspect, and a cluster client fetches command
// metadata under its own fixed timeout. So every Redis call of the window,
// admission and slots packages also goes through Do: on a *redis.Client
// with ContextTimeoutEnabled the call runs inline under a context with the
// budget's deadline (no goroutine, no allocation beyond the context); on
// any other client it runs on its own goroutine and Do returns at the
// deadline, abandoning the call. An abandoned call keeps its goroutine and
// pool connection until the client's own timeouts end it, and may still
// reach Redis: its outcome is unknown, which callers report as unavailable.

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// HonoursDeadlines reports whether c applies context deadlines to its socket
// I/O, so that a call under a deadline returns by it: a *redis.Client
// (standalone or Sentinel failover) with ContextTimeoutEnabled. A cluster
// client is not counted: it fetches command metadata under its own fixed
// timeout on first use.
func HonoursDeadlines(c redis.UniversalClient) bool {
	rc, ok := c.(*redis.Client)
	return ok && rc.Options().ContextTimeoutEnabled
}

// ErrBudget is wrapped by the error Do returns when the budget ran out
// before the call returned. It also wraps context.DeadlineExceeded.
var ErrBudget = fmt.Errorf("redis call exceeded its time budget: %w", context.DeadlineExceeded)

// Do runs f under a context bounded by budget (and by ctx), and returns by
// the deadline: inline when inline is true (the client honours deadlines,
// HonoursDeadlines), else on a goroutine it abandons at the deadline. A
// non-positive budget leaves ctx's own deadline, if any, as the only bound.
func Do[T any](ctx context.Context, budget time.Duration, inline bool, f func(context.Context) (T, error)) (T, error) {
	if budget > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, budget, ErrBudget)
		defer cancel()
	} else if !inline {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
	}
	if inline {
		v, err := f(ctx)
		if err != nil && ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", context.Cause(ctx), err)
		}
		return v, err
	}
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := f(ctx)
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		select {
		case r := <-done: // it finished as the deadline passed
			return r.v, r.err
		default:
		}
		var zero T
		return zero, context.Cause(ctx)
	}
}
