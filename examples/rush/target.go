package main

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// target is the system under test, as the crowd sees it: a waiting room and
// a booking API. Two implementations drive it: libTarget calls the library
// in this process (for scale), httpTarget calls a running reservation
// server over loopback (for the whole stack).
//
// Every method may be called from many goroutines at once. Errors are
// classified with kindOf; an implementation wraps its failures in a
// *targetError so that the simulator never has to know the library's or
// the server's own error values.
type target interface {
	// Join puts person in the waiting room (again: joining twice keeps the
	// place) and reports the standing.
	Join(ctx context.Context, person string) (standing, error)
	// Rejoin is a join sent again from a device that holds the person's
	// place ticket (a reconnect storm, a reloaded page): it carries the
	// ticket, as a browser sends its cookie. The place must not move.
	Rejoin(ctx context.Context, person string) (standing, error)
	// Status reports the person's standing and moves the line; once the
	// person is admitted it carries the pass.
	Status(ctx context.Context, person string) (standing, error)
	// Done tells the room the person has finished, freeing the place.
	Done(ctx context.Context, person string) error
	// Hold asks for a place in slot, presenting pass (may be empty or
	// forged), with idempotency key key.
	Hold(ctx context.Context, person, pass, slot, key string) (hold, error)
	// Confirm turns the hold into a booking.
	Confirm(ctx context.Context, person, pass, holdID, key string) error
	// Maintenance turns the maintenance switch on or off, as an operator.
	Maintenance(ctx context.Context, on bool) error
	// Audit reads the store: every slot's confirmed bookings and every
	// person's bookings, for the final independent check.
	Audit(ctx context.Context) (auditData, error)
	// Close releases what the target holds.
	Close() error
}

// indexedTarget is a target that can answer a status poll for the person
// at index i of the crowd (crowd.people[i], whose name is person, whose
// ticket the target keeps in jar: that person's) without looking the name
// up: the simulator's poll, 23 a person, takes this path when the target
// has it.
type indexedTarget interface {
	statusOf(ctx context.Context, i int, person string, jar *ticketJar) (standing, error)
}

// standing is a person's position in the waiting room.
type standing struct {
	State     roomState
	Ahead     int64 // people to be admitted first; -1 unknown
	Place     int64 // place in line (0 front); -1 unknown
	Returning bool  // called while away, now at the head of the line
	Line      int64 // the room's own count of people waiting; -1 unknown

	// ETA, when ETAKnown, is the range of the remaining wait shown to
	// the person; when not known the room said it has no measurement yet.
	ETAKnown        bool
	ETALow, ETAHigh time.Duration

	// Admitted is the library's instant of the latest admission (zero
	// when not admitted or not reported).
	Admitted time.Time
	// Pass is the signed pass once admitted and claimed; PassExpires its
	// expiry (zero if the target cannot tell).
	Pass        string
	PassExpires time.Time
	// PollAfter is when the room asks the client to poll again; 0 if it
	// does not say.
	PollAfter time.Duration
}

// rateReader is implemented by targets that can report the room's rate
// in force; the main loop samples it once a simulated second.
type rateReader interface {
	rate(ctx context.Context) (int, error)
}

// lineReader is implemented by targets that can report the room's own
// figure of people waiting; the main loop samples it once a simulated
// second.
type lineReader interface {
	line(ctx context.Context) (int64, error)
}

// laneClocker is implemented by targets that give each lane of ticks run
// at once (-overlap) a clock of its own: the main loop sets a lane's
// clock to each tick it starts on it, so that no call reads a clock past
// its own tick.
type laneClocker interface {
	laneClocks() []*simClock
}

// roomState is where a person stands in the waiting room.
type roomState uint8

const (
	stWaiting  roomState = iota // in line (or waiting for the opening)
	stAdmitted                  // called: may book with the pass
	stDone                      // finished or session over
	stSoldOut                   // no place left: the room said so
)

func (s roomState) String() string {
	switch s {
	case stWaiting:
		return "waiting"
	case stAdmitted:
		return "admitted"
	case stDone:
		return "done"
	case stSoldOut:
		return "sold_out"
	}
	return fmt.Sprintf("state(%d)", s)
}

// hold is a place kept in a slot, waiting for confirmation.
type hold struct {
	ID      string
	Slot    string
	Expires time.Time
}

// auditData is what the final audit reads from the store.
type auditData struct {
	// Booked is each slot's confirmed bookings, by slot ID.
	Booked map[string]int
	// Capacity is each slot's capacity as the store has it.
	Capacity map[string]int
	// Bookings lists every confirmed booking: person and slot.
	Bookings []auditBooking
	// Method says how the store was read.
	Method string
}

type auditBooking struct {
	Person, Slot, ID string
}

// kind classifies an answer from the target.
type kind uint8

const (
	kOK            kind = iota
	kFull               // slot full
	kAlreadyBooked      // person already holds or booked
	kHoldExpired        // hold lapsed before confirm
	kNotFound           // no such hold / person
	kNotOpen            // refused: booking (or the room) not open, or closed
	kMaintenance        // refused: maintenance on
	kInvalidPass        // refused: no / forged / expired / other's pass
	kNotAdmitted        // refused: not admitted (HTTP: no pass at all)
	kUnavailable        // store down / 503: outcome unknown, retry
	kTimeout            // no answer in time: outcome unknown, retry
	kLimited            // rate limited (429)
	kConflict           // idempotency key reused for another request
	kOther              // anything else: counted and shown
	numKinds
)

var kindNames = [numKinds]string{
	"ok", "full", "already_booked", "hold_expired", "not_found", "not_open",
	"maintenance", "invalid_pass", "not_admitted", "unavailable", "timeout",
	"rate_limited", "conflict", "other",
}

func (k kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// targetError is an error from a target, with its kind.
type targetError struct {
	Kind kind
	Err  error
}

func (e *targetError) Error() string {
	if e.Err == nil {
		return e.Kind.String()
	}
	return e.Kind.String() + ": " + e.Err.Error()
}

func (e *targetError) Unwrap() error { return e.Err }

func terr(k kind, err error) error { return &targetError{Kind: k, Err: err} }

// kindOf classifies err; nil is kOK, an unclassified error kOther, and a
// context deadline kTimeout.
func kindOf(err error) kind {
	if err == nil {
		return kOK
	}
	var te *targetError
	if errors.As(err, &te) {
		return te.Kind
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return kTimeout
	}
	return kOther
}

// refused reports whether k is a definite refusal by the system (nothing
// was done), as opposed to an unknown outcome.
func (k kind) unknown() bool { return k == kUnavailable || k == kTimeout || k == kOther }
