// Package admission is gatehouse's waiting room: a fair, server-side line
// in front of an opening that a whole country hits at once.
//
// In July 2021 the queue of Korea's vaccine booking site lived in the
// browser: toggling airplane mode skipped it, because it failed open, and
// the page promised a wait of "93 hours 4 minutes". A [Room] is the
// opposite on each count:
//
//   - One place per identity. The host application supplies the identity
//     (its authenticated user); the room keeps only a keyed hash of it
//     ([HashIdentity]). Joining again, from any device or server, returns
//     the same place; reconnecting never loses it.
//   - Early arrivals, who joined before the opening, are shuffled at the
//     opening, uniformly, by a keyed permutation of their arrival indices
//     ([NewShuffle]); later arrivals are served first come, first served.
//     The room publishes the seed's commitment before the opening and the
//     seed after it ([Room.SeedCommitment], [Room.Seed], the fairness
//     endpoint of [Room.Handler]), so that anyone can recompute every early
//     arrival's place. Fixing the order of a million early arrivals is one
//     write: the number E of early arrivals.
//   - Admission is paced to what the booking backend can take: at most
//     Options.Rate new people a minute (a token bucket with Options.Burst,
//     that is GCRA) and at most Options.Cap active at once. The line is a
//     function of time: people waiting are called at the instants the
//     bucket allows whether or not anyone asks, and a lease that ends in a
//     quiet spell frees its place at its own deadline. There is no leader
//     and no background goroutine: every call, from any instance, brings
//     the line in the store to its instant exactly as if someone had
//     called every millisecond. Several instances on one Redis admit
//     together exactly at the configured rate. Rate, burst and cap are the
//     room's state in the store, changed live with [Room.SetLimits] from
//     any instance (the old rate applies up to the change, the new after).
//   - Joining hands a signed place ticket ([Status.Ticket], a token type
//     of its own, never a pass, bound to the person's identity by its MAC
//     without carrying it: see [Ticket]); a newcomer at a line with nobody ahead
//     is admitted by the join itself, which claims and hands the pass in
//     the same store call. Each Room keeps a snapshot of the line,
//     refreshed lazily (one caller at a time) at most every
//     Options.RefreshInterval; a poll with a ticket ([Room.Poll]) is
//     answered from it, without a store call, until the person's place is
//     called, and so is a join sent again with the ticket ([Room.Rejoin]:
//     a reloaded page, a reconnect storm). Only then does the room ask the
//     store, which claims the place and signs the pass. A snapshot older than Options.StaleAfter that
//     cannot be refreshed is an outage (503): nobody is admitted from a
//     stale figure. The same figures are public ([PublicLine], the line
//     endpoint of [Room.Handler]) and cacheable, so a CDN can absorb the
//     polls and a client can compute its own position.
//   - Someone called while away keeps the place for Options.ClaimWindow;
//     after that the place stops counting against the cap (abandoned places
//     do not stall the line), and on return the person goes to the head of
//     the line, not the back. Claiming (the first Status once admitted)
//     holds the place for Options.SessionTTL; [Room.Done] frees it at once.
//   - An admitted person gets a signed pass bound to the room and the
//     identity hash ([Keyring]); protected routes ([Room.Protect]) check it
//     on every request without asking the store, in constant time, with
//     rotating keys.
//   - The ETA is a range computed from the people ahead and what bounds
//     the drain: the rate in force (an operator's change counts from the
//     next snapshot), the cap with the time people stay admitted (measured
//     from the line's figures by Little's law), and the places surely left
//     (beyond them no time is promised: ETA.PlacesShort; a sold-out room
//     says so). It widens when the drain is unstable (the stay measured
//     over several spans, a pacer moving the rate); before there is a
//     measurement it says "unknown", and it is never shorter than the rate
//     allows. [Stats.Calibration] and [Event] tell how often the actual
//     wait fell inside the drain-only range recomputed from the store's
//     figures at join.
//   - It fails closed: every store error is [ErrUnavailable] (HTTP 503 with
//     Retry-After) and admits nobody.
//   - It knows the supply behind it, when the host tells it
//     (Options.Supply, a [Supply] over the booking system's availability;
//     admission/slotsupply wires gatehouse's slots): it never has more
//     people active than places remain (times Options.Overbooking), and
//     once every place is booked it is sold out ([StateSoldOut]): waiting
//     people hear it at their next poll, from the snapshot, and a newcomer
//     at once, instead of at the end of the line. If holds lapse and places
//     come back, the line resumes.
//   - Its rate can follow the booking backend's health: a [Pacer]
//     (additive increase, multiplicative decrease, between an operator's
//     minimum and maximum) reads the booking calls' latency and errors and
//     sets one rate for every instance through the store.
//
// # Time
//
// Every time read goes through Options.Clock (github.com/benbjohnson/clock);
// stores take now from the caller and decide nothing by their own clock,
// so a mock clock drives memory and Redis alike. The line is computed
// lazily at each call, as a function of time (see [Store]); nothing runs
// in the background.
//
// # Stores
//
// [NewMemoryStore] serves one process; [NewRedisStore] serves any number of
// instances through Redis 7.0 or later (standalone, Sentinel or Cluster),
// one call of a Redis function (Lua, loaded once) per operation. Calls one
// store makes concurrently share round trips under load (group commit;
// [RedisOptions].Unbatched turns it off), by the rule the slots store
// follows too: a call that finds no round trip of the store in flight
// leads one, with the calls made at the same moment (it yields the
// processor a few times before sending, so a call alone waits under a
// microsecond); calls that arrive while one is in flight queue, and the
// round trip that returns hands the queue's first calls on as the next
// one: one FCALL per room (its calls in arrival order, each with all its guarantees), several
// rooms pipelined. [RedisOptions].Timeout is each call's whole budget, its
// wait in the queue included: a call still queued when its budget or
// context ends was never sent; one sent whose budget ends has an unknown
// outcome; both fail with [ErrUnavailable] and admit nobody. Both stores
// run the same arithmetic (golang.org/x/time/rate's token bucket, stepped
// at the instants it admits), and both pass the conformance suite in
// admission/admissiontest, which a third-party [Store] can run too.
//
// # HTTP
//
// [Room.Handler] serves the JSON API (join, status, done, line, fairness)
// and [Room.Protect] guards the routes behind the waiting room:
//
//	id := func(r *http.Request) (string, bool) { return userFromSession(r) }
//	mux.Handle("/queue/", room.Handler(id))
//	mux.Handle("/book/", room.Protect(bookingHandler, id))
//
// The handler refuses join and done sent by a browser from another origin
// (403): a page on another site cannot move anyone's place with their
// cookies.
//
// # Durability
//
// With Redis, run appendonly yes with appendfsync always: a line (places,
// claims, E, the serving counter) then survives a crash of the server, and
// while Redis is down the room refuses with 503 rather than admit anyone.
package admission
