package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"regexp"
	"strings"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/redis/go-redis/v9"
)

// errConfig marks an error in the configuration (flags, campaign file): the
// program exits with status 2 on it.
var errConfig = errors.New("invalid configuration")

// config is everything newServer needs. defaultConfig gives the values the
// flags start from; tests build one directly and inject a mock clock and a
// Redis client.
type config struct {
	Addr         string   // listen address (used by run, not newServer)
	CampaignFile string   // eligibility campaign JSON; "" means the demo campaign
	Store        string   // "memory" or "redis"
	RedisAddrs   []string // one address: standalone; several: Cluster
	// RedisTimeout is each Redis call's budget in the three stores (the
	// switch's read, a room's and a slot store's call); 0 means the
	// libraries' default, 500 ms.
	RedisTimeout time.Duration

	OpensIn  time.Duration // demo: booking opens this long after start
	OpenFor  time.Duration // demo: booking stays open this long
	PreQueue time.Duration // campaign file: the waiting room opens this long before each opening
	HoldFor  time.Duration // how long a hold waits for confirmation
	// PassFor is how long an admitted person's pass stays valid once
	// claimed (admission.Options.SessionTTL); 0 means the library's
	// default.
	PassFor time.Duration

	Rate      int // people admitted per minute
	MaxActive int // most people admitted at once
	// Pacing lets the booking calls' latency and errors set the rate,
	// between a tenth of Rate and Rate (admission.Pacer).
	Pacing bool
	// Overbooking is the room's overbooking factor: people admitted at
	// once per free place (admission.Options.Overbooking); 0 means 1.
	Overbooking float64

	// MaxPoll caps how long the waiting room page's script waits between
	// two status requests (it otherwise waits as long as the room says,
	// poll_after_seconds); whole seconds, 1s to 1m.
	MaxPoll time.Duration

	// ClientLimit is the number of sign-ins and joins one client may make
	// per minute (burst: the same number, at least 1); 0 turns the limit
	// off. A client is a person (LimitBy "identity", the default) or an
	// address (LimitBy "address").
	ClientLimit float64
	// LimitBy is what ClientLimit counts per: "identity" (the person
	// signing in or joining; "" means this) or "address" (the client IP,
	// an IPv6 /64). Per address, carrier-grade NAT puts whole mobile
	// networks behind a few addresses: choose it only when clients have
	// their own addresses.
	LimitBy string
	// TrustedProxies are the reverse proxies whose X-Forwarded-For the
	// per-address limit believes; from any other peer the header is
	// ignored. Only with LimitBy "address".
	TrustedProxies []netip.Prefix
	// SecureCookies marks cookies Secure even when the request did not
	// arrive over TLS (set it behind a TLS-terminating proxy).
	SecureCookies bool

	// StartAt, when set, starts the real clock at this instant and lets it
	// run from there (to replay a past campaign). Ignored when Clock is set.
	StartAt time.Time
	// Clock is the one source of time; nil means the real clock.
	Clock clock.Clock
	// Secret signs session cookies and passes; nil draws a random key.
	Secret []byte
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
	// Redis is the client for Store "redis"; nil dials RedisAddrs. The
	// server does not close a client it was given.
	Redis redis.UniversalClient
	// Namespace keeps the server's Redis keys apart from another server's
	// on the same Redis (tests give each server a fresh one), and keys
	// derived from Secret apart too. Letters, digits, '-' and '_', at most
	// 32; "" means "demo".
	Namespace string
	// Slots are the slots on offer (-slots); nil means the campaign
	// file's, or else the demo slots.
	Slots []slotSpec
	// Partition splits the campaign by region: each region its own slots
	// campaign and waiting room (see partition.go).
	Partition bool
	// OpensAt, for the demo campaign, is the instant booking opens
	// (instead of OpensIn after start), so that instances started one
	// after another serve the same opening.
	OpensAt time.Time
}

// slotSpec is one bookable slot: an identifier for the store, what a person
// sees, and its capacity.
type slotSpec struct {
	ID       string
	Label    string
	Capacity int
	Region   string // the slot's region ("" for the demo slots)
}

func defaultConfig() config {
	return config{
		Addr:        "127.0.0.1:8080",
		Store:       "memory",
		OpensIn:     time.Minute,
		OpenFor:     6 * time.Hour,
		PreQueue:    30 * time.Minute,
		HoldFor:     5 * time.Minute,
		Rate:        120,
		MaxActive:   50,
		ClientLimit: 20,
		MaxPoll:     30 * time.Second,
	}
}

var namespaceRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// validate checks the values a person can get wrong, with messages that
// name the flag.
func (c *config) validate() error {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	switch c.Store {
	case "memory":
	case "redis":
		if c.Redis == nil && len(c.RedisAddrs) == 0 {
			bad("-store redis needs -redis-addr")
		}
	default:
		bad("-store %q: want memory or redis", c.Store)
	}
	if c.RedisTimeout < 0 || c.RedisTimeout > time.Minute {
		bad("-redis-timeout %v: want 0 (the default, 500ms) to 1m", c.RedisTimeout)
	}
	if c.OpensIn < 0 {
		bad("-opens-in %v: must not be negative", c.OpensIn)
	}
	if c.PreQueue < 0 {
		bad("-prequeue %v: must not be negative", c.PreQueue)
	}
	if c.OpenFor <= 0 {
		bad("-open-for %v: must be positive", c.OpenFor)
	}
	if c.HoldFor < 10*time.Second || c.HoldFor > time.Hour {
		bad("-hold-for %v: want 10s to 1h", c.HoldFor)
	}
	if c.PassFor != 0 && (c.PassFor < time.Minute || c.PassFor > 2*time.Hour) {
		bad("-pass-for %v: want 1m to 2h", c.PassFor)
	}
	if c.Rate < 1 || c.Rate > 1_000_000 {
		bad("-rate %d: want 1 to 1000000 people per minute", c.Rate)
	}
	if c.MaxActive < 1 || c.MaxActive > 10_000_000 {
		bad("-max-active %d: want 1 to 10000000", c.MaxActive)
	}
	if c.MaxPoll < time.Second || c.MaxPoll > time.Minute || c.MaxPoll%time.Second != 0 {
		bad("poll cap %v: want whole seconds from 1s to 1m", c.MaxPoll)
	}
	if c.ClientLimit < 0 || c.ClientLimit > 1e6 {
		bad("-client-limit %v: want 0 (off) to 1000000 per minute", c.ClientLimit)
	}
	switch c.LimitBy {
	case "", limitByIdentity:
		if len(c.TrustedProxies) > 0 {
			bad("-trusted-proxy applies to -client-limit-by address")
		}
	case limitByAddress:
	default:
		bad("-client-limit-by %q: want identity or address", c.LimitBy)
	}
	if c.Namespace != "" && !namespaceRE.MatchString(c.Namespace) {
		bad("namespace %q: letters, digits, '-' and '_' only, at most 32", c.Namespace)
	}
	if c.Secret != nil && len(c.Secret) < 32 {
		bad("secret: %d bytes, want at least 32", len(c.Secret))
	}
	errs = append(errs, checkSlots(c.Slots)...)
	if len(errs) > 0 {
		return fmt.Errorf("%w: %s", errConfig, strings.Join(errs, "; "))
	}
	return nil
}

var slotIDRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// checkSlots says what is wrong with a slot list (flag or campaign file).
func checkSlots(list []slotSpec) []string {
	var errs []string
	seen := map[string]bool{}
	for i, s := range list {
		switch {
		case !slotIDRE.MatchString(s.ID):
			errs = append(errs, fmt.Sprintf("slot %d: id %q: letters, digits, '-' and '_' only, at most 64", i, s.ID))
		case seen[s.ID]:
			errs = append(errs, fmt.Sprintf("slot %d: id %q twice", i, s.ID))
		case s.Capacity < 1:
			errs = append(errs, fmt.Sprintf("slot %q: capacity %d, want at least 1", s.ID, s.Capacity))
		}
		seen[s.ID] = true
	}
	return errs
}

// demoSlots are the slots of the built-in campaign: vaccination sessions at
// three clinics on the day after booking opens, small enough that a few
// people fill one.
func demoSlots() []slotSpec {
	return []slotSpec{
		{ID: "city-hall-0900", Label: "City Hall clinic, 09:00-10:00", Capacity: 5},
		{ID: "city-hall-1000", Label: "City Hall clinic, 10:00-11:00", Capacity: 5},
		{ID: "riverside-0900", Label: "Riverside health centre, 09:00-10:00", Capacity: 3},
		{ID: "riverside-1400", Label: "Riverside health centre, 14:00-15:00", Capacity: 3},
		{ID: "station-1800", Label: "Station pop-up site, 18:00-19:00", Capacity: 2},
	}
}

// shiftedClock is the real clock moved to start at a chosen instant: Now
// runs at the real rate from there. Timers and sleeps are the real clock's.
type shiftedClock struct {
	clock.Clock
	offset time.Duration
}

func (c shiftedClock) Now() time.Time                  { return c.Clock.Now().Add(c.offset) }
func (c shiftedClock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }
func (c shiftedClock) Until(t time.Time) time.Duration { return t.Sub(c.Now()) }
