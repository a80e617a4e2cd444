package admission

import (
	"encoding/json"
	"errors"
	"math"
	"time"
)

// Errors of the waiting room. Store failures wrap ErrUnavailable; pass
// failures wrap [ErrInvalidPass].
var (
	// ErrUnavailable means the store could not be asked (Redis down, a
	// timeout, a cancelled context): the room refuses rather than guess,
	// and nobody is admitted. HTTP handlers answer 503 with Retry-After.
	ErrUnavailable = errors.New("admission: store unavailable")

	// ErrNotJoined is returned by Status and Done for an identity that
	// never joined the room.
	ErrNotJoined = errors.New("admission: not in the waiting room")

	// ErrMisconfigured means instances sharing a room's store disagree on
	// its opening or seed (the first call fixed them), or that the room's
	// stored state has another version's layout (see NewRedisStore): every
	// call fails, admitting nobody, until the configuration or the
	// version is made consistent.
	ErrMisconfigured = errors.New("admission: room configuration differs from the stored one")

	// ErrNoIdentity is returned for an empty identity.
	ErrNoIdentity = errors.New("admission: empty identity")
)

// State is where a person stands in a room.
type State string

// The states. A person is waiting from joining until called; admitted
// while holding an active place (the pass is valid until its expiry);
// expired once a claimed session is over; done after Done. Expired and
// done are final: one place per identity. Sold out is said to a person
// who would be waiting in a room whose supply is gone (Options.Supply):
// no place free and no hold that might lapse; the place is kept, and if
// places come back the person is waiting again.
const (
	StateWaiting  State = "waiting"
	StateAdmitted State = "admitted"
	StateExpired  State = "expired"
	StateDone     State = "done"
	StateSoldOut  State = "sold_out"
)

// ETA is an estimated wait until admission, as a range. It is known only
// once the store has measured the line's drain rate (and, when the cap
// binds, the time people stay admitted), and never shorter than the rate
// makes possible. The range spans what bounds the drain (the rate, the
// cap, the places left) and widens when the drain is unstable.
type ETA struct {
	Known bool          // false: no measurement yet (or PlacesShort), Min and Max are 0
	Min   time.Duration // shortest expected wait, whole seconds
	Max   time.Duration // longest expected wait, whole seconds
	// PlacesShort reports, with Known false, that more people are ahead
	// than places surely left (Options.Supply): the places may run out
	// before this person's turn, so no time is promised.
	PlacesShort bool
}

// Contains reports whether the actual wait d fell inside a known e.
func (e ETA) Contains(d time.Duration) bool {
	return e.Known && e.Min <= d && d <= e.Max
}

// etaMargins: the range is [lo*expected - interval, hi*expected + interval]
// around expected = (ahead+1)/drain, floored by what the rate allows.
const (
	etaLow  = 0.8
	etaHigh = 1.25
)

// estimate returns the ETA for a person with ahead people before them,
// given the measured drain d, the configured rate (people per minute) and
// burst. The drain used is the measured one, but never faster than the
// configured rate; the minimum is never below (ahead+1-burst) emission
// intervals, the soonest the rate allows.
func estimate(ahead int64, d Drain, rate, burst int) ETA {
	if ahead < 0 || !d.Known() || d.Admissions <= 0 || rate <= 0 {
		return ETA{}
	}
	interval := float64(time.Minute) / float64(rate)
	perNS := math.Min(float64(d.Admissions)/float64(d.Over), 1/interval)
	n := float64(ahead + 1)
	expected := n / perNS
	floor := math.Max(0, n-float64(burst)) * interval
	return etaRange(floor, expected, expected, interval)
}

// etaRange is the range [etaLow*fast - interval, etaHigh*slow + interval]
// (nanoseconds), never below floor, in whole seconds, at most 100 years.
func etaRange(floor, fast, slow, interval float64) ETA {
	lo := math.Max(floor, etaLow*fast-interval)
	hi := math.Max(lo, etaHigh*slow+interval)
	const maxD = float64(100 * 365 * 24 * time.Hour)
	return ETA{
		Known: true,
		Min:   time.Duration(math.Min(lo, maxD)).Truncate(time.Second),
		Max:   ceilSecond(time.Duration(math.Min(hi, maxD))),
	}
}

func ceilSecond(d time.Duration) time.Duration {
	if r := d % time.Second; r != 0 {
		return d - r + time.Second
	}
	return d
}

// Status is a person's standing in a room, as [Room.Join] and
// [Room.Status] report it. Its JSON form (the body of the status and join
// endpoints) is:
//
//	{
//	  "room": "vaccine-55-59",
//	  "state": "waiting",           // waiting | admitted | expired | done | sold_out
//	  "early": true,                // joined before the opening
//	  "returning": false,           // called while away, back at the head
//	  "index": 1234,                // arrival index
//	  "place": 87,                  // place in line, null before the opening
//	  "ahead": 42,                  // people before you, null before the opening
//	  "eta": {"known": true, "min_seconds": 30, "max_seconds": 60},
//	                                // or {"known": false, "places_may_run_out": true}
//	  "poll_after_seconds": 5,      // when to ask again; 0: no need
//	  "opens_at": "2021-07-12T20:00:00+09:00",
//	  "joined_at": "...", "admitted_at": "...",   // RFC 3339, omitted if zero
//	  "pass": "gh1....",            // once admitted
//	  "pass_expires_at": "...",
//	  "ticket": "gt2...."           // while waiting: present it when polling
//	}
//
// With the seed published after the opening and E from the room's
// figures, anyone can check that place == NewShuffle(seed, E).Place(index)
// for an early arrival, and place == index for a later one.
type Status struct {
	Room      string // the room's name
	State     State  // waiting, admitted, expired or done
	Early     bool   // joined before the opening (shuffled at the opening)
	Returning bool   // called while away, now at the head of the line
	Index     uint64 // arrival index
	Place     int64  // place in line, -1 until fixed at the opening
	Ahead     int64  // people to be admitted first; -1 before the opening
	ETA       ETA    // while waiting
	// PollAfter is when to ask again; 0 when there is no need (admitted,
	// expired, done).
	PollAfter time.Duration
	Opening   time.Time // the room's opening instant
	Joined    time.Time // when the person first joined
	Admitted  time.Time // latest admission, zero if none
	// Pass is the signed pass, set while admitted; it expires at
	// PassExpires, the end of the session.
	Pass        string
	PassExpires time.Time // the end of the session, when the pass expires
	// Ticket is the signed place ticket, set while waiting: keep it and
	// present it to [Room.Poll] (the handler's status endpoint reads it
	// from a cookie or a header), so that the room answers without asking
	// the store.
	Ticket string
}

type statusJSON struct {
	Room        string  `json:"room"`
	State       State   `json:"state"`
	Early       bool    `json:"early"`
	Returning   bool    `json:"returning"`
	Index       uint64  `json:"index"`
	Place       *int64  `json:"place"`
	Ahead       *int64  `json:"ahead"`
	ETA         etaJSON `json:"eta"`
	PollAfter   float64 `json:"poll_after_seconds"`
	OpensAt     string  `json:"opens_at"`
	JoinedAt    string  `json:"joined_at,omitempty"`
	AdmittedAt  string  `json:"admitted_at,omitempty"`
	Pass        string  `json:"pass,omitempty"`
	PassExpires string  `json:"pass_expires_at,omitempty"`
	Ticket      string  `json:"ticket,omitempty"`
}

type etaJSON struct {
	Known       bool     `json:"known"`
	PlacesShort bool     `json:"places_may_run_out,omitempty"`
	Min         *float64 `json:"min_seconds,omitempty"`
	Max         *float64 `json:"max_seconds,omitempty"`
}

// MarshalJSON writes the form documented on [Status].
func (s Status) MarshalJSON() ([]byte, error) {
	j := statusJSON{
		Room:      s.Room,
		State:     s.State,
		Early:     s.Early,
		Returning: s.Returning,
		Index:     s.Index,
		ETA:       etaJSON{Known: s.ETA.Known, PlacesShort: s.ETA.PlacesShort},
		PollAfter: s.PollAfter.Seconds(),
		OpensAt:   rfc3339(s.Opening),
		JoinedAt:  rfc3339(s.Joined),
		Pass:      s.Pass,
		Ticket:    s.Ticket,
	}
	if s.Place >= 0 {
		j.Place = &s.Place
	}
	if s.Ahead >= 0 {
		j.Ahead = &s.Ahead
	}
	if s.ETA.Known {
		lo, hi := s.ETA.Min.Seconds(), s.ETA.Max.Seconds()
		j.ETA.Min, j.ETA.Max = &lo, &hi
	}
	if !s.Admitted.IsZero() {
		j.AdmittedAt = rfc3339(s.Admitted)
	}
	if s.Pass != "" {
		j.PassExpires = rfc3339(s.PassExpires)
	}
	return json.Marshal(j)
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339Nano)
}

// Stats are a room's figures for an operator console.
type Stats struct {
	Room    string    // the room's name
	Opening time.Time // the opening instant
	// Line holds the figures kept in the store, the same on every
	// instance: joined (N), early arrivals (E, -1 until fixed), serving
	// counter, active, returning, admitted so far, measured drain.
	Line
	// Calibration is how well the drain measured at join predicted the
	// actual waits of the people this instance saw claim their place.
	Calibration Calibration
}

// Calibration counts, among people who joined once the drain was measured
// and then claimed their place without having been away, those whose
// actual wait (join to admission) fell inside the drain-only range: the
// range the rate in force and the drain measured at join give for the
// people then ahead, recomputed at the claim from the figures the store
// keeps of the join. The range the person was shown may differ (the cap's
// model, the places left and the drain's spread widen or withhold it; the
// rush simulator judges those, per regime). Each claim is counted by
// exactly one instance (the one that served it), so adding the figures of
// all instances gives the room's.
type Calibration struct {
	Samples int64 // people shown a known ETA at join who then claimed
	Inside  int64 // those whose wait fell inside the range shown
}

// Ratio is Inside/Samples, or 0 with no samples.
func (c Calibration) Ratio() float64 {
	if c.Samples == 0 {
		return 0
	}
	return float64(c.Inside) / float64(c.Samples)
}

// Op names a room operation in an [Event].
type Op string

// The operations.
const (
	OpJoin   Op = "join"
	OpStatus Op = "status"
	OpDone   Op = "done"
	OpStats  Op = "stats"
	// OpPoll is a poll answered from a place ticket and the room's
	// snapshot, without a store call ([Room.Poll], and [Room.Rejoin]
	// with a valid ticket).
	OpPoll Op = "poll"
	// OpRefresh is a snapshot refresh (a store call).
	OpRefresh Op = "refresh"
	// OpLimits is a change of the room's limits.
	OpLimits Op = "limits"
	// OpSupply is a reading of Options.Supply (Duration is the host's).
	OpSupply Op = "supply"
	// OpPace is a rate change asked by Options.Pacer.
	OpPace Op = "pace"
)

// Event describes one finished room operation, for Options.Observer: to
// count calls, errors and latencies, and to judge the ETA's calibration.
type Event struct {
	Op       Op            // the operation
	Room     string        // the room's name
	Duration time.Duration // spent in the store, on Options.Clock (zero under a mock clock that does not move)
	Err      error         // the operation's error, nil on success
	State    State         // the person's state after the call (join, status, done)
	// Claimed reports that this call claimed an admitted place; then
	// Wait is the time from joining to admission, and JoinETA the
	// drain-only range for the figures at join (see [Calibration]; not
	// Known if the drain was not measured then, or if the person had been
	// away when called).
	Claimed bool
	Wait    time.Duration // join to admission, when Claimed
	JoinETA ETA           // the drain-only range at join, when Claimed
}

// PublicLine is the room's public state, as its snapshot holds it: what
// the line endpoint of [Room.Handler] serves (cacheable for a short
// while), from which a client computes its own position. With the place p
// from its ticket (or, for an early arrival, NewShuffle(seed,
// early_arrivals).Place(index)):
//
//	p <  serving: called: poll the status endpoint to claim the place
//	p >= serving: ahead = returning + p - serving; expected wait about
//	              (ahead + 1) / rate_per_minute minutes
type PublicLine struct {
	Room           string    `json:"room"`
	Opening        time.Time `json:"opens_at"`
	AsOf           time.Time `json:"as_of"`  // when the figures were read from the store
	Opened         bool      `json:"opened"` // E is fixed
	EarlyArrivals  *int64    `json:"early_arrivals,omitempty"`
	Joined         uint64    `json:"joined"`
	Serving        uint64    `json:"serving"`   // every place below it has been called
	Returning      int64     `json:"returning"` // returners, served before serving moves
	Active         int64     `json:"active"`
	Admitted       uint64    `json:"admitted"`
	Limits         Limits    `json:"limits"`
	DrainPerMinute float64   `json:"drain_per_minute,omitempty"` // measured, once known
	SeedCommitment string    `json:"seed_commitment"`
	Seed           string    `json:"seed,omitempty"` // from the opening on
	// Supply is the latest supply reading, when the room has a Supply.
	Supply *PublicSupply `json:"supply,omitempty"`
}

// PublicSupply is the supply part of [PublicLine].
type PublicSupply struct {
	Free    int64 `json:"free"`     // places neither booked nor held
	Held    int64 `json:"held"`     // places held by live holds
	SoldOut bool  `json:"sold_out"` // no place free, no hold live: nobody is admitted
}
