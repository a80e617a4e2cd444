package admission

import (
	"github.com/gatehouse-go/gatehouse/window/problem"

	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"time"

	"github.com/benbjohnson/clock"
)

// Defaults of [Options].
const (
	DefaultRate         = 60               // people per minute
	DefaultClaimWindow  = 2 * time.Minute  // to claim a place once called
	DefaultSessionTTL   = 15 * time.Minute // to book once claimed
	DefaultDrainWindow  = time.Minute      // of busy time per drain measurement
	DefaultPassCookie   = "gatehouse_pass"
	DefaultPassHeader   = "Gatehouse-Pass"
	DefaultTicketTTL    = 24 * time.Hour // of a place ticket
	DefaultTicketCookie = "gatehouse_ticket"
	DefaultTicketHeader = "Gatehouse-Ticket"
	// DefaultRefreshInterval is the longest default snapshot refresh
	// interval (shorter when Burst/Rate is).
	DefaultRefreshInterval = time.Second
)

// MinIdentityKey is the shortest accepted Options.IdentityKey, in bytes.
const MinIdentityKey = 16

// Options configure a [Room]. The zero value of each optional field means
// the documented default; Name, Opening, Keyring, IdentityKey and Seed are
// required.
type Options struct {
	// Name names the room (one per opening), 1 to 64 characters of
	// [A-Za-z0-9._-]. Passes are bound to it, and a Redis store keeps the
	// room's keys under the hash tag {Name}.
	Name string

	// Opening is the instant the room opens. People who join before it
	// are early arrivals: at the opening they are shuffled (see Seed).
	// Later arrivals are served first come, first served. Nobody is
	// admitted before Opening.
	Opening time.Time

	// Rate is how many new people are admitted per minute, at most, over
	// all instances sharing the store. 0 means DefaultRate. It is the
	// room's rate from its first call on; [Room.SetLimits] changes it
	// live (as Burst and Cap), and the store's value then rules.
	Rate int

	// Burst is how many may be admitted at once after a quiet spell (the
	// token bucket's depth). 0 means one second's worth of Rate, at least
	// 1. Over any interval T, admissions never exceed Rate*T/1min + Burst.
	Burst int

	// Cap bounds the number of active people: admitted and neither done
	// nor past their lease. 0 means no cap.
	Cap int

	// ClaimWindow is how long a called person may take to come back and
	// claim the place (fetch the pass, by polling Status). Past it the
	// place stops counting against Cap, and the person, on return, goes
	// to the head of the line. 0 means DefaultClaimWindow.
	ClaimWindow time.Duration

	// SessionTTL is how long a claimed place stays active, and so how long
	// the pass is valid. 0 means DefaultSessionTTL.
	SessionTTL time.Duration

	// DrainWindow is the busy time over which the drain rate, and from it
	// the ETA, is measured. 0 means DefaultDrainWindow.
	DrainWindow time.Duration

	// Keyring signs and verifies passes. Required.
	Keyring *Keyring

	// IdentityKey keys the identity hash (see [HashIdentity]); every
	// instance of the room must use the same one. At least
	// MinIdentityKey bytes; 32 random bytes recommended. Required.
	IdentityKey []byte

	// Seed keys the opening shuffle. Publish [Room.SeedCommitment] before
	// the opening; the room reveals the seed itself from the opening on
	// ([Room.Seed]). Every instance must use the same one. Required
	// (non-zero); draw it with NewSeed(nil).
	Seed Seed

	// Clock is the room's only source of time. nil means clock.New().
	Clock clock.Clock

	// Logger receives the room's logs; identities appear only as
	// [IdentityHash.Short]. nil discards them.
	Logger *slog.Logger

	// Observer, if not nil, is called synchronously after every
	// operation; it must be fast and must not call the room.
	Observer func(Event)

	// Deny, when set, answers every request Room.Handler and Room.Protect
	// refuse, with the typed refusal (status, code, room, Retry-After and
	// the problem document), in the manner of
	// http.CrossOriginProtection.SetDenyHandler: to send a browser to a
	// page, say. Nil writes the problem document.
	Deny problem.DenyFunc

	// PassCookie is the cookie [Room.Handler] sets with the pass and
	// [Room.Protect] reads. "" means DefaultPassCookie; "-" disables the
	// cookie.
	PassCookie string

	// PassHeader is the request header [Room.Protect] reads a pass from,
	// before the cookie. "" means DefaultPassHeader; "-" disables it.
	PassHeader string

	// RefreshInterval is how often, at most, the room refreshes its
	// snapshot of the line from the store (lazily, by the first poll that
	// finds it older, one caller at a time). It may not exceed Burst/Rate
	// (the time the bucket takes to refill), so that a snapshot never
	// misses more than a burst of progress. 0 means the smaller of
	// DefaultRefreshInterval and Burst/Rate.
	RefreshInterval time.Duration

	// StaleAfter bounds the snapshot's age: past it, if the store cannot
	// be asked, polls fail with ErrUnavailable (HTTP 503) and nobody is
	// admitted. At least RefreshInterval; 0 means 10 x RefreshInterval,
	// at least 5s.
	StaleAfter time.Duration

	// TicketTTL is how long a place ticket stays valid; a poll with an
	// expired ticket asks the store and gets a new one. 0 means
	// DefaultTicketTTL.
	TicketTTL time.Duration

	// TicketCookie is the cookie [Room.Handler] sets with the place
	// ticket and reads it from. "" means DefaultTicketCookie; "-" disables
	// the cookie (JSON clients keep the ticket from the body).
	TicketCookie string

	// TicketHeader is the request header [Room.Handler] reads a place
	// ticket from, before the cookie. "" means DefaultTicketHeader; "-"
	// disables it.
	TicketHeader string

	// Supply, if not nil, tells the room the places left behind it; the
	// room reads it at each snapshot refresh and never has more people
	// active than the free places times Overbooking. When no place is
	// free and no hold is live the room is sold out: waiting people are
	// told so (StateSoldOut) at their next poll, a new join at once, and
	// nobody is admitted until places come back. nil: the room does not
	// know its supply.
	Supply Supply

	// Overbooking is the factor applied to the free places to bound the
	// active people (raise it above 1 to cover people who are admitted
	// and never book). 0 means 1; at most MaxOverbooking.
	Overbooking float64

	// Pacer, if not nil, sets the room's rate from the booking backend's
	// health (see [Pacer]); each Room needs its own.
	Pacer *Pacer
}

// withDefaults returns o with defaults filled in, or an error naming the
// first invalid field.
func (o Options) withDefaults() (Options, error) {
	if err := validRoomName(o.Name); err != nil {
		return o, err
	}
	if o.Opening.IsZero() {
		return o, errors.New("admission: options: Opening is required")
	}
	switch {
	case o.Rate < 0:
		return o, fmt.Errorf("admission: options: Rate %d, want >= 0", o.Rate)
	case o.Rate == 0:
		o.Rate = DefaultRate
	}
	switch {
	case o.Burst < 0:
		return o, fmt.Errorf("admission: options: Burst %d, want >= 0", o.Burst)
	case o.Burst == 0:
		o.Burst = max(1, (o.Rate+59)/60)
	}
	if o.Cap < 0 {
		return o, fmt.Errorf("admission: options: Cap %d, want >= 0", o.Cap)
	}
	var err error
	if o.ClaimWindow, err = duration("ClaimWindow", o.ClaimWindow, DefaultClaimWindow); err != nil {
		return o, err
	}
	if o.SessionTTL, err = duration("SessionTTL", o.SessionTTL, DefaultSessionTTL); err != nil {
		return o, err
	}
	if o.DrainWindow, err = duration("DrainWindow", o.DrainWindow, DefaultDrainWindow); err != nil {
		return o, err
	}
	if o.Keyring == nil || o.Keyring.SigningKeyID() == "" {
		return o, errors.New("admission: options: Keyring is required (see NewKeyring)")
	}
	if len(o.IdentityKey) < MinIdentityKey {
		return o, fmt.Errorf("admission: options: IdentityKey is %d bytes, want at least %d", len(o.IdentityKey), MinIdentityKey)
	}
	o.IdentityKey = append([]byte(nil), o.IdentityKey...)
	if o.Seed == (Seed{}) {
		return o, errors.New("admission: options: Seed is required (draw one with NewSeed(nil))")
	}
	if o.Clock == nil {
		o.Clock = clock.New()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.PassCookie == "" {
		o.PassCookie = DefaultPassCookie
	}
	if o.PassHeader == "" {
		o.PassHeader = DefaultPassHeader
	}
	if o.TicketCookie == "" {
		o.TicketCookie = DefaultTicketCookie
	}
	if o.TicketHeader == "" {
		o.TicketHeader = DefaultTicketHeader
	}
	if o.TicketTTL, err = duration("TicketTTL", o.TicketTTL, DefaultTicketTTL); err != nil {
		return o, err
	}
	refill := time.Duration(o.Burst) * time.Minute / time.Duration(o.Rate)
	if o.RefreshInterval, err = duration("RefreshInterval", o.RefreshInterval, min(DefaultRefreshInterval, refill).Truncate(time.Millisecond)); err != nil {
		return o, err
	}
	if o.RefreshInterval > refill {
		return o, fmt.Errorf("admission: options: RefreshInterval %v exceeds Burst/Rate (%v): the snapshot would miss more than a burst", o.RefreshInterval, refill)
	}
	if o.StaleAfter, err = duration("StaleAfter", o.StaleAfter, max(5*time.Second, 10*o.RefreshInterval)); err != nil {
		return o, err
	}
	switch {
	case o.Overbooking == 0:
		o.Overbooking = 1
	case o.Overbooking < 0 || o.Overbooking > MaxOverbooking || math.IsNaN(o.Overbooking):
		return o, fmt.Errorf("admission: options: Overbooking %v, want (0, %d]", o.Overbooking, MaxOverbooking)
	}
	if o.StaleAfter < o.RefreshInterval {
		return o, fmt.Errorf("admission: options: StaleAfter %v is shorter than RefreshInterval %v", o.StaleAfter, o.RefreshInterval)
	}
	return o, nil
}

func duration(name string, d, def time.Duration) (time.Duration, error) {
	switch {
	case d == 0:
		return def, nil
	case d < time.Millisecond:
		return 0, fmt.Errorf("admission: options: %s %v, want at least 1ms (or 0 for the default %v)", name, d, def)
	case d%time.Millisecond != 0:
		return 0, fmt.Errorf("admission: options: %s %v is not a whole number of milliseconds", name, d)
	}
	return d, nil
}

// MaxRoomName is the longest room name, in bytes.
const MaxRoomName = 64

// validRoomName checks a room name: 1 to 64 characters of [A-Za-z0-9._-],
// so that it fits a pass and can never break out of a Redis hash tag or
// key layout.
func validRoomName(name string) error {
	if name == "" || len(name) > MaxRoomName {
		return fmt.Errorf("admission: room name %q: want 1 to %d characters", name, MaxRoomName)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("admission: room name %q: character %q not allowed (want A-Z a-z 0-9 . _ -)", name, c)
		}
	}
	return nil
}
