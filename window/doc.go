// Package window decides, at every instant, what a campaign lets the public
// do: booking windows that open and close at exact instants in a named IANA
// zone, a gate in front of the whole HTTP mux that denies by default, a
// maintenance switch that closes everything but authenticated operators, and
// the same decision for the booking path.
//
// It exists because of July 2021, when a direct link reached Korea's vaccine
// booking form 30 minutes before the 20:00 opening while the front page said
// "not yet", and a maintenance page left another way in.
//
// # Instants and windows
//
// A Window is the half-open interval [Start, End): open at Start exactly,
// closed at End exactly. Build one from wall-clock times with FromCivil and
// a zone from LoadZone. The zone database is embedded (time/tzdata), so
// "Asia/Seoul" resolves on a host without /usr/share/zoneinfo; an unknown
// zone name is an error, never a silent UTC. A civil time that the zone
// skips (spring forward) or passes twice (fall back) is an error unless the
// caller picks Compatible, Earlier or Later; Resolve computes the candidates
// from the zone's own offsets, the same way for western and eastern zones.
// Every answer depends on instants only, never on the host's TZ.
//
// # Phases
//
// A Schedule is a campaign's openings in its zone. At an instant it is in one
// Phase: NotYet, PreQueue (the waiting room takes arrivals, nothing books),
// Open, or Closed. Maintenance, from a Switch, overrides them all. The switch
// is shared by every server instance through Redis (NewRedisSwitch), with a
// cached reading whose staleness is bounded by a TTL and cut short by
// pub/sub notices, so requests do not pay a Redis round trip; a switch that
// cannot be read counts as on.
//
// # The gate
//
// NewGate builds a Gate from a Schedule, a Switch and an operator Keyring.
// Gate.Allow classifies routes with net/http ServeMux patterns and the
// phases in which the public may use them; Gate.Guard wraps the application's
// mux, lets through only what is allowed in the current phase, and refuses
// everything else (unclassified routes included) with an RFC 9457 problem
// that says the phase and when the window opens and closes, or hands the
// refusal, typed (package window/problem), to GateOptions.Deny to answer it
// another way (admission/pages renders it as a page). Gate.NewMux is the one
// registration: its Handle classifies a route and mounts its handler in one
// call, so no route can be mounted unclassified. Operators carry
// an HMAC-signed token with an expiry (Keyring.Issue), verified in constant
// time, with rotating keys; they pass in every phase, maintenance included.
//
// The booking path does not trust that the request passed the gate a moment
// ago: it calls Gate.Require with the same instant it books at, and gets nil
// only when booking is open and maintenance is off, or a *Refusal wrapping
// ErrNotOpen, ErrClosed or ErrMaintenance.
//
// Every time the gate reads comes from an injected clock
// (github.com/benbjohnson/clock), so tests drive it with clock.NewMock. The
// one goroutine of the package is a RedisSwitch's subscriber, stopped by
// its Close.
package window
