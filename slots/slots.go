package slots

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Sentinel errors. Every error a Store or the Service returns matches at most
// one of the domain errors below with errors.Is, and carries a message with
// the detail (never a person's identifier).
var (
	// ErrFull means the slot has no free place: its confirmed bookings and
	// live holds already reach its capacity.
	ErrFull = errors.New("slots: slot is full")
	// ErrAlreadyBooked means the person already has a live hold or a
	// booking in the campaign; a person holds at most one place per
	// campaign.
	ErrAlreadyBooked = errors.New("slots: person already has a live hold or booking in this campaign")
	// ErrHoldExpired means the hold's time ran out before it was confirmed
	// (or cancelled); its place has been freed.
	ErrHoldExpired = errors.New("slots: hold expired")
	// ErrNotFound means the slot, hold or booking does not exist, or does
	// not belong to the person named in the request.
	ErrNotFound = errors.New("slots: not found")
	// ErrConflict means the idempotency key was already used for a
	// different request; nothing was changed.
	ErrConflict = errors.New("slots: idempotency key already used for a different request")
	// ErrInUse means a resize would take a slot's capacity below what is
	// booked and held in it; nothing was changed.
	ErrInUse = errors.New("slots: capacity below what is booked and held")
	// ErrInvalid means the input was malformed (an empty or over-long
	// identifier, a bad campaign name, a non-positive TTL, ...); nothing
	// was changed.
	ErrInvalid = errors.New("slots: invalid input")
	// ErrClosed means the Service's Gate refused the operation at its
	// instant (the booking window is not open, or maintenance is on). The
	// gate's own error is wrapped too, so errors.Is also matches the window
	// package's sentinels.
	ErrClosed = errors.New("slots: booking is not open")
	// ErrUnavailable means the store could not be asked or did not answer
	// (connection refused, timeout, cancelled context, script error). The
	// outcome of a mutating call is then unknown: retry with the same
	// idempotency key to learn it. Nothing is ever reported booked because
	// of such an error.
	ErrUnavailable = errors.New("slots: store unavailable")
	// ErrNotReplicated is returned (together with ErrUnavailable) by a Redis
	// store configured with RedisOptions.WaitReplicas when the write was
	// applied on the primary but fewer replicas acknowledged it within the
	// timeout. Retrying with the same idempotency key returns the recorded
	// result and waits again.
	ErrNotReplicated = errors.New("slots: write not acknowledged by enough replicas")
	// ErrMisconfigured means the store refuses the campaign because
	// another version of gatehouse, which keeps campaigns in another
	// layout, has taken it over (the Redis store: see NewRedisStore,
	// "Layout"): this instance would otherwise book places that version
	// does not count. Nothing was changed; every call on the campaign
	// fails until the instance runs that version.
	ErrMisconfigured = errors.New("slots: campaign taken over by another version's layout")
)

// Limits on identifiers and batch sizes. Inputs beyond them are refused with
// ErrInvalid by the Service and by the stores of this package.
const (
	// MaxCampaignLen is the longest campaign name, in bytes.
	MaxCampaignLen = 64
	// MaxIDLen is the longest slot identifier, person identifier or
	// idempotency key, in bytes.
	MaxIDLen = 256
	// MaxHoldIDLen is the longest hold or booking identifier, in bytes.
	MaxHoldIDLen = 64
	// MaxBatch is the most slots one DefineSlots or Availability call may
	// name.
	MaxBatch = 1000
	// MaxCapacity is the largest capacity of one slot.
	MaxCapacity = 1_000_000_000
	// MaxHoldTTL is the longest a hold may live.
	MaxHoldTTL = 24 * time.Hour
	// DefaultRetention is how long the stores of this package keep an
	// idempotency record (from the call that made it) and the trace of an
	// expired hold (from its expiry, so that a late Confirm gets
	// ErrHoldExpired rather than ErrNotFound) unless told otherwise.
	DefaultRetention = 24 * time.Hour
	// MinRetention is the shortest retention a store may be configured
	// with: a retry within this long after the first call always gets the
	// first result.
	MinRetention = time.Hour
)

// Campaign names a set of slots that share the rule "one live hold or
// booking per person". A campaign name is 1 to MaxCampaignLen bytes of
// ASCII letters, digits, '.', '_' and '-': it becomes part of Redis key
// names (the Cluster hash tag), so nothing else is accepted.
type Campaign string

// Validate reports whether c is a well-formed campaign name, wrapping
// ErrInvalid if not.
func (c Campaign) Validate() error {
	if len(c) == 0 || len(c) > MaxCampaignLen {
		return fmt.Errorf("%w: campaign name must be 1 to %d bytes, got %d", ErrInvalid, MaxCampaignLen, len(c))
	}
	for i := 0; i < len(c); i++ {
		if !campaignByte(c[i]) {
			return fmt.Errorf("%w: campaign name %q: byte %d is not one of A-Z a-z 0-9 . _ -", ErrInvalid, string(c), i)
		}
	}
	return nil
}

func campaignByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '.' || b == '_' || b == '-'
}

// idByte reports whether b may appear in a hold or booking identifier.
func idByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_' || b == '-'
}

// Slot is a bookable unit (a clinic's 14:00-14:30, a course section, a
// campsite night) with a capacity: the number of people it takes.
//
// A slot identifier is 1 to MaxIDLen bytes, any bytes at all: the stores of
// this package encode it, so braces, colons or invalid UTF-8 are safe.
type Slot struct {
	ID       string
	Capacity int
}

// Hold is a place kept for a person in a slot until Expires, waiting to be
// confirmed. A hold is live at instant now if now is before Expires; at
// Expires exactly it has expired and its place is free again.
type Hold struct {
	// ID identifies the hold, and the booking it becomes once confirmed.
	// Stores issue IDs of 1 to MaxHoldIDLen bytes from A-Z a-z 0-9 _ -.
	ID       string
	Campaign Campaign
	Slot     string
	// Person is the host's identifier of the person; never encoded.
	Person string `json:"-"`
	// Created is the instant of the Hold call that made it.
	Created time.Time
	// Expires is when the hold lapses. Stores keep instants to the
	// millisecond.
	Expires time.Time
}

// Booking is a confirmed place. It never expires; it ends only by Cancel,
// and Move changes its slot.
type Booking struct {
	// ID is the ID of the hold the booking was confirmed from.
	ID       string
	Campaign Campaign
	Slot     string
	// Person is the host's identifier of the person. It is never encoded
	// (json:"-"), so a Booking written to a client or a log carries no
	// identifier of the person.
	Person string `json:"-"`
	// Created is when the hold was made; Confirmed is when it was
	// confirmed.
	Created   time.Time
	Confirmed time.Time
}

// Entry is what Lookup finds for a person: exactly one of Hold and Booking
// is non-nil.
type Entry struct {
	Hold    *Hold
	Booking *Booking
}

// Availability is the state of one slot at an instant.
type Availability struct {
	Slot     string
	Capacity int
	// Booked counts confirmed bookings, Held live holds.
	Booked int
	Held   int
	// Free is Capacity - Booked - Held, never negative.
	Free int
}

// Totals is the state of a whole campaign at an instant: its slots'
// counts summed. Free is the sum of the slots' Free (a slot whose capacity
// was cut below its bookings and holds counts 0, not less).
type Totals struct {
	Capacity int
	// Booked counts confirmed bookings, Held live holds.
	Booked int
	Held   int
	Free   int
}

// Add adds a slot's counts to t.
func (t *Totals) Add(a Availability) {
	t.Capacity += a.Capacity
	t.Booked += a.Booked
	t.Held += a.Held
	t.Free += a.Free
}

// DefineRequest creates slots that do not exist yet and sets the capacity
// of those that do, all or nothing.
type DefineRequest struct {
	Campaign Campaign
	// Slots are 1 to MaxBatch slots with distinct IDs and capacities in
	// [0, MaxCapacity]. A capacity of 0 closes a slot to new holds.
	Slots []Slot
	// Key is the idempotency key (1 to MaxIDLen bytes).
	Key string
}

// HoldRequest asks for a place in Slot for Person, kept for TTL.
type HoldRequest struct {
	Campaign Campaign
	Slot     string
	// Person is the host application's stable identifier for the person
	// (already pseudonymous: gatehouse stores it as given, never logs it).
	Person string
	// TTL is how long the hold lives, in (0, MaxHoldTTL]. The Service
	// replaces zero with ServiceOptions.HoldTTL; a Store refuses it.
	TTL time.Duration
	// Key is the idempotency key (1 to MaxIDLen bytes).
	Key string
	// Proof is handed unchanged to the Service's Gate (Attempt.Proof):
	// whatever the host's commit check needs about this person, such as
	// the signed-in session and the waiting room's pass. It is never
	// stored, logged, or part of the idempotency comparison.
	Proof any
}

// ConfirmRequest turns Person's live hold HoldID into a booking.
type ConfirmRequest struct {
	Campaign Campaign
	HoldID   string
	Person   string
	Key      string
	// Proof is handed unchanged to the Service's Gate (Attempt.Proof):
	// whatever the host's commit check needs about this person, such as
	// the signed-in session and the waiting room's pass. It is never
	// stored, logged, or part of the idempotency comparison.
	Proof any
}

// CancelRequest ends Person's live hold or booking ID, freeing its place.
type CancelRequest struct {
	Campaign Campaign
	ID       string
	Person   string
	Key      string
}

// MoveRequest moves Person's booking ID to slot To, atomically: afterwards
// the booking is in To and its old place is free, or nothing changed.
type MoveRequest struct {
	Campaign Campaign
	ID       string
	Person   string
	To       string
	Key      string
	// Proof is handed unchanged to the Service's Gate (Attempt.Proof):
	// whatever the host's commit check needs about this person, such as
	// the signed-in session and the waiting room's pass. It is never
	// stored, logged, or part of the idempotency comparison.
	Proof any
}

func validText(what, s string) error {
	if len(s) == 0 {
		return fmt.Errorf("%w: empty %s", ErrInvalid, what)
	}
	if len(s) > MaxIDLen {
		return fmt.Errorf("%w: %s is %d bytes, longer than %d", ErrInvalid, what, len(s), MaxIDLen)
	}
	return nil
}

func validHoldID(what, s string) error {
	if len(s) == 0 || len(s) > MaxHoldIDLen {
		return fmt.Errorf("%w: %s must be 1 to %d bytes, got %d", ErrInvalid, what, MaxHoldIDLen, len(s))
	}
	for i := 0; i < len(s); i++ {
		if !idByte(s[i]) {
			return fmt.Errorf("%w: %s: byte %d is not one of A-Z a-z 0-9 _ -", ErrInvalid, what, i)
		}
	}
	return nil
}

// Validate checks the request's form, wrapping ErrInvalid.
func (r DefineRequest) Validate() error {
	if err := r.Campaign.Validate(); err != nil {
		return err
	}
	if err := validText("idempotency key", r.Key); err != nil {
		return err
	}
	if len(r.Slots) == 0 || len(r.Slots) > MaxBatch {
		return fmt.Errorf("%w: define 1 to %d slots per call, got %d", ErrInvalid, MaxBatch, len(r.Slots))
	}
	seen := make(map[string]struct{}, len(r.Slots))
	for i, s := range r.Slots {
		if err := validText("slot id", s.ID); err != nil {
			return fmt.Errorf("slots[%d]: %w", i, err)
		}
		if s.Capacity < 0 || s.Capacity > MaxCapacity {
			return fmt.Errorf("%w: slots[%d]: capacity %d outside [0, %d]", ErrInvalid, i, s.Capacity, MaxCapacity)
		}
		if _, dup := seen[s.ID]; dup {
			return fmt.Errorf("%w: slots[%d]: slot %q named twice", ErrInvalid, i, s.ID)
		}
		seen[s.ID] = struct{}{}
	}
	return nil
}

// Validate checks the request's form, wrapping ErrInvalid.
func (r HoldRequest) Validate() error {
	if err := r.Campaign.Validate(); err != nil {
		return err
	}
	if err := validText("slot id", r.Slot); err != nil {
		return err
	}
	if err := validText("person", r.Person); err != nil {
		return err
	}
	if r.TTL <= 0 || r.TTL > MaxHoldTTL {
		return fmt.Errorf("%w: hold TTL %v outside (0, %v]", ErrInvalid, r.TTL, MaxHoldTTL)
	}
	return validText("idempotency key", r.Key)
}

// Validate checks the request's form, wrapping ErrInvalid.
func (r ConfirmRequest) Validate() error {
	if err := r.Campaign.Validate(); err != nil {
		return err
	}
	if err := validHoldID("hold id", r.HoldID); err != nil {
		return err
	}
	if err := validText("person", r.Person); err != nil {
		return err
	}
	return validText("idempotency key", r.Key)
}

// Validate checks the request's form, wrapping ErrInvalid.
func (r CancelRequest) Validate() error {
	if err := r.Campaign.Validate(); err != nil {
		return err
	}
	if err := validHoldID("id", r.ID); err != nil {
		return err
	}
	if err := validText("person", r.Person); err != nil {
		return err
	}
	return validText("idempotency key", r.Key)
}

// Validate checks the request's form, wrapping ErrInvalid.
func (r MoveRequest) Validate() error {
	if err := r.Campaign.Validate(); err != nil {
		return err
	}
	if err := validHoldID("booking id", r.ID); err != nil {
		return err
	}
	if err := validText("person", r.Person); err != nil {
		return err
	}
	if err := validText("target slot id", r.To); err != nil {
		return err
	}
	return validText("idempotency key", r.Key)
}

func validLookup(c Campaign, person string) error {
	if err := c.Validate(); err != nil {
		return err
	}
	return validText("person", person)
}

func validAvailability(c Campaign, ids []string) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if len(ids) > MaxBatch {
		return fmt.Errorf("%w: ask for at most %d slots per call, got %d", ErrInvalid, MaxBatch, len(ids))
	}
	for i, id := range ids {
		if err := validText("slot id", id); err != nil {
			return fmt.Errorf("slots[%d]: %w", i, err)
		}
	}
	return nil
}

// Store keeps a campaign's slots, holds and bookings. Implementations must
// be safe for concurrent use by many goroutines (and, for shared stores such
// as Redis, by many processes), and must keep these invariants at every
// instant, whatever the interleaving of calls:
//
//   - per slot, confirmed bookings + live holds <= capacity;
//   - per person per campaign, at most one live hold or booking;
//   - Move is all or nothing;
//   - a hold is live while now < Expires; from Expires on, its place is
//     free. Expiry is computed lazily from the now of the next call: no
//     background work is needed.
//
// Time: every method takes now from the caller and uses no other clock.
// Expiry is kept to the millisecond. A store may assume that the nows it is
// given do not go back by more than clock skew between callers; a hold seen
// expired stays expired.
//
// Idempotency: every mutating method takes an idempotency key (the
// request's Key). The first call with a key runs the request and records
// its outcome, success or domain error (ErrFull, ErrAlreadyBooked,
// ErrHoldExpired, ErrNotFound, ErrInUse); any later call with the same key
// and the same request (every field but Key; now excluded) returns that
// outcome again without running anything, even if the state has changed
// since. The same key with a different request returns ErrConflict and
// changes nothing. Records live for the store's retention (at least
// MinRetention), counted from the now of the call that made them. Keys are
// scoped to a campaign. ErrInvalid, ErrConflict and ErrUnavailable outcomes
// are not recorded.
//
// Errors: bad input returns an error matching ErrInvalid and changes
// nothing. Any failure that is not a domain outcome (connection refused,
// timeout, context cancelled or expired, script error) returns an error
// matching ErrUnavailable. A call whose context is already done returns
// ErrUnavailable without changing anything. A store that finds the
// campaign taken over by another version's layout returns
// ErrMisconfigured and changes nothing.
//
// The package's slotstest.Run checks all of this; a third-party Store
// proves itself by passing it.
type Store interface {
	// DefineSlots creates or resizes slots, all or nothing. A capacity
	// below a slot's bookings plus live holds is refused with ErrInUse.
	DefineSlots(ctx context.Context, now time.Time, req DefineRequest) error
	// Hold keeps a place in req.Slot for req.Person until now+req.TTL.
	// Errors: ErrNotFound (no such slot), ErrAlreadyBooked, ErrFull.
	Hold(ctx context.Context, now time.Time, req HoldRequest) (Hold, error)
	// Confirm turns a live hold into a booking; confirming a hold that is
	// already a booking returns that booking. Errors: ErrHoldExpired (the
	// hold expired, the person has made no hold since, and the store's
	// retention has not passed since it expired), ErrNotFound (no such hold for this person:
	// never made, cancelled, or expired and since replaced or forgotten).
	Confirm(ctx context.Context, now time.Time, req ConfirmRequest) (Booking, error)
	// Cancel ends a live hold or a booking and frees its place. Errors:
	// ErrNotFound, ErrHoldExpired (as for Confirm).
	Cancel(ctx context.Context, now time.Time, req CancelRequest) error
	// Move moves a booking to req.To atomically; moving to its own slot
	// changes nothing. Errors: ErrNotFound (no such booking for this person,
	// including a hold not yet confirmed; or no slot req.To), ErrFull.
	Move(ctx context.Context, now time.Time, req MoveRequest) (Booking, error)
	// Lookup returns the person's live hold or booking in the campaign, or
	// ErrNotFound.
	Lookup(ctx context.Context, now time.Time, campaign Campaign, person string) (Entry, error)
	// Availability returns the state of the named slots at now, in the
	// order asked, read atomically; with no ids, every slot of the
	// campaign, sorted by ID. An undefined slot is ErrNotFound.
	Availability(ctx context.Context, now time.Time, campaign Campaign, ids []string) ([]Availability, error)
}

// Totaler is implemented by stores that can sum a campaign's counts
// without reading every slot. Totals returns, at now and read atomically,
// what adding up Availability of every slot of the campaign at now would
// give (zero for a campaign with no slots); unlike Availability it costs
// the same for ten slots or ten thousand, so a waiting room can read it at
// every refresh (admission/slotsupply does). Errors as for Availability.
// [Service.Totals] sums Availability for a store without it. slotstest
// checks a store that has it against Availability throughout.
type Totaler interface {
	Totals(ctx context.Context, now time.Time, campaign Campaign) (Totals, error)
}

// Snapshotter is implemented by stores that can read a whole campaign at
// one instant, atomically. It is meant for audits and tests: it costs time
// in proportion to the campaign's size and, on Redis, blocks the shard for
// that time, so keep it off hot paths. slotstest uses it, when a store has
// it, to check the invariants while a concurrent test runs.
type Snapshotter interface {
	Snapshot(ctx context.Context, now time.Time, campaign Campaign) (Snapshot, error)
}

// Snapshot is a campaign's whole state at one instant: every slot, live
// hold and booking, each list sorted by slot ID or by hold ID.
type Snapshot struct {
	Campaign Campaign
	At       time.Time
	Slots    []Availability
	Holds    []Hold
	Bookings []Booking
}

// Check verifies the invariants on s: per slot, the counts agree with the
// holds and bookings listed and bookings + live holds <= capacity; every
// hold is live at s.At; every hold and booking names a defined slot; each
// person has at most one hold or booking. It returns nil or an error listing
// the first few violations (naming slots and IDs, never persons).
func (s Snapshot) Check() error {
	var errs []error
	add := func(format string, a ...any) {
		if len(errs) < 10 {
			errs = append(errs, fmt.Errorf(format, a...))
		}
	}
	type count struct{ booked, held int }
	counts := make(map[string]*count, len(s.Slots))
	for _, a := range s.Slots {
		counts[a.Slot] = &count{}
	}
	people := make(map[string]string)
	for _, h := range s.Holds {
		if !s.At.Before(h.Expires) {
			add("hold %s in slot %q listed at %v but expired at %v", h.ID, h.Slot, s.At, h.Expires)
		}
		if c := counts[h.Slot]; c != nil {
			c.held++
		} else {
			add("hold %s names undefined slot %q", h.ID, h.Slot)
		}
		if other, dup := people[h.Person]; dup {
			add("one person has both %s and hold %s", other, h.ID)
		}
		people[h.Person] = h.ID
	}
	for _, b := range s.Bookings {
		if c := counts[b.Slot]; c != nil {
			c.booked++
		} else {
			add("booking %s names undefined slot %q", b.ID, b.Slot)
		}
		if other, dup := people[b.Person]; dup {
			add("one person has both %s and booking %s", other, b.ID)
		}
		people[b.Person] = b.ID
	}
	for _, a := range s.Slots {
		c := counts[a.Slot]
		if a.Booked != c.booked || a.Held != c.held {
			add("slot %q counts booked=%d held=%d, but %d bookings and %d live holds are listed", a.Slot, a.Booked, a.Held, c.booked, c.held)
		}
		if a.Booked+a.Held > a.Capacity {
			add("slot %q overbooked: %d booked + %d held > capacity %d", a.Slot, a.Booked, a.Held, a.Capacity)
		}
		if want := max(0, a.Capacity-a.Booked-a.Held); a.Free != want {
			add("slot %q free = %d, want %d", a.Slot, a.Free, want)
		}
	}
	return errors.Join(errs...)
}
