package slots

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/benbjohnson/clock"
)

// Gate is the commit-time check: whether this person may do this booking
// operation at instant now, the same instant the Service gives the store.
// It sees who is booking (Attempt), so a host checks the window, the
// person's pass and eligibility at that one instant without passing the
// person through a context value. Require returns nil to allow; any error
// refuses, and the Service returns it wrapped with ErrClosed so that
// callers can test for either. An implementation that cannot decide (its
// own store is down) must return an error: the Service fails closed.
type Gate interface {
	Require(ctx context.Context, now time.Time, a Attempt) error
}

// Attempt is what the Service asks its Gate about.
type Attempt struct {
	// Op is OpHold, OpConfirm or OpMove.
	Op       Op
	Campaign Campaign
	// Person is the request's person, as the host gave it.
	Person string
	// Slot is the slot held (Hold) or moved to (Move); "" for Confirm.
	Slot string
	// ID is the hold confirmed (Confirm) or the booking moved (Move).
	ID string
	// Proof is the request's Proof, unchanged.
	Proof any
}

// GateFunc adapts a function to Gate.
type GateFunc func(ctx context.Context, now time.Time, a Attempt) error

// Require calls f.
func (f GateFunc) Require(ctx context.Context, now time.Time, a Attempt) error { return f(ctx, now, a) }

// TimeGate is a check that decides by the instant alone, such as
// window.Gate.
type TimeGate interface {
	Require(ctx context.Context, now time.Time) error
}

// Window adapts a TimeGate (window.Gate) to Gate, for hosts that check
// nothing about the person at commit.
func Window(g TimeGate) Gate {
	return GateFunc(func(ctx context.Context, now time.Time, _ Attempt) error { return g.Require(ctx, now) })
}

// Op names a Service operation in events and logs.
type Op string

// The Service's operations.
const (
	OpDefine       Op = "define"
	OpHold         Op = "hold"
	OpConfirm      Op = "confirm"
	OpCancel       Op = "cancel"
	OpMove         Op = "move"
	OpLookup       Op = "lookup"
	OpAvailability Op = "availability"
)

// Outcomes reported in events and logs, one per sentinel error.
const (
	OutcomeOK            = "ok"
	OutcomeFull          = "full"
	OutcomeAlreadyBooked = "already_booked"
	OutcomeHoldExpired   = "hold_expired"
	OutcomeNotFound      = "not_found"
	OutcomeConflict      = "conflict"
	OutcomeInUse         = "in_use"
	OutcomeInvalid       = "invalid"
	OutcomeClosed        = "closed"
	OutcomeNotReplicated = "not_replicated"
	OutcomeUnavailable   = "unavailable"
	OutcomeMisconfigured = "misconfigured"
	OutcomeInternalError = "error"
)

// OutcomeOf classifies err as one of the Outcome constants: OutcomeOK for
// nil, OutcomeInternalError for an error matching no sentinel.
func OutcomeOf(err error) string {
	switch {
	case err == nil:
		return OutcomeOK
	case errors.Is(err, ErrClosed):
		return OutcomeClosed
	case errors.Is(err, ErrInvalid):
		return OutcomeInvalid
	case errors.Is(err, ErrNotReplicated):
		return OutcomeNotReplicated
	case errors.Is(err, ErrUnavailable):
		return OutcomeUnavailable
	case errors.Is(err, ErrFull):
		return OutcomeFull
	case errors.Is(err, ErrAlreadyBooked):
		return OutcomeAlreadyBooked
	case errors.Is(err, ErrHoldExpired):
		return OutcomeHoldExpired
	case errors.Is(err, ErrNotFound):
		return OutcomeNotFound
	case errors.Is(err, ErrConflict):
		return OutcomeConflict
	case errors.Is(err, ErrInUse):
		return OutcomeInUse
	case errors.Is(err, ErrMisconfigured):
		return OutcomeMisconfigured
	}
	return OutcomeInternalError
}

// Event describes one finished Service call, for ServiceOptions.Observer.
type Event struct {
	Op       Op
	Campaign Campaign
	// Duration is the call's time, measured on the Service's injected
	// clock (zero under a mock clock that does not move during the call).
	Duration time.Duration
	// Err is the call's error, nil on success.
	Err error
	// Outcome is OutcomeOf(Err).
	Outcome string
}

// DefaultHoldTTL is ServiceOptions.HoldTTL's default.
const DefaultHoldTTL = 10 * time.Minute

// ServiceOptions configures NewService. The zero value of every field is
// its documented default.
type ServiceOptions struct {
	// Clock gives the instant of each call; nil means clock.New().
	Clock clock.Clock
	// Gate, if not nil, is asked at the instant of every Hold, Confirm and
	// Move, the same instant given to the store. nil means no window check.
	Gate Gate
	// Logger receives one record per call (Debug for answers, Warn for an
	// unavailable store, Error for a misconfigured one and anything
	// unexpected); nil discards. No
	// person identifier is logged in clear: only a short keyed hash.
	Logger *slog.Logger
	// LogKey keys the hash of person identifiers in logs. nil means a
	// random key per Service: hashes then correlate within one process
	// only. Give every instance the same secret key to correlate across
	// instances; never a key an attacker may know.
	LogKey []byte
	// Observer, if not nil, is called synchronously after every call with
	// its Event, on the caller's goroutine, possibly from many goroutines
	// at once: it must be safe for concurrent use and fast (count, do not
	// block).
	Observer func(Event)
	// HoldTTL is the TTL of holds whose request leaves TTL zero; zero means
	// DefaultHoldTTL. It must be in (0, MaxHoldTTL].
	HoldTTL time.Duration
}

// Service is the booking API an application calls: it takes the instant
// from its clock, validates input, checks the Gate at that instant for
// Hold, Confirm and Move, calls the Store with the same instant, and logs
// and reports every call. It is safe for concurrent use.
type Service struct {
	store   Store
	clk     clock.Clock
	gate    Gate
	log     *slog.Logger
	logKey  []byte
	obs     func(Event)
	holdTTL time.Duration
}

// NewService returns a Service over store, or an error wrapping ErrInvalid
// if store is nil or opts is not usable.
func NewService(store Store, opts ServiceOptions) (*Service, error) {
	if store == nil {
		return nil, fmt.Errorf("%w: NewService: nil store", ErrInvalid)
	}
	s := &Service{store: store, clk: opts.Clock, gate: opts.Gate, log: opts.Logger,
		logKey: opts.LogKey, obs: opts.Observer, holdTTL: opts.HoldTTL}
	if s.clk == nil {
		s.clk = clock.New()
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.logKey == nil {
		s.logKey = make([]byte, 32)
		rand.Read(s.logKey)
	}
	if s.holdTTL == 0 {
		s.holdTTL = DefaultHoldTTL
	}
	if s.holdTTL < 0 || s.holdTTL > MaxHoldTTL {
		return nil, fmt.Errorf("%w: HoldTTL %v outside (0, %v]", ErrInvalid, s.holdTTL, MaxHoldTTL)
	}
	return s, nil
}

// Store returns the Service's store.
func (s *Service) Store() Store { return s.store }

// personTag is a short keyed hash of a person identifier, for logs.
func (s *Service) personTag(person string) string {
	m := hmac.New(sha256.New, s.logKey)
	m.Write([]byte(person))
	return hex.EncodeToString(m.Sum(nil)[:6])
}

// call is one Service call in progress.
type call struct {
	s        *Service
	ctx      context.Context
	op       Op
	campaign Campaign
	person   string
	slot     string
	start    time.Time
}

func (s *Service) begin(ctx context.Context, op Op, c Campaign, person, slot string) (*call, time.Time) {
	now := s.clk.Now()
	return &call{s: s, ctx: ctx, op: op, campaign: c, person: person, slot: slot, start: now}, now
}

// gate asks the Gate at now about a.
func (c *call) gate(now time.Time, a Attempt) error {
	if c.s.gate == nil {
		return nil
	}
	a.Op, a.Campaign, a.Person = c.op, c.campaign, c.person
	if err := c.s.gate.Require(c.ctx, now, a); err != nil {
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return nil
}

// end logs and reports the call and returns err unchanged.
func (c *call) end(err error) error {
	s := c.s
	lat := s.clk.Since(c.start)
	out := OutcomeOf(err)
	if s.obs != nil {
		s.obs(Event{Op: c.op, Campaign: c.campaign, Outcome: out, Duration: lat, Err: err})
	}
	level := slog.LevelDebug
	switch out {
	case OutcomeUnavailable, OutcomeNotReplicated:
		level = slog.LevelWarn
	case OutcomeInternalError, OutcomeMisconfigured:
		level = slog.LevelError
	}
	if !s.log.Enabled(c.ctx, level) {
		return err
	}
	attrs := make([]slog.Attr, 0, 7)
	attrs = append(attrs, slog.String("op", string(c.op)), slog.String("campaign", string(c.campaign)), slog.String("outcome", out))
	if c.person != "" {
		attrs = append(attrs, slog.String("person", s.personTag(c.person)))
	}
	if c.slot != "" {
		attrs = append(attrs, slog.String("slot", fmt.Sprintf("%.64q", c.slot)))
	}
	attrs = append(attrs, slog.Duration("latency", lat))
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	s.log.LogAttrs(c.ctx, level, "slots", attrs...)
	return err
}

// DefineSlots creates or resizes slots, all or nothing (see Store).
func (s *Service) DefineSlots(ctx context.Context, req DefineRequest) error {
	c, now := s.begin(ctx, OpDefine, req.Campaign, "", "")
	if err := req.Validate(); err != nil {
		return c.end(err)
	}
	return c.end(s.store.DefineSlots(ctx, now, req))
}

// Hold keeps a place for req.Person in req.Slot for req.TTL (the
// Service's HoldTTL if zero), if the Gate allows booking now.
func (s *Service) Hold(ctx context.Context, req HoldRequest) (Hold, error) {
	c, now := s.begin(ctx, OpHold, req.Campaign, req.Person, req.Slot)
	if req.TTL == 0 {
		req.TTL = s.holdTTL
	}
	if err := req.Validate(); err != nil {
		return Hold{}, c.end(err)
	}
	if err := c.gate(now, Attempt{Slot: req.Slot, Proof: req.Proof}); err != nil {
		return Hold{}, c.end(err)
	}
	h, err := s.store.Hold(ctx, now, req)
	return h, c.end(err)
}

// Confirm turns a live hold into a booking, if the Gate allows booking now.
func (s *Service) Confirm(ctx context.Context, req ConfirmRequest) (Booking, error) {
	c, now := s.begin(ctx, OpConfirm, req.Campaign, req.Person, "")
	if err := req.Validate(); err != nil {
		return Booking{}, c.end(err)
	}
	if err := c.gate(now, Attempt{ID: req.HoldID, Proof: req.Proof}); err != nil {
		return Booking{}, c.end(err)
	}
	b, err := s.store.Confirm(ctx, now, req)
	return b, c.end(err)
}

// Cancel ends a live hold or booking. It does not consult the Gate: a
// person may give a place back at any time.
func (s *Service) Cancel(ctx context.Context, req CancelRequest) error {
	c, now := s.begin(ctx, OpCancel, req.Campaign, req.Person, "")
	if err := req.Validate(); err != nil {
		return c.end(err)
	}
	return c.end(s.store.Cancel(ctx, now, req))
}

// Move moves a booking to another slot atomically, if the Gate allows
// booking now.
func (s *Service) Move(ctx context.Context, req MoveRequest) (Booking, error) {
	c, now := s.begin(ctx, OpMove, req.Campaign, req.Person, req.To)
	if err := req.Validate(); err != nil {
		return Booking{}, c.end(err)
	}
	if err := c.gate(now, Attempt{Slot: req.To, ID: req.ID, Proof: req.Proof}); err != nil {
		return Booking{}, c.end(err)
	}
	b, err := s.store.Move(ctx, now, req)
	return b, c.end(err)
}

// Lookup returns the person's live hold or booking, or ErrNotFound.
func (s *Service) Lookup(ctx context.Context, campaign Campaign, person string) (Entry, error) {
	c, now := s.begin(ctx, OpLookup, campaign, person, "")
	if err := validLookup(campaign, person); err != nil {
		return Entry{}, c.end(err)
	}
	e, err := s.store.Lookup(ctx, now, campaign, person)
	return e, c.end(err)
}

// Totals returns the campaign's counts now, summed over its slots, read
// atomically: in one read whatever the number of slots when the store is
// a [Totaler] (the memory and Redis stores are), else by summing
// Availability of every slot. It reports as OpAvailability to the
// observer.
func (s *Service) Totals(ctx context.Context, campaign Campaign) (Totals, error) {
	c, now := s.begin(ctx, OpAvailability, campaign, "", "")
	if err := campaign.Validate(); err != nil {
		return Totals{}, c.end(err)
	}
	if t, ok := s.store.(Totaler); ok {
		tot, err := t.Totals(ctx, now, campaign)
		return tot, c.end(err)
	}
	a, err := s.store.Availability(ctx, now, campaign, nil)
	if err != nil {
		return Totals{}, c.end(err)
	}
	return sumTotals(a), c.end(nil)
}

// sumTotals adds up the counts of a.
func sumTotals(a []Availability) Totals {
	var t Totals
	for _, s := range a {
		t.Add(s)
	}
	return t
}

// Availability returns the named slots' state now (every slot if none is
// named), read atomically.
func (s *Service) Availability(ctx context.Context, campaign Campaign, ids ...string) ([]Availability, error) {
	c, now := s.begin(ctx, OpAvailability, campaign, "", "")
	if err := validAvailability(campaign, ids); err != nil {
		return nil, c.end(err)
	}
	a, err := s.store.Availability(ctx, now, campaign, ids)
	return a, c.end(err)
}
