package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-go/gatehouse/admission"
	"github.com/gatehouse-go/gatehouse/admission/slotsupply"
	"github.com/gatehouse-go/gatehouse/slots"
	"github.com/gatehouse-go/gatehouse/window"
)

// The names the in-process target uses: one room and one slot campaign,
// under the same hash tag so that a Cluster keeps them, and the no-op
// baseline, on one shard.
const (
	libRoom     = "rush"
	libCampaign = slots.Campaign("rush")
)

// libTarget drives the library in this process, composed the way a server
// composes it: the gate in front of the booking path, the pass checked by
// the room, the gate checked again by the slots Service at the instant it
// books.
//
// With -lane-rooms and ticks running at once (-overlap, simulated time)
// it is one such composition per lane, each reading a clock of its own
// that the simulator sets to its lane's tick (laneClocks), over the same
// stores and switch: as many servers behind one load balancer, each
// answering at its request's own instant. A call then never reads a
// clock past its tick; the stores take an instant earlier than the latest
// they have seen as that latest one (their contract), as they do for
// servers whose clocks differ. It is then that many servers: each room
// refreshes its own snapshot and measures its own ETA.
type libTarget struct {
	clk    clock.Clock // the shared clock: the audit's, and the lanes' when they have none of their own
	lanes  []libLane
	store  slots.Store
	sw     window.Switch
	rdb    redis.UniversalClient
	closer []func() error
	// the crowd, for the audit, and where each person's place ticket is
	// kept, as a browser keeps the cookie: the jar in the person's own
	// record (crowd[i].ticket), beside the lock a poll takes anyway, so
	// that reading the ticket finds its string header in a cache line
	// already loaded; no hashing, no allocation.
	slotIDs []string
	crowd   []*person
	// count counts the store calls.
	count *storeCounter
	// backend models the booking backend's capacity (nil: unbounded).
	backend *backendModel
	// useStart is what Redis had used when the run started.
	useStart redisUse
	// noopKey is the no-op's key, noopBefore its samples taken before
	// the run (measureNoopAfter pools them with those taken after).
	noopKey    string
	noopBefore noopSamplesOf
}

// libLane is one server's composition of the library: the room, the
// slots service and the gate, on one clock; pacer, when set, is the
// room's and hears every booking call of the lane (each Room needs its
// own Pacer).
type libLane struct {
	clk   clock.Clock
	sclk  *simClock // the lane's own clock; nil when it reads the shared one
	room  *admission.Room
	svc   *slots.Service
	gate  *window.Gate
	pacer *admission.Pacer
}

// lane is the composition that serves a request: its worker's lane's
// (reqCtx.lane), the first for a context that is no request's.
func (t *libTarget) lane(ctx context.Context) *libLane {
	if rc, ok := ctx.(*reqCtx); ok && rc.lane < len(t.lanes) {
		return &t.lanes[rc.lane]
	}
	return &t.lanes[0]
}

// laneClocks returns each lane's own clock, for the simulator to set to
// the lane's tick; nil when the lanes read the shared clock.
func (t *libTarget) laneClocks() []*simClock {
	if t.lanes[0].sclk == nil {
		return nil
	}
	cs := make([]*simClock, len(t.lanes))
	for i := range t.lanes {
		cs[i] = t.lanes[i].sclk
	}
	return cs
}

// noopSamplesOf are the no-op's runs with parallel callers: each run's
// rate (calls a second), Redis's CPU per call (µs) and mean round trip
// (µs).
type noopSamplesOf struct{ rates, cpus, means []float64 }

// sampleNoop runs the no-op n times with parallel callers.
func (t *libTarget) sampleNoop(ctx context.Context, n, rounds, parallel int) (noopSamplesOf, error) {
	var s noopSamplesOf
	for range n {
		perSec, cpu, mean, err := t.noopParallel(ctx, t.noopKey, rounds, parallel)
		if err != nil {
			return s, err
		}
		s.rates, s.cpus, s.means = append(s.rates, perSec), append(s.cpus, cpu), append(s.means, mean)
	}
	return s, nil
}

// and is a's samples followed by b's.
func (a noopSamplesOf) and(b noopSamplesOf) noopSamplesOf {
	return noopSamplesOf{
		rates: append(slices.Clone(a.rates), b.rates...),
		cpus:  append(slices.Clone(a.cpus), b.cpus...),
		means: append(slices.Clone(a.means), b.means...),
	}
}

// setParallel sets ns's figures with parallel callers from samples: the
// medians, and the ranges, of every sample given.
func (ns *noopStat) setParallel(s noopSamplesOf) {
	ns.ParallelSamples = len(s.rates)
	ns.ParallelPerSec, ns.ParallelPerSecMin, ns.ParallelPerSecMax = medianRange(s.rates)
	ns.ParallelMeanUS, _, _ = medianRange(s.means)
	ns.CPUUS, ns.CPUMinUS, ns.CPUMaxUS = medianRange(s.cpus)
}

// libParts are what newLibTarget needs beyond the configuration; tests
// swap a store to break it on purpose.
type libParts struct {
	rdb       redis.UniversalClient
	admStore  admission.Store
	slotStore slots.Store
	sw        window.Switch
	// auditStore, when set, is the same store through a client without
	// a read timeout: a snapshot of a million bookings takes seconds.
	auditStore slots.Store
}

// seedFrom derives the room's shuffle seed from the crowd's seed, so that
// the same -seed gives the same line.
func seedFrom(seed int64) admission.Seed {
	r := mrand.New(mrand.NewPCG(uint64(seed), 0x5eed))
	var s admission.Seed
	for i := range s {
		s[i] = byte(r.Uint32())
	}
	return s
}

// newLibTarget builds the room, the gate and the slots service over the
// given stores, and defines the crowd's slots.
func newLibTarget(ctx context.Context, cfg *config, clk clock.Clock, open time.Time, cr *crowd, parts libParts) (*libTarget, error) {
	passKey := make([]byte, 32)
	idKey := make([]byte, 32)
	rand.Read(passKey)
	rand.Read(idKey)
	ring, err := admission.NewKeyring(admission.Key{ID: "rush1", Secret: passKey})
	if err != nil {
		return nil, err
	}
	sw := parts.sw
	if sw == nil {
		sw = window.NewMemorySwitch(false)
	}
	count := &storeCounter{}
	t := &libTarget{clk: clk, store: parts.slotStore, sw: sw, rdb: parts.rdb,
		slotIDs: cr.slotIDs, count: count, backend: cr.backend}
	// With -lane-rooms, one composition per lane of ticks run at once,
	// each on a clock of its own, in simulated time; one on clk otherwise.
	lanes := 1
	sclk, simulated := clk.(*simClock)
	if simulated && cfg.LaneRooms {
		lanes = cfg.lanes()
	}
	for range lanes {
		l := libLane{clk: clk}
		if lanes > 1 {
			l.sclk = newSimClock(sclk.Now())
			l.clk = l.sclk
		}
		if err := l.build(cfg, open, sw, count, countingStore{parts.admStore, count}, parts.slotStore, ring, idKey); err != nil {
			return nil, err
		}
		t.lanes = append(t.lanes, l)
	}
	t.crowd = cr.people
	if parts.auditStore != nil {
		t.store = parts.auditStore
	}
	// Define the slots, a batch at a time, with the audit store's
	// patience when there is one: setting up a million places is not
	// what the per-call budget is for.
	define := t.lanes[0].svc
	if parts.auditStore != nil {
		if define, err = slots.NewService(parts.auditStore, slots.ServiceOptions{Clock: clk, HoldTTL: cfg.HoldTTL}); err != nil {
			return nil, fmt.Errorf("slots: %w", err)
		}
	}
	for i := 0; i < len(cr.slotIDs); i += slots.MaxBatch {
		var batch []slots.Slot
		for j := i; j < min(i+slots.MaxBatch, len(cr.slotIDs)); j++ {
			batch = append(batch, slots.Slot{ID: cr.slotIDs[j], Capacity: cr.slotCap[j]})
		}
		if err := define.DefineSlots(ctx, slots.DefineRequest{Campaign: libCampaign, Slots: batch, Key: fmt.Sprintf("define-%d", i)}); err != nil {
			return nil, fmt.Errorf("define slots: %w", err)
		}
	}
	return t, nil
}

// build composes l on its clock, the way a server composes the library:
// the gate over the booking window, the slots service that checks it,
// and the room (with a pacer of its own under -pacing).
func (l *libLane) build(cfg *config, open time.Time, sw window.Switch, count *storeCounter, adm admission.Store, st slots.Store, ring *admission.Keyring, idKey []byte) error {
	seoul, err := window.LoadZone("Asia/Seoul")
	if err != nil {
		return err
	}
	l.gate, err = window.NewGate(window.GateOptions{
		Schedule: window.Schedule{Zone: seoul, Openings: []window.Opening{{
			PreQueue: open.Add(-cfg.openAt()),
			Booking:  window.Window{Start: open, End: open.Add(cfg.OpenFor)},
		}}},
		Switch: sw,
		Clock:  l.clk,
	})
	if err != nil {
		return fmt.Errorf("gate: %w", err)
	}
	l.svc, err = slots.NewService(st, slots.ServiceOptions{Clock: l.clk, Gate: slots.Window(l.gate), HoldTTL: cfg.HoldTTL})
	if err != nil {
		return fmt.Errorf("slots: %w", err)
	}
	ro := admission.Options{
		Name:        libRoom,
		Opening:     open,
		Rate:        cfg.Rate,
		Cap:         max(cfg.Cap, 0),
		ClaimWindow: cfg.ClaimWindow,
		SessionTTL:  cfg.SessionTTL,
		Keyring:     ring,
		IdentityKey: idKey,
		Seed:        seedFrom(cfg.Seed),
		Clock:       l.clk,
		Overbooking: cfg.Overbooking,
	}
	if cfg.Supply {
		// The wiring a server does: the room reads the campaign's
		// availability through the slots service (each read counted).
		ro.Supply = countingSupply{slotsupply.New(l.svc, libCampaign), count}
	}
	if cfg.Pacing {
		l.pacer, err = admission.NewPacer(admission.PacingOptions{
			Min: cfg.PacingMin, Max: cfg.PacingMax, Target: cfg.PacingTarget, Interval: cfg.PacingInterval, Step: cfg.PacingStep,
		})
		if err != nil {
			return fmt.Errorf("pacer: %w", err)
		}
		ro.Pacer = l.pacer
	}
	if l.room, err = admission.NewRoom(adm, ro); err != nil {
		return fmt.Errorf("room: %w", err)
	}
	return nil
}

// libFactory builds the in-process target on the configured store.
func libFactory(ctx context.Context, cfg *config, clk clock.Clock, open time.Time, cr *crowd) (target, faultControl, func(), error) {
	var parts libParts
	var faults faultControl
	var cleanup []func()
	done := func() {
		for i := len(cleanup) - 1; i >= 0; i-- {
			cleanup[i]()
		}
	}
	switch cfg.Store {
	case "memory":
		parts.admStore = admission.NewMemoryStore()
		parts.slotStore = slots.NewMemoryStore()
	case "redis", "redis-cluster":
		addrs := cfg.RedisAddrs
		if cfg.RedisStart {
			rp, err := startRedis(cfg.Store == "redis-cluster", cfg.RedisFsync)
			if err != nil {
				return nil, nil, nil, err
			}
			cleanup = append(cleanup, func() { rp.Close() })
			addrs, faults = rp.Addrs(), rp
		}
		rdb := newRedisClient(cfg, addrs, false)
		arb := newRedisClient(cfg, addrs, true)
		cleanup = append(cleanup, func() { rdb.Close(); arb.Close() })
		var err error
		parts, err = redisParts(cfg, rdb, arb, clk)
		if err != nil {
			done()
			return nil, nil, nil, err
		}
		cleanup = append(cleanup, func() {
			if rs, ok := parts.sw.(*window.RedisSwitch); ok {
				rs.Close()
			}
		})
	}
	t, err := newLibTarget(ctx, cfg, clk, open, cr, parts)
	if err != nil {
		done()
		return nil, nil, nil, err
	}
	return t, faults, done, nil
}

// newRedisClient returns a client for one address (standalone) or a
// cluster client, sized for the workers; for the audit, a small one that
// waits as long as a whole-campaign snapshot takes.
func newRedisClient(cfg *config, addrs []string, audit bool) redis.UniversalClient {
	pool, timeout := cfg.Workers+8, time.Duration(0)
	if audit {
		pool, timeout = 2, auditTimeout
	}
	if cfg.Store == "redis-cluster" {
		return redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, PoolSize: pool, ReadTimeout: timeout, ContextTimeoutEnabled: true})
	}
	return redis.NewClient(&redis.Options{Addr: addrs[0], PoolSize: pool, ReadTimeout: timeout, ContextTimeoutEnabled: true})
}

// auditTimeout bounds each call of the final audit.
const auditTimeout = 10 * time.Minute

// redisParts builds the Redis stores and switch under a prefix of this
// run's own, so that runs never share keys.
func redisParts(cfg *config, rdb, auditRDB redis.UniversalClient, clk clock.Clock) (libParts, error) {
	id := make([]byte, 6)
	rand.Read(id)
	prefix := "gatehouse:rush:" + hex.EncodeToString(id) + ":"
	adm, err := admission.NewRedisStore(rdb, admission.RedisOptions{Prefix: prefix + "adm:", Unbatched: !cfg.RedisBatch})
	if err != nil {
		return libParts{}, err
	}
	st, err := slots.NewRedisStore(rdb, slots.RedisOptions{Prefix: prefix + "slots:", Unbatched: !cfg.RedisBatch})
	if err != nil {
		return libParts{}, err
	}
	// The audit reads the whole campaign: its calls get the audit
	// client's patience, not the default half-second budget.
	ast, err := slots.NewRedisStore(auditRDB, slots.RedisOptions{Prefix: prefix + "slots:", Timeout: auditTimeout})
	if err != nil {
		return libParts{}, err
	}
	sw, err := window.NewRedisSwitch(rdb, window.RedisOptions{Prefix: prefix, Clock: clk})
	if err != nil {
		return libParts{}, err
	}
	return libParts{rdb: rdb, admStore: adm, slotStore: st, sw: sw, auditStore: ast}, nil
}

// standingOf converts the room's answer.
func standingOf(s admission.Status) standing {
	st := standing{
		Ahead: s.Ahead, Place: s.Place, Returning: s.Returning, Line: -1,
		ETAKnown: s.ETA.Known, ETALow: s.ETA.Min, ETAHigh: s.ETA.Max,
		Admitted: s.Admitted, Pass: s.Pass, PassExpires: s.PassExpires, PollAfter: s.PollAfter,
	}
	switch s.State {
	case admission.StateWaiting:
		st.State = stWaiting
	case admission.StateAdmitted:
		st.State = stAdmitted
	case admission.StateSoldOut:
		st.State = stSoldOut
	default:
		st.State = stDone
	}
	return st
}

// libErr classifies an error from the library.
func libErr(err error) error {
	if err == nil {
		return nil
	}
	k := kOther
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		k = kTimeout
	case errors.Is(err, window.ErrMaintenance):
		k = kMaintenance
	case errors.Is(err, window.ErrNotOpen), errors.Is(err, window.ErrClosed):
		k = kNotOpen
	case errors.Is(err, admission.ErrInvalidPass):
		k = kInvalidPass
	case errors.Is(err, slots.ErrFull):
		k = kFull
	case errors.Is(err, slots.ErrAlreadyBooked):
		k = kAlreadyBooked
	case errors.Is(err, slots.ErrHoldExpired):
		k = kHoldExpired
	case errors.Is(err, slots.ErrNotFound), errors.Is(err, admission.ErrNotJoined):
		k = kNotFound
	case errors.Is(err, slots.ErrConflict):
		k = kConflict
	case errors.Is(err, slots.ErrUnavailable), errors.Is(err, admission.ErrUnavailable):
		k = kUnavailable
	}
	return terr(k, err)
}

func (t *libTarget) Join(ctx context.Context, person string) (standing, error) {
	s, err := t.lane(ctx).room.Join(ctx, person)
	if err != nil {
		return standing{}, libErr(err)
	}
	t.keepTicket(person, s.Ticket)
	return standingOf(s), nil
}

// Rejoin joins again with the person's place ticket, as a reconnecting
// client holding the cookie does: the room answers from its snapshot
// until the place is called.
func (t *libTarget) Rejoin(ctx context.Context, person string) (standing, error) {
	slot := t.ticketSlot(person)
	tk := ticketIn(slot)
	s, err := t.lane(ctx).room.Rejoin(ctx, person, tk)
	if err != nil {
		return standing{}, libErr(err)
	}
	keepIn(slot, tk, s.Ticket)
	return standingOf(s), nil
}

// Status polls with the person's place ticket, as a client holding the
// cookie does: the room answers from its snapshot until the place is
// called.
func (t *libTarget) Status(ctx context.Context, person string) (standing, error) {
	i := -1
	slot := t.ticketSlot(person)
	if slot != nil {
		i = personNumber(person)
	}
	return t.statusOf(ctx, i, person, slot)
}

// statusOf is Status for person, who is crowd[i], with the
// ticket kept in slot (i < 0 and slot nil: a name not in it, which keeps
// no ticket). The simulator knows the person, so a poll neither parses
// nor compares the name, and finds the ticket in the person's record
// (indexedTarget).
func (t *libTarget) statusOf(ctx context.Context, i int, person string, slot *ticketJar) (standing, error) {
	t.count.polls.Add(i)
	tk := ticketIn(slot)
	s, err := t.lane(ctx).room.Poll(asPoll(ctx), person, tk)
	if err != nil {
		return standing{}, libErr(err)
	}
	keepIn(slot, tk, s.Ticket)
	return standingOf(s), nil
}

// ticketJar is where one person's place ticket is kept: both devices of
// a double booker may read and replace it at once.
type ticketJar struct {
	mu sync.Mutex
	t  string
}

// ticketIn returns the ticket kept in slot, "" for none (or no slot).
func ticketIn(slot *ticketJar) string {
	if slot == nil {
		return ""
	}
	slot.mu.Lock()
	t := slot.t
	slot.mu.Unlock()
	return t
}

// keepIn keeps ticket in slot when it is new: not "" and not held, the
// ticket read from slot before the call (the first, or the room's new
// one).
func keepIn(slot *ticketJar, held, ticket string) {
	if slot != nil && ticket != "" && ticket != held {
		slot.mu.Lock()
		slot.t = ticket
		slot.mu.Unlock()
	}
}

// ticketSlot is where person's ticket is kept; nil for a name not in the
// crowd (none is asked for).
func (t *libTarget) ticketSlot(person string) *ticketJar {
	i := personNumber(person)
	if i < 0 || i >= len(t.crowd) || t.crowd[i].name != person {
		return nil
	}
	return &t.crowd[i].ticket
}

func (t *libTarget) keepTicket(person, ticket string) {
	slot := t.ticketSlot(person)
	keepIn(slot, ticketIn(slot), ticket)
}

func (t *libTarget) Done(ctx context.Context, person string) error {
	_, err := t.lane(ctx).room.Done(ctx, person)
	return libErr(err)
}

// admit is the booking path's front door, as a server has it: the gate
// (which wraps every route), then the pass for this person.
func (t *libTarget) admit(ctx context.Context, l *libLane, person, pass string) error {
	now := l.clk.Now()
	if err := l.gate.Require(ctx, now); err != nil {
		return libErr(err)
	}
	if err := l.room.Verify(now, pass, person); err != nil {
		return libErr(err)
	}
	return nil
}

func (t *libTarget) Hold(ctx context.Context, person, pass, slot, key string) (hold, error) {
	l := t.lane(ctx)
	if err := t.admit(ctx, l, person, pass); err != nil {
		return hold{}, err
	}
	if err := t.callBackend(l); err != nil {
		return hold{}, err
	}
	t.count.calls[scHold].Add(1)
	h, err := l.svc.Hold(ctx, slots.HoldRequest{Campaign: libCampaign, Slot: slot, Person: person, Key: key})
	if err != nil {
		return hold{}, libErr(err)
	}
	return hold{ID: h.ID, Slot: h.Slot, Expires: h.Expires}, nil
}

func (t *libTarget) Confirm(ctx context.Context, person, pass, holdID, key string) error {
	l := t.lane(ctx)
	if err := t.admit(ctx, l, person, pass); err != nil {
		return err
	}
	if err := t.callBackend(l); err != nil {
		return err
	}
	t.count.calls[scConfirm].Add(1)
	_, err := l.svc.Confirm(ctx, slots.ConfirmRequest{Campaign: libCampaign, HoldID: holdID, Person: person, Key: key})
	return libErr(err)
}

// callBackend passes a booking call through the backend model, and tells
// the pacer its latency and outcome (as a server's booking observer
// would); a call the backend does not serve is a timeout.
func (t *libTarget) callBackend(l *libLane) error {
	if t.backend == nil {
		return nil
	}
	lat, err := t.backend.call(l.clk.Now())
	if l.pacer != nil {
		l.pacer.Observe(lat, err)
	}
	if err != nil {
		return terr(kTimeout, err)
	}
	return nil
}

// rate is the room's rate in force, from the first lane's snapshot.
func (t *libTarget) rate(ctx context.Context) (int, error) {
	l, err := t.lanes[0].room.Line(ctx)
	return l.Limits.Rate, err
}

// maxPollAfter is the longest interval the room asks a client to wait
// between polls.
func (t *libTarget) maxPollAfter() time.Duration { return t.lanes[0].room.MaxPollAfter() }

func (t *libTarget) Maintenance(ctx context.Context, on bool) error {
	return t.sw.Set(ctx, on)
}

// line is the room's own count of people waiting, from the first lane's
// snapshot (Room.Line, as of the snapshot's last refresh): sampling it costs the
// store nothing, so the measurement adds no store call to the run it
// measures and does not refresh the room's snapshot for the crowd.
func (t *libTarget) line(ctx context.Context) (int64, error) {
	l, err := t.lanes[0].room.Line(ctx)
	if err != nil {
		return -1, err
	}
	if !l.Opened {
		return int64(l.Joined), nil
	}
	return int64(l.Joined-l.Serving) + l.Returning, nil
}

// Audit reads the whole campaign: a snapshot when the store can take one
// (both stores of the slots package can). When the snapshot fails it
// falls back to reading what it must slot by slot and person by person:
// every slot's availability in batches, and every person's Lookup.
func (t *libTarget) Audit(ctx context.Context) (auditData, error) {
	if sn, ok := t.store.(slots.Snapshotter); ok {
		snap, err := sn.Snapshot(ctx, t.clk.Now(), libCampaign)
		if err == nil {
			d := auditData{Booked: map[string]int{}, Capacity: map[string]int{}, Method: "snapshot"}
			for _, a := range snap.Slots {
				d.Booked[a.Slot] = a.Booked
				d.Capacity[a.Slot] = a.Capacity
			}
			for _, b := range snap.Bookings {
				d.Bookings = append(d.Bookings, auditBooking{Person: b.Person, Slot: b.Slot, ID: b.ID})
			}
			return d, nil
		}
		d, err2 := t.auditByLookup(ctx)
		d.Method = "availability and lookup per person (snapshot failed: " + err.Error() + ")"
		return d, err2
	}
	d, err := t.auditByLookup(ctx)
	d.Method = "availability and lookup per person"
	return d, err
}

// auditByLookup reads every slot's counts (in batches of slots.MaxBatch)
// and every person's entry with Store.Lookup, 32 at a time.
func (t *libTarget) auditByLookup(ctx context.Context) (auditData, error) {
	d := auditData{Booked: map[string]int{}, Capacity: map[string]int{}}
	now := t.clk.Now()
	for i := 0; i < len(t.slotIDs); i += slots.MaxBatch {
		av, err := t.store.Availability(ctx, now, libCampaign, t.slotIDs[i:min(i+slots.MaxBatch, len(t.slotIDs))])
		if err != nil {
			return d, err
		}
		for _, a := range av {
			d.Booked[a.Slot] = a.Booked
			d.Capacity[a.Slot] = a.Capacity
		}
	}
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	next := make(chan string, 64)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range next {
				e, err := t.store.Lookup(ctx, now, libCampaign, p)
				mu.Lock()
				switch {
				case err == nil && e.Booking != nil:
					d.Bookings = append(d.Bookings, auditBooking{Person: p, Slot: e.Booking.Slot, ID: e.Booking.ID})
				case err == nil, errors.Is(err, slots.ErrNotFound):
				default:
					firstErr = cmp(firstErr, err)
				}
				mu.Unlock()
			}
		}()
	}
	for _, p := range t.crowd {
		next <- p.name
	}
	close(next)
	wg.Wait()
	return d, firstErr
}

func (t *libTarget) Close() error {
	var errs []error
	for _, c := range t.closer {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
}

// noopScript is the baseline: a Lua script that touches one key of the
// campaign's shard and does nothing (the same as redistest.NoopScript).
var noopScript = redis.NewScript(`return 0`)

// measureNoop times rounds EVALSHA of the no-op script on the store's
// server, one at a time, then with parallel callers.
func (t *libTarget) measureNoop(ctx context.Context, rounds, parallel int) (*noopStat, error) {
	if t.rdb == nil {
		return nil, nil
	}
	key := "gatehouse:rush:noop:{" + libRoom + "}"
	err := noopScript.Load(ctx, t.rdb).Err()
	if err != nil {
		return nil, err
	}
	lat := make([]time.Duration, rounds)
	var sum time.Duration
	for i := range rounds {
		t0 := time.Now()
		if err := noopScript.EvalSha(ctx, t.rdb, []string{key}).Err(); err != nil {
			return nil, err
		}
		lat[i] = time.Since(t0)
		sum += lat[i]
	}
	sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
	ns := &noopStat{
		Rounds: rounds,
		MeanUS: float64(sum) / float64(rounds) / 1e3,
		P50US:  float64(lat[rounds/2]) / 1e3,
		P99US:  float64(lat[rounds*99/100]) / 1e3,
	}
	// With parallel callers: the floor under load, and Redis's CPU per
	// call. The figures are the medians of noopSamples runs, so that one
	// hiccup of a shared machine (another process's burst) moves neither
	// the floor nor the CPU unit; the report gives their range too.
	// measureNoopAfter takes as many again after the run and pools them.
	t.noopKey = key
	if t.noopBefore, err = t.sampleNoop(ctx, noopSamples, rounds, parallel); err != nil {
		return nil, err
	}
	ns.setParallel(t.noopBefore)
	ns.BeforePerSec, ns.BeforeCPUUS = ns.ParallelPerSec, ns.CPUUS
	// The run's CPU is counted from here.
	use, err := redisUsage(ctx, t.rdb, "cpu", "persistence")
	if err != nil {
		return nil, err
	}
	t.useStart = use
	return ns, nil
}

// noopSamples is how many times the no-op is run with parallel callers,
// before the run and again after it.
const noopSamples = 5

// measureNoopAfter runs the no-op with parallel callers noopSamples times
// again, after the run (call it once the run's Redis CPU has been read),
// and sets ns's parallel figures, and the CPU unit of the store block, to
// the medians of all the samples, before and after. A shared machine's
// speed drifts: one run of ten no-op samples before the rush and a slower
// or faster rush measure it against a unit it no longer has; sampled at
// both ends, the unit brackets the run.
func (t *libTarget) measureNoopAfter(ctx context.Context, ns *noopStat, rounds, parallel int) error {
	if t.rdb == nil || ns == nil || t.noopKey == "" {
		return nil
	}
	// After a restart the server has lost the script.
	if err := noopScript.Load(ctx, t.rdb).Err(); err != nil {
		return err
	}
	after, err := t.sampleNoop(ctx, noopSamples, rounds, parallel)
	if err != nil {
		return err
	}
	a := noopStat{}
	a.setParallel(after)
	ns.AfterPerSec, ns.AfterCPUUS = a.ParallelPerSec, a.CPUUS
	ns.setParallel(t.noopBefore.and(after))
	return nil
}

// noopParallel runs about rounds no-op calls from parallel callers at once
// and returns their rate, Redis's main-thread CPU per call (µs) and the
// mean round trip (µs).
func (t *libTarget) noopParallel(ctx context.Context, key string, rounds, parallel int) (perSec, cpuUS, meanUS float64, err error) {
	cpu0, err := redisCPU(ctx, t.rdb)
	if err != nil {
		return 0, 0, 0, err
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var psum time.Duration
	var firstErr error
	per := max(1, rounds/parallel)
	start := time.Now()
	for range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local time.Duration
			for range per {
				t0 := time.Now()
				if err := noopScript.EvalSha(ctx, t.rdb, []string{key}).Err(); err != nil {
					mu.Lock()
					firstErr = cmp(firstErr, err)
					mu.Unlock()
					return
				}
				local += time.Since(t0)
			}
			mu.Lock()
			psum += local
			mu.Unlock()
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return 0, 0, 0, firstErr
	}
	elapsed := time.Since(start)
	n := float64(per * parallel)
	cpu1, err := redisCPU(ctx, t.rdb)
	if err != nil {
		return 0, 0, 0, err
	}
	return n / elapsed.Seconds(), (cpu1 - cpu0) / n, float64(psum) / n / 1e3, nil
}

// medianRange returns the median of xs (the mean of the middle two for an
// even count), its least and its greatest.
func medianRange(xs []float64) (med, lo, hi float64) {
	if len(xs) == 0 {
		return 0, 0, 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := len(s) / 2
	med = s[m]
	if len(s)%2 == 0 {
		med = (s[m-1] + s[m]) / 2
	}
	return med, s[0], s[len(s)-1]
}

func cmp(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

var _ io.Closer = (*libTarget)(nil)

// storeStat reports the store calls of the run and, on Redis, its CPU per
// person beside the no-op script's.
func (t *libTarget) storeStat(ctx context.Context, people int) *storeStat {
	st := &storeStat{Calls: map[string]int64{}}
	for i, name := range storeOpNames {
		n := t.count.calls[i].Load()
		st.Calls[name] = n
		st.CallsTotal += n
	}
	if people > 0 {
		st.CallsPerPerson = float64(st.CallsTotal) / float64(people)
	}
	st.StatusPolls = t.count.polls.Load()
	st.StatusStoreCalls = t.count.pollCalls.Load()
	// Redis's CPU over the run, counted from the end of the no-op's
	// first samples (the store block's no-op unit and floor_ratio come
	// once the no-op has been sampled after the run too; see simulate).
	if t.rdb != nil && t.noopKey != "" && people > 0 {
		if use, err := redisUsage(ctx, t.rdb, "cpu", "persistence"); err == nil {
			d := use.minus(t.useStart)
			st.RedisCPUUSPerPerson = d.main / float64(people)
			if d.main > 0 {
				// Not after a restart, which set the counters back to zero.
				st.RedisOtherCPUSeconds = max(0, d.process-d.main) / 1e6
				st.RedisChildrenCPUSeconds = max(0, d.children) / 1e6
				st.AOFRewrites = max(0, d.rewrites)
			}
		}
	}
	return st
}
