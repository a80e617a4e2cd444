package window

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Phase is where a campaign stands at an instant.
type Phase int

const (
	// NotYet: nothing is open; the next opening (or its pre-queue) is
	// ahead.
	NotYet Phase = iota
	// PreQueue: the waiting room accepts arrivals, nothing books.
	PreQueue
	// Open: booking is open.
	Open
	// Closed: every opening is over.
	Closed
	// Maintenance: an operator closed everything. It overrides the
	// schedule's phase.
	Maintenance
)

// String returns the phase's name as used in problem responses:
// "not_yet", "pre_queue", "open", "closed", "maintenance".
func (p Phase) String() string {
	switch p {
	case NotYet:
		return "not_yet"
	case PreQueue:
		return "pre_queue"
	case Open:
		return "open"
	case Closed:
		return "closed"
	case Maintenance:
		return "maintenance"
	}
	return "Phase(" + strconv.Itoa(int(p)) + ")"
}

// MarshalText implements encoding.TextMarshaler with String.
func (p Phase) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// Opening is one booking window with its waiting-room lead: from PreQueue
// to Booking.Start the room takes arrivals; during Booking people book.
// A zero PreQueue means the opening has no pre-queue.
type Opening struct {
	PreQueue time.Time
	Booking  Window
}

// ErrInvalidSchedule reports a schedule that Validate refuses.
var ErrInvalidSchedule = errors.New("window: invalid schedule")

// Schedule is a campaign's sequence of openings in its zone. Openings must be
// in order and must not overlap, pre-queues included.
type Schedule struct {
	// Zone is the campaign's zone: times in answers are shown in it.
	// Required.
	Zone *time.Location
	// Openings, in time order.
	Openings []Opening
}

// Validate checks that the zone is set, every window is non-empty, every
// pre-queue starts no later than its booking window, and openings are in
// order without overlap.
func (s Schedule) Validate() error {
	if s.Zone == nil {
		return fmt.Errorf("%w: no zone", ErrInvalidSchedule)
	}
	if len(s.Openings) == 0 {
		return fmt.Errorf("%w: no openings", ErrInvalidSchedule)
	}
	var prevEnd time.Time
	for i, o := range s.Openings {
		if !o.Booking.End.After(o.Booking.Start) {
			return fmt.Errorf("%w: openings[%d]: %w", ErrInvalidSchedule, i, ErrEmptyWindow)
		}
		if !o.PreQueue.IsZero() && o.PreQueue.After(o.Booking.Start) {
			return fmt.Errorf("%w: openings[%d]: pre-queue %s after booking start %s", ErrInvalidSchedule, i,
				o.PreQueue.Format(time.RFC3339), o.Booking.Start.Format(time.RFC3339))
		}
		if i > 0 && o.first().Before(prevEnd) {
			return fmt.Errorf("%w: openings[%d] starts before openings[%d] ends", ErrInvalidSchedule, i, i-1)
		}
		prevEnd = o.Booking.End
	}
	return nil
}

// first is the opening's first instant: its pre-queue, or its booking start.
func (o Opening) first() time.Time {
	if o.PreQueue.IsZero() {
		return o.Booking.Start
	}
	return o.PreQueue
}

// State is a schedule's answer at an instant (Schedule.At), or a gate's
// (Gate.State), which also knows about maintenance.
type State struct {
	// Phase at the instant. Schedule.At never answers Maintenance;
	// Gate.State does when the maintenance switch is on or unreadable.
	Phase Phase
	// Scheduled is the schedule's phase at the instant, which Maintenance
	// overrides; equal to Phase otherwise.
	Scheduled Phase
	// OpensAt is the start of the current or next booking window, in the
	// schedule's zone; once every window is over, the start of the last
	// one. Zero only for a schedule without openings.
	OpensAt time.Time
	// ClosesAt is the end of the same booking window, in the schedule's
	// zone.
	ClosesAt time.Time
	// Next is the instant of the next phase change of the schedule, in its
	// zone; zero once it is closed for good.
	Next time.Time
}

// At returns the schedule's state at t. Boundaries are half-open: at a
// booking window's Start exactly the phase is Open, at its End exactly it is
// not; a pre-queue begins at its instant exactly. The answer depends only on
// t as an instant and on the schedule, never on t's location or the host's
// zone.
func (s Schedule) At(t time.Time) State {
	for _, o := range s.Openings {
		b := o.Booking.In(s.zone())
		switch {
		case o.Booking.Ended(t):
			continue
		case o.Booking.Contains(t):
			return State{Phase: Open, Scheduled: Open, OpensAt: b.Start, ClosesAt: b.End, Next: b.End}
		case !o.PreQueue.IsZero() && !t.Before(o.PreQueue):
			return State{Phase: PreQueue, Scheduled: PreQueue, OpensAt: b.Start, ClosesAt: b.End, Next: b.Start}
		default:
			return State{Phase: NotYet, Scheduled: NotYet, OpensAt: b.Start, ClosesAt: b.End, Next: o.first().In(s.zone())}
		}
	}
	st := State{Phase: Closed, Scheduled: Closed}
	if n := len(s.Openings); n > 0 {
		b := s.Openings[n-1].Booking.In(s.zone())
		st.OpensAt, st.ClosesAt = b.Start, b.End
	}
	return st
}

func (s Schedule) zone() *time.Location {
	if s.Zone == nil {
		return time.UTC
	}
	return s.Zone
}
