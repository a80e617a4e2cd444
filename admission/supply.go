package admission

import (
	"context"
	"fmt"
	"math"
	"time"
)

// Supply tells a room the places left behind it: the host implements it
// over its booking system (gatehouse's slots, for instance: see
// admission/slotsupply). admission never imports the booking side, nor the
// booking side admission.
//
// # Contract
//
// Places returns the places that can still be booked at now (neither
// booked nor held by a live hold) and the places held by live holds. It
// is called by each Room at most once per snapshot refresh
// (Options.RefreshInterval), one caller at a time, so it may cost a store
// call; every instance calls it, so make that call cheap (a running total,
// not a read of every slot: slots keeps one). It must honour ctx. An error means "unknown": the room keeps the
// budget of the previous reading (which only shrinks as people are
// admitted), so a supply that cannot be read never lets anyone more in.
type Supply interface {
	Places(ctx context.Context, now time.Time) (Places, error)
}

// SupplyFunc adapts a function to [Supply].
type SupplyFunc func(ctx context.Context, now time.Time) (Places, error)

// Places calls f.
func (f SupplyFunc) Places(ctx context.Context, now time.Time) (Places, error) { return f(ctx, now) }

// MaxOverbooking is the largest accepted Options.Overbooking.
const MaxOverbooking = 10

// allowance is the number of people the room may have active for free
// places at the overbooking factor f.
func allowance(free int64, f float64) int64 {
	return int64(math.Floor(float64(free)*f + 1e-9))
}

// readSupply asks the host's supply and records it in the store, which
// also brings the line to now. ok is false when the supply could not be
// read (the caller then brings the line to now without it).
func (r *Room) readSupply(ctx context.Context, now time.Time) (line Line, ok bool, err error) {
	pl, err := r.o.Supply.Places(ctx, now)
	if err == nil {
		err = pl.validate(0)
	}
	r.event(Event{Op: OpSupply, Room: r.o.Name, Duration: r.o.Clock.Now().Sub(now), Err: err})
	if err != nil {
		r.o.Logger.Warn("admission: supply unknown, keeping the previous budget", "room", r.o.Name, "err", err)
		return Line{}, false, nil
	}
	line, err = r.store.SetSupply(ctx, now, r.o.Name, r.p, pl, allowance(pl.Free, r.o.Overbooking))
	if err != nil {
		return Line{}, true, fmt.Errorf("admission: set supply: %w", err)
	}
	return line, true, nil
}
