package window

import (
	"context"
	"errors"
	"sync/atomic"
)

// ErrSwitchUnavailable reports that a maintenance switch could not be read
// or written. A Gate treats a switch it cannot read as on: it refuses
// everything but operators and Always routes, fail closed.
var ErrSwitchUnavailable = errors.New("window: maintenance switch unavailable")

// Switch is the maintenance switch: while it is on, a Gate refuses every
// request but operators and routes allowed DuringMaintenance, and
// Gate.Require refuses every booking.
//
// The contract, for implementations:
//
//   - On reports the state. It is called on every gated request, so it
//     must be fast and must not do network I/O per call (cache, and say in
//     the doc comment how stale an answer may be). When the state cannot be
//     known it returns true and an error wrapping ErrSwitchUnavailable:
//     an unreadable switch counts as on.
//   - Set changes the state for every Gate sharing the switch, and returns
//     only once the change is durable in the switch's store; an error means
//     the state may or may not have changed.
//   - Both are safe for concurrent use.
//
// MemorySwitch serves one process; RedisSwitch is shared by every server
// instance on one Redis.
type Switch interface {
	On(ctx context.Context) (bool, error)
	Set(ctx context.Context, on bool) error
}

// MemorySwitch is a Switch held in memory: for a single process, and for
// tests. Its zero value is off and ready to use. On never fails or
// allocates, and a Set is seen by the next On.
type MemorySwitch struct {
	on atomic.Bool
}

var _ Switch = (*MemorySwitch)(nil)

// NewMemorySwitch returns a MemorySwitch in the given state.
func NewMemorySwitch(on bool) *MemorySwitch {
	s := new(MemorySwitch)
	s.on.Store(on)
	return s
}

// On reports whether maintenance is on. The error is always nil.
func (s *MemorySwitch) On(context.Context) (bool, error) { return s.on.Load(), nil }

// Set turns maintenance on or off. The error is always nil.
func (s *MemorySwitch) Set(_ context.Context, on bool) error {
	s.on.Store(on)
	return nil
}
