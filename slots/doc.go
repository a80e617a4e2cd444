// Package slots is atomic capacity for first-come openings: a slot is never
// overbooked, a person never holds two places in a campaign, and a retried
// request never books twice.
//
// In July 2021, 1.85 million first-come vaccine slots for Korea's 55-59 year
// olds went in hours while the booking site was falling over. Whatever the
// load, and whatever a retrying client or a retrying Redis client does,
// these invariants hold at every instant:
//
//   - per slot, confirmed bookings + live holds <= capacity;
//   - per person per campaign, at most one live hold or booking;
//   - Move is all or nothing;
//   - a hold frees its place at its expiry instant, computed lazily at the
//     next call from the now passed in (no background goroutine, no timer).
//
// # Model
//
// A Campaign has Slots (an ID and a capacity). A person takes a place with
// Hold, which keeps it for a TTL; Confirm turns the hold into a Booking
// before it expires; Cancel gives a hold or booking back; Move carries a
// booking to another slot atomically. Lookup finds a person's hold or
// booking; Availability reads many slots at one instant, and Totals the
// whole campaign's counts in one read whatever its size (what a waiting
// room asks at every refresh: admission/slotsupply). DefineSlots creates
// and resizes slots, never below what is booked and held.
//
// # Stores
//
// A Store keeps the state: NewMemoryStore (one process) or NewRedisStore
// (standalone, Sentinel or Cluster). Store methods take now from the
// caller, so the two agree to the millisecond and a mock clock drives expiry
// in both; Redis never reads its own TIME. The Store interface documents the
// contract, and slotstest.Run checks it: both stores here pass it on memory,
// standalone Redis and a three-master Cluster, and a third-party store can
// prove itself the same way.
//
// Every mutating request carries an idempotency key. The first call with a
// key records its outcome (success or domain error); a retry with the same
// key and the same request returns that outcome and changes nothing, for at
// least MinRetention (DefaultRetention by default); the same key with a
// different request is ErrConflict. Give each user intent its own key (for
// example a UUID made when the booking form is shown) and resend it on every
// retry of that intent. This is also what makes the Redis store safe under
// go-redis, which sends a call again after a timeout or a lost
// connection: the second run finds the first one's record.
//
// Any failure that is not a domain outcome (connection refused, timeout,
// cancelled context, Lua error) is an error matching ErrUnavailable:
// nothing is ever reported booked because the store could not be asked, and
// the outcome of a write that timed out is learnt by retrying its key.
//
// # Redis layout
//
// Each operation is one round trip: a function of the package's Lua
// library run with FCALL, or for Lookup a plain HGET of the person's
// record, judged at now in Go. The store loads the library (FUNCTION LOAD)
// on a server the first time a call finds it missing there, so it needs
// Redis 7.0 or later; Redis keeps functions like data (replicas, RDB and
// AOF have them; FLUSHALL leaves them). Concurrent Hold, Confirm, Cancel
// and Move calls share round trips by default (group commit;
// RedisOptions.Unbatched turns it off), by the rule the admission store
// follows too: a call that finds no round trip of the store in flight
// leads one, with the calls made at the same moment (it yields the
// processor a few times before sending, so a call alone waits under a
// microsecond); calls that arrive while one is in flight queue, and the
// round trip that returns hands the queue's first calls on as the next
// one: one FCALL per campaign (its calls in arrival order, each with all its guarantees),
// several campaigns pipelined. RedisOptions.Timeout is each call's whole
// budget, its wait in the queue included: a call still queued when its
// budget or context ends was never sent (ErrUnavailable, nothing
// happened); one sent whose budget ends fails with ErrUnavailable, its
// outcome unknown (a retry with the same key learns it).
//
// A campaign's state is four keys, Prefix + "{" + campaign + "}:" +
// v2:data, v2:gx, v2:hx and v2:slots, passed as the functions' keys, so on
// a Cluster the whole campaign lives in one hash slot and every call runs
// on one shard. Data written by an earlier version of this package (keys
// without "v2:") is never read, so upgrade from such a version between
// openings: its instances and this version's would each book in their own
// keys. For later layouts the data hash carries a layout mark: a version
// that keeps campaigns in another layout sets it in this layout's data
// hash before it books a campaign there, and from then on this version
// refuses every call on the campaign with ErrMisconfigured, changing
// nothing (Lookup, a plain read, still answers from this layout's
// record), rather than book places the other version does not count. The data
// hash also keeps the campaign's totals (capacity, free places, live
// holds), updated by every call that changes a slot's counts, so Totals is
// one read; a campaign written by a version that did not keep them (v2
// data from before Totals) gets them counted from its slots by the first
// Totals or DefineSlots. While instances of such a version still run
// beside this one, their calls do not update the totals: Totals may then
// be off by their holds, which never affects a booking (counts per slot
// stay exact), only what a waiting room believes is left. Campaign names
// are restricted to A-Z a-z 0-9 . _ - (at most MaxCampaignLen bytes), so the
// hash tag is exactly the campaign; slot identifiers, persons and keys may
// be any bytes (at most MaxIDLen) and are stored base64url-encoded as hash
// fields, sorted-set members and record parts, never in key names. Persons
// are stored as the caller gives them (use a stable pseudonymous identifier)
// and never logged.
//
// Holds expire lazily: a record carries its expiry, and a per-campaign
// sorted set of expiries is purged by the first call that needs exact
// counts once something is due (a stored lower bound makes that check
// free in the common case). Idempotency records and traces of expired
// holds are dropped after their retention, at most 100 per call.
//
// # Durability
//
// On a single Redis server, a confirmed booking survives a crash (kill -9,
// power loss) only with the append-only file on and fsynced before each
// reply: appendonly yes, appendfsync always. The package tests kill such a
// server and find every confirmed booking after the restart. With
// appendfsync everysec (Redis's default for AOF) up to about a second of
// acknowledged bookings can be lost; with RDB snapshots alone, everything
// since the last snapshot.
//
// Replication does not close the gap. Redis replicates asynchronously: a
// primary acknowledges a booking before any replica has it, and a failover
// (Sentinel or Cluster) can promote a replica that never received it; Jepsen
// showed acknowledged writes lost this way. WAIT makes the primary report how
// many replicas have a write, but it is best effort (a replica that has
// acknowledged may still not be the one promoted, and a timeout does not undo
// the write), it must be sent on the connection that made the write, and it
// cannot run inside a script. WAITAOF (Redis 7.2, not in Debian 12's 7.0)
// adds fsync on replicas, still without a promise across failover.
// RedisOptions.WaitReplicas sends WAIT after each write on the same
// connection and reports a shortfall as ErrNotReplicated: an option that
// narrows the window, not a guarantee. See docs/slots-durability.md.
//
// # Service
//
// Service is what an application calls: it reads the instant from an
// injected clock, validates input, asks the Gate at that same instant for
// Hold, Confirm and Move, telling it who books what (Attempt: the person, the
// slot, the hold), calls the store with that instant, logs with slog (a short
// keyed hash of the person, never the person) and reports each call to
// ServiceOptions.Observer. A host's Gate checks the window, the person's pass
// and eligibility at that one instant; Window(gate) adapts the window
// package's Gate, which decides by the instant alone.
//
// A campaign lives on one shard. Beyond one shard's throughput, split it
// into partitions: docs/slots-partitioning.md describes how the
// one-booking-per-person rule can survive that, and what it costs.
package slots
