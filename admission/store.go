package admission

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Store keeps the waiting rooms' lines. [NewMemoryStore] and
// [NewRedisStore] implement it; a third-party implementation proves itself
// with the conformance suite admissiontest.Run.
//
// # Contract
//
// A store holds, per room: an arrival counter N; the number of early
// arrivals E, fixed at the room's first call at or after Params.Opening;
// the serving counter S (every place below S has been called); the room's
// [Limits] in force (first Params' Rate, Burst and Cap, then whatever
// SetLimits set); a token bucket; an active set of places with lease
// deadlines; a queue of returners; a drain measurement; and one record per
// [IdentityHash] (its arrival index, place once known, join time, claim,
// done flag).
//
// Every method is one atomic step at instant now, which the caller reads
// from its clock. Stores work in whole Unix milliseconds (now is truncated)
// and treat time as never going back within a room: a now earlier than the
// latest one the room has seen is taken as that latest one, so instances
// whose clocks differ a little never admit more than the rate allows. A
// store never reads a clock of its own for a decision.
//
// # The line is a function of time
//
// Each call, whichever method and whatever the identity, first brings the
// line from the instant the previous call left it to now, exactly as if
// a call had been made at every millisecond in between: the result does
// not depend on how often anyone calls. From Params.Opening on, at every
// instant t (whole milliseconds, in order):
//
//  1. leases whose deadline is <= t end (their place stops counting
//     against the cap at its own deadline, not at the next call);
//  2. k = min(whole tokens of the bucket at t, Cap - active (when Cap > 0),
//     the supply budget (once SetSupply gave one), returners + N - S)
//     people are admitted at t: first the k oldest returners, then places
//     S, S+1, ... (S advances); each gets the lease deadline
//     t + ClaimWindow, the bucket spends k tokens at t and the supply
//     budget k. While the budget is spent and people wait, the line stands
//     still and that time is not busy time for the drain measurement.
//
// The bucket is golang.org/x/time/rate's token bucket driven with explicit
// times: rate Rate/60 tokens a second, depth Burst, full at the opening,
// its state (tokens, last update) changed only where it spends tokens
// (AllowN at t) and where the limits change (SetLimitAt and SetBurstAt at
// the change instant). So over any interval of length T, admissions stay
// within Rate x T/1min + Burst; the active count never exceeds Cap; and
// people waiting are admitted at the instants the bucket allows whether or
// not anyone asks. Before Params.Opening nothing moves and nobody is
// admitted.
//
// Places: an early arrival (index < E) stands at
// NewShuffle(p.Seed, E).Place(index); a later one at its index. Lua cannot
// compute the shuffle, so a store may take the place from the caller
// ([PlaceHint], computed in Go) and keep it; the memory store computes it
// itself.
//
// Every method returns [ErrNotJoined] for an identity without a record
// (Join creates one), [ErrMisconfigured] when p's opening or seed differs
// from the one the room was first called with (instances of one room
// disagree) or the room's stored state is of another version's layout,
// and any other failure wrapped in [ErrUnavailable]; on error
// the caller must admit nobody. Calls with the same arguments are
// idempotent: a retried call (go-redis retries a command after a timeout)
// admits nobody beyond the rate and changes no place.
//
// Implementations must be safe for concurrent use, by any number of Room
// values on any number of machines sharing the store.
type Store interface {
	// Join gives id the next arrival index if it has none and returns its
	// record. Joining again returns the same index. For a person who has
	// to wait, Ahead is returners + place - S once the place is known (-1
	// before). A person whose place is known and called, whose lease is
	// still running and who has not claimed, Join claims as Status would
	// (Record.Claimed): a newcomer at a line with nobody ahead is admitted
	// by this one call. Any other person already called (an early
	// arrival whose place the store does not know yet, someone called
	// while away) is reported waiting with Ahead -1, and the caller claims
	// with Status.
	Join(ctx context.Context, now time.Time, room string, p Params, id IdentityHash) (Record, error)

	// Status reports id's standing. It is also the claim: the first
	// Status that finds id admitted and not yet claimed extends its lease
	// to now + p.SessionTTL, sets Record.Deadline and Record.Claimed. A
	// person called but away (lease over before the claim) is, at the
	// next Status, put in the returners queue, which is served before the
	// serving counter moves. hint carries id's place computed by the
	// caller, when known; a store that needs it and gets none may ask for
	// it (the Redis store then calls a second time).
	Status(ctx context.Context, now time.Time, room string, p Params, id IdentityHash, hint PlaceHint) (Record, error)

	// Done marks id done: its active place is freed at once, it leaves
	// the returners queue, and every later call reports StateDone. It is
	// idempotent.
	Done(ctx context.Context, now time.Time, room string, p Params, id IdentityHash) (Record, error)

	// Advance brings the line to now and returns the room's figures.
	Advance(ctx context.Context, now time.Time, room string, p Params) (Line, error)

	// SetLimits brings the line to now under the limits in force, then
	// makes l the room's limits from now on (for every instance sharing
	// the store): the old rate applies up to now and the new one after,
	// as x/time/rate's SetLimitAt and SetBurstAt at now. It returns the
	// figures after the change.
	SetLimits(ctx context.Context, now time.Time, room string, p Params, l Limits) (Line, error)

	// AdjustLimits is SetLimits on a condition, for a pacing controller
	// shared by several instances: it brings the line to now and makes l
	// the limits only if they were last changed before since
	// (Line.LimitsChanged < since), so that of several instances deciding
	// over one interval only the first changes the rate. The figures it
	// returns tell whether it did (Line.LimitsChanged is now).
	AdjustLimits(ctx context.Context, now time.Time, room string, p Params, l Limits, since time.Time) (Line, error)

	// SetSupply brings the line to now, then records the places left
	// behind the room as the host read them at now: from now on, until
	// the next SetSupply, at most max(0, allowance - active) more people
	// are admitted (the supply budget, spent by each admission), whatever
	// the rate and cap allow. allowance is pl.Free times the room's
	// overbooking factor, rounded down. Every admitted person can take at
	// most one place, so with a factor of 1 the room never lets more
	// people in than places remain, even between two readings. Line.Supply
	// reports the reading and the budget left; at pl.Free = pl.Held = 0 the
	// room is sold out ([SupplyFigures.SoldOut]). Negative figures are an
	// error and change nothing.
	SetSupply(ctx context.Context, now time.Time, room string, p Params, pl Places, allowance int64) (Line, error)
}

// Places are the places left behind a room, as a [Supply] reads them.
type Places struct {
	// Free counts the places that can still be booked: neither booked nor
	// held by a live hold.
	Free int64
	// Held counts the places held by live holds: they may come back if
	// the holds lapse.
	Held int64
}

// validate reports whether pl and allowance are usable.
func (pl Places) validate(allowance int64) error {
	if pl.Free < 0 || pl.Held < 0 || allowance < 0 {
		return fmt.Errorf("admission: supply: free %d, held %d, allowance %d: want >= 0", pl.Free, pl.Held, allowance)
	}
	return nil
}

// SupplyFigures are the room's latest supply reading ([Store.SetSupply])
// and the budget left of it.
type SupplyFigures struct {
	// Known reports that the room has had a reading; without one the
	// supply does not limit admissions.
	Known bool
	// Free and Held are the reading's places (see [Places]).
	Free, Held int64
	// Budget is how many more people may be admitted until the next
	// reading.
	Budget int64
}

// SoldOut reports a room whose places are all booked: no place free and
// no hold that might lapse. Nobody is admitted while it is.
func (s SupplyFigures) SoldOut() bool { return s.Known && s.Free <= 0 && s.Held <= 0 }

// PlaceHint is a person's place as the caller computed it: Place is
// NewShuffle(seed, Early).Place(Index), or Index for a later arrival.
// A store uses it only when Index and Early are the record's index and
// the room's E.
type PlaceHint struct {
	Known bool   // false: no hint
	Index uint64 // the arrival index it was computed for
	Early uint64 // the E it was computed for
	Place uint64 // the place
}

// Limits are the settings of a room that may change while it runs
// ([Room.SetLimits], [Store.SetLimits]).
type Limits struct {
	// Rate is the number of people admitted per minute (> 0).
	Rate int `json:"rate_per_minute"`
	// Burst is the number that may be admitted at once (>= 1).
	Burst int `json:"burst"`
	// Cap bounds the number of active people; 0 means no cap.
	Cap int `json:"cap"`
	// MinRate and MaxRate bound the rate a pacing controller ([Pacer])
	// may set, people per minute; 0 means the controller's own
	// PacingOptions.Min or Max. Kept with the limits so that an operator
	// changes them for every instance at once.
	MinRate int `json:"min_rate_per_minute,omitempty"`
	MaxRate int `json:"max_rate_per_minute,omitempty"`
}

// Validate reports whether l is usable.
func (l Limits) Validate() error {
	switch {
	case l.Rate <= 0:
		return fmt.Errorf("admission: limits: rate %d, want > 0", l.Rate)
	case l.Burst <= 0:
		return fmt.Errorf("admission: limits: burst %d, want > 0", l.Burst)
	case l.Cap < 0:
		return fmt.Errorf("admission: limits: cap %d, want >= 0", l.Cap)
	case l.MinRate < 0 || l.MaxRate < 0:
		return fmt.Errorf("admission: limits: min rate %d, max rate %d, want >= 0", l.MinRate, l.MaxRate)
	case l.MaxRate > 0 && l.MinRate > l.MaxRate:
		return fmt.Errorf("admission: limits: min rate %d above max rate %d", l.MinRate, l.MaxRate)
	}
	return nil
}

// Interval returns the emission interval: the time between two admissions
// at the limits' rate.
func (l Limits) Interval() time.Duration {
	if l.Rate <= 0 {
		return 0
	}
	return time.Minute / time.Duration(l.Rate)
}

// Params are a room's settings as a store needs them. A [Room] builds
// them from its [Options] and passes the same value on every call.
type Params struct {
	// Opening is the instant the room opens: arrivals before it are early.
	Opening time.Time
	// Rate is the number of people admitted per minute (> 0), from the
	// room's first call until SetLimits changes it.
	Rate int
	// Burst is the number that may be admitted at once (>= 1), until
	// SetLimits changes it.
	Burst int
	// Cap bounds the number of active people (admitted, lease not over,
	// not done); 0 means no cap. Until SetLimits changes it.
	Cap int
	// ClaimWindow is how long an admitted person holds the place without
	// claiming it (> 0).
	ClaimWindow time.Duration
	// SessionTTL is how long a claimed place stays active (> 0).
	SessionTTL time.Duration
	// DrainWindow is the busy time over which the drain rate is measured
	// (> 0); see [Line.Drain].
	DrainWindow time.Duration
	// Seed keys the opening shuffle.
	Seed Seed
}

// validate checks p the way every store needs it.
func (p Params) validate() error {
	switch {
	case p.Opening.IsZero():
		return errors.New("admission: params: zero opening")
	case p.Rate <= 0 || p.Burst <= 0 || p.Cap < 0:
		return fmt.Errorf("admission: params: %w", p.limits().Validate())
	case p.ClaimWindow < time.Millisecond:
		return fmt.Errorf("admission: params: claim window %v, want >= 1ms", p.ClaimWindow)
	case p.SessionTTL < time.Millisecond:
		return fmt.Errorf("admission: params: session TTL %v, want >= 1ms", p.SessionTTL)
	case p.DrainWindow < time.Millisecond:
		return fmt.Errorf("admission: params: drain window %v, want >= 1ms", p.DrainWindow)
	}
	return nil
}

// limits returns the initial limits p carries.
func (p Params) limits() Limits { return Limits{Rate: p.Rate, Burst: p.Burst, Cap: p.Cap} }

// Record is one person's standing, as a store reports it.
type Record struct {
	// Index is the arrival index: 0 for the first to join the room.
	Index uint64
	// Joined is when the person first joined.
	Joined time.Time
	// Early reports an early arrival: joined before E was fixed (then
	// Place is -1 until the opening) or Index < E.
	Early bool
	// Place is the place in line (0 is the front), -1 until it is fixed
	// at the opening.
	Place int64
	// State is where the person stands.
	State State
	// Ahead is the number of people to be admitted before this one
	// (returners included), -1 before the opening (and, from Join, for a
	// person already called whom it did not claim, or whose place is not
	// yet known); 0 unless waiting.
	Ahead int64
	// Returning reports a person called while away, now waiting in the
	// returners queue at the head of the line.
	Returning bool
	// Returns counts the times the person was called, did not claim in
	// time, and came back.
	Returns int64
	// Admitted is the instant of the person's latest admission (zero if
	// never admitted).
	Admitted time.Time
	// Deadline is the end of the claimed session (the pass's expiry),
	// set once claimed.
	Deadline time.Time
	// Claimed reports that this very call made the claim.
	Claimed bool
	// JoinAhead is Ahead as it was when the person joined, -1 if the
	// person did not wait then (joined before the opening, or admitted at
	// once).
	JoinAhead int64
	// JoinDrain is the drain measurement when the person joined, if
	// JoinAhead is known (zero otherwise).
	JoinDrain Drain
	// Line holds the room's figures at this call.
	Line Line
}

// Line holds a room's figures, for an operator console.
type Line struct {
	// Opened reports that the room's first call at or after the opening
	// has happened (E is fixed).
	Opened bool
	// Joined is N, the number of people who joined.
	Joined uint64
	// Early is E, the number of early arrivals, -1 until fixed.
	Early int64
	// Serving is S: every place below it has been called.
	Serving uint64
	// Active is the number of people holding an active place.
	Active int64
	// Returning is the number of people in the returners queue.
	Returning int64
	// Admitted is the number of admissions so far (a returner admitted
	// again counts again).
	Admitted uint64
	// Drain is the measured drain.
	Drain Drain
	// Limits are the limits in force.
	Limits Limits
	// LimitsChanged is when the limits were last changed (SetLimits or
	// AdjustLimits), zero if never.
	LimitsChanged time.Time
	// Supply is the latest supply reading and the budget left of it.
	Supply SupplyFigures
}

// Waiting returns the number of people not yet called plus returners.
func (l Line) Waiting() int64 {
	if !l.Opened {
		return int64(l.Joined)
	}
	return int64(l.Joined-l.Serving) + l.Returning
}

// Drain is a measurement of the line's progress: Admissions people were
// admitted over Over of busy time (time when someone was waiting). Stores
// measure it over the last one to two Params.DrainWindow of busy time and
// report the zero Drain until one whole window has been measured.
type Drain struct {
	Admissions int64         // people admitted
	Over       time.Duration // busy time they were admitted over
}

// Known reports whether d is a measurement.
func (d Drain) Known() bool { return d.Over > 0 }

// PerMinute returns the measured rate in people per minute, 0 if unknown.
func (d Drain) PerMinute() float64 {
	if d.Over <= 0 {
		return 0
	}
	return float64(d.Admissions) * float64(time.Minute) / float64(d.Over)
}

// place returns the place of the arrival with index idx in a room with e
// early arrivals.
func place(seed Seed, e, idx uint64) uint64 {
	if idx >= e {
		return idx
	}
	return NewShuffle(seed, e).Place(idx)
}

// ms converts t to Unix milliseconds, the unit of every store.
func ms(t time.Time) int64 { return t.UnixMilli() }

// fromMS converts Unix milliseconds to a time, the zero time for 0.
func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v)
}
