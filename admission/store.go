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
// the serving counter S (every place below S has been called); a rate
// limiter; an active set of places with lease deadlines; a queue of
// returners; a drain measurement; and one record per [IdentityHash] (its
// arrival index, place once known, join time, claim, done flag).
//
// Every method is one atomic step at instant now, which the caller reads
// from its clock. Stores work in whole Unix milliseconds (now is truncated)
// and treat time as never going back within a room: a now earlier than the
// latest one the room has seen is taken as that latest one, so instances
// whose clocks differ a little never admit more than the rate allows. A
// store never reads a clock of its own for a decision.
//
// Each call, whichever method and whatever the identity, first moves the
// line (see [Store.Advance]). Before Params.Opening nothing moves and
// nobody is admitted.
//
// Places: an early arrival (index < E) stands at
// NewShuffle(p.Seed, E).Place(index); a later one at its index. The store
// computes that itself (a Redis store asks Go for the permutation, which
// Lua cannot compute, at most once per early arrival) and keeps it.
//
// Every method returns [ErrNotJoined] for an identity without a record
// (Join creates one), [ErrMisconfigured] when p's opening or seed differs
// from the one the room was first called with (instances of one room
// disagree), and any other failure wrapped in [ErrUnavailable]; on error
// the caller must admit nobody. Calls with the same arguments are
// idempotent: a retried call (go-redis retries a script after a timeout)
// admits nobody beyond the rate and changes no place.
//
// Implementations must be safe for concurrent use, by any number of Room
// values on any number of machines sharing the store.
type Store interface {
	// Join gives id the next arrival index if it has none, then behaves
	// as Status. Joining again returns the same place.
	Join(ctx context.Context, room string, p Params, id IdentityHash, now time.Time) (Record, error)

	// Status moves the line and reports id's standing. It is also the
	// claim: the first Status (or Join) that finds id admitted and not yet
	// claimed extends its lease to now + p.SessionTTL, sets
	// Record.Deadline and Record.Claimed. A person called but away (not
	// claimed within p.ClaimWindow) is, at the next Status, put in the
	// returners queue, which is served before the serving counter moves.
	Status(ctx context.Context, room string, p Params, id IdentityHash, now time.Time) (Record, error)

	// Done marks id done: its active place is freed at once, it leaves
	// the returners queue, and every later call reports StateDone. It is
	// idempotent.
	Done(ctx context.Context, room string, p Params, id IdentityHash, now time.Time) (Record, error)

	// Advance moves the line without any identity and returns the room's
	// figures. Moving the line: expire leases whose deadline is <= now;
	// then admit k = min(whole tokens of the limiter at now, Cap - active
	// (when Cap > 0), returners + N - S) people: first the k oldest
	// returners, then places S, S+1, ... (S advances); each admitted place
	// gets the lease deadline now + ClaimWindow. The limiter is
	// golang.org/x/time/rate's token bucket (rate Rate/60 per second,
	// burst Burst, full at the opening), that is GCRA with emission
	// interval time.Minute/Rate.
	Advance(ctx context.Context, room string, p Params, now time.Time) (Line, error)
}

// Params are a room's settings as a store needs them. A [Room] builds
// them from its [Options] and passes the same value on every call.
type Params struct {
	// Opening is the instant the room opens: arrivals before it are early.
	Opening time.Time
	// Rate is the number of people admitted per minute (> 0).
	Rate int
	// Burst is the number that may be admitted at once (>= 1).
	Burst int
	// Cap bounds the number of active people (admitted, lease not over,
	// not done); 0 means no cap.
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
	case p.Rate <= 0:
		return fmt.Errorf("admission: params: rate %d, want > 0", p.Rate)
	case p.Burst <= 0:
		return fmt.Errorf("admission: params: burst %d, want > 0", p.Burst)
	case p.Cap < 0:
		return fmt.Errorf("admission: params: cap %d, want >= 0", p.Cap)
	case p.ClaimWindow < time.Millisecond:
		return fmt.Errorf("admission: params: claim window %v, want >= 1ms", p.ClaimWindow)
	case p.SessionTTL < time.Millisecond:
		return fmt.Errorf("admission: params: session TTL %v, want >= 1ms", p.SessionTTL)
	case p.DrainWindow < time.Millisecond:
		return fmt.Errorf("admission: params: drain window %v, want >= 1ms", p.DrainWindow)
	}
	return nil
}

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
	// (returners included), -1 before the opening; 0 unless waiting.
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
