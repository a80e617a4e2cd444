package admission

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Room is the waiting room of one opening. The line lives in the
// [Store], so any number of Room values (on any number of servers) built
// with the same options over one store serve the same line, and together
// admit at most the room's rate. Each Room keeps a snapshot of the line's
// public figures, refreshed lazily at most every Options.RefreshInterval,
// from which it answers a waiting person's poll ([Room.Poll]) without
// asking the store. A Room is safe for concurrent use.
type Room struct {
	o          Options
	p          Params
	store      Store
	commitment string
	idPads     passPads // of Options.IdentityKey

	snap    atomic.Pointer[snapshot]
	refresh sync.Mutex   // single flight of snapshot refreshes
	tried   atomic.Int64 // Unix ms of the latest failed refresh
	readAt  atomic.Int64 // Unix ms of the latest refresh (supply read, pacer asked)

	samples, inside atomic.Int64
	eta             etaSampler // the line's recent figures, for the ETA
}

// snapshot is the line's figures as a store reported them at an instant
// of the room's clock.
type snapshot struct {
	line    Line
	at      time.Time
	shuffle Shuffle // of E, once opened
}

// NewRoom returns the room described by opts, its line kept in store.
// Invalid options are an error naming the field.
func NewRoom(store Store, opts Options) (*Room, error) {
	if store == nil {
		return nil, errors.New("admission: NewRoom: nil store")
	}
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	r := &Room{
		o:     o,
		store: store,
		p: Params{
			Opening:     o.Opening,
			Rate:        o.Rate,
			Burst:       o.Burst,
			Cap:         o.Cap,
			ClaimWindow: o.ClaimWindow,
			SessionTTL:  o.SessionTTL,
			DrainWindow: o.DrainWindow,
			Seed:        o.Seed,
		},
		commitment: o.Seed.Commitment(),
	}
	r.idPads.init(o.IdentityKey)
	return r, nil
}

// Name returns the room's name.
func (r *Room) Name() string { return r.o.Name }

// Opening returns the room's opening instant.
func (r *Room) Opening() time.Time { return r.o.Opening }

// Params returns the settings the room passes to its store.
func (r *Room) Params() Params { return r.p }

// Hash returns the keyed hash of identity that the room stores and binds
// passes to: what to log instead of the identity ([IdentityHash.Short]).
func (r *Room) Hash(identity string) IdentityHash {
	return r.idPads.hashIdentity(r.o.IdentityKey, identity)
}

// SeedCommitment returns the commitment to the shuffle's seed: publish it
// before the opening, so that nobody can later claim the seed was chosen
// after the early arrivals were known.
func (r *Room) SeedCommitment() string { return r.commitment }

// Seed returns the shuffle's seed and true at or after the opening, and
// false before it: until the opening it is a secret, since knowing it
// would tell which arrival indices land at the front.
func (r *Room) Seed(now time.Time) (Seed, bool) {
	if now.Before(r.o.Opening) {
		return Seed{}, false
	}
	return r.o.Seed, true
}

// Join puts identity in the line, or finds it there: joining again, from
// any device or instance, returns the same place. identity is whatever
// the host application authenticates (user id, account number); the room
// stores only its keyed hash. Join is one store call, which also claims
// the place when it is called already (a newcomer at a line with nobody
// ahead gets the pass from Join); a second call claims only for an early
// arrival whose place the store does not know yet, or someone called
// while away. It returns the person's status: with a signed place ticket
// (Status.Ticket) for [Room.Poll] while waiting, with the pass once
// admitted.
func (r *Room) Join(ctx context.Context, identity string) (Status, error) {
	if identity == "" {
		return Status{}, ErrNoIdentity
	}
	h := r.Hash(identity)
	now := r.o.Clock.Now()
	if r.o.Supply != nil {
		// Sold out: say so at once, without taking a place.
		if s, err := r.snapshot(ctx, now); err == nil && s.line.Supply.SoldOut() {
			st := Status{Room: r.o.Name, State: StateSoldOut, Place: -1, Ahead: -1, Opening: r.o.Opening}
			st.PollAfter = r.pollAfter(st, now, s.line.Supply)
			r.event(Event{Op: OpJoin, Room: r.o.Name, State: StateSoldOut})
			return st, nil
		}
	}
	rec, err := r.store.Join(ctx, now, r.o.Name, r.p, h)
	ev := Event{Op: OpJoin, Room: r.o.Name, Duration: r.o.Clock.Now().Sub(now)}
	if err != nil {
		ev.Err = r.storeError(OpJoin, h, err)
		r.event(ev)
		return Status{}, ev.Err
	}
	r.observe(rec.Line, now)
	if rec.Claimed {
		// Called at once, and claimed by the join itself.
		return r.answer(ev, rec, identity, h, now)
	}
	r.event(ev)
	if rec.State == StateWaiting && rec.Line.Opened {
		pl := rec.Place
		if pl < 0 {
			pl = int64(place(r.o.Seed, uint64(rec.Line.Early), rec.Index))
		}
		if uint64(pl) < rec.Line.Serving {
			// Already called: claim now.
			return r.claim(ctx, identity, h, rec.Index, pl, rec.Line)
		}
		rec.Place, rec.Ahead = pl, rec.Line.Returning+int64(uint64(pl)-rec.Line.Serving)
	}
	return r.status(rec, identity, h, now)
}

// Status reports identity's standing, asking the store: for a person
// without a ticket (a new device, a lost cookie). It moves the line; once
// the person is admitted it claims the place (the session lasts
// Options.SessionTTL from the first such call) and returns the pass. A
// person called while away, who comes back after the claim window, is put
// at the head of the line. The status carries a fresh place ticket.
// Status returns [ErrNotJoined] for someone who never joined, and wraps
// [ErrUnavailable] when the store cannot be asked.
func (r *Room) Status(ctx context.Context, identity string) (Status, error) {
	if identity == "" {
		return Status{}, ErrNoIdentity
	}
	return r.claim(ctx, identity, r.Hash(identity), 0, -1, Line{})
}

// Poll reports identity's standing from its place ticket (see
// [Status.Ticket]) and the room's snapshot: while the ticket's place is
// not yet called it asks the store nothing (the snapshot is refreshed at
// most every Options.RefreshInterval, by one caller at a time). The call
// that finds the place called asks the store, which claims it and signs
// the pass ([Room.Status]); so does a poll whose ticket is missing or
// refused (forged, expired, of another room or identity), which then gets
// a new ticket for the same place. A snapshot older than Options.StaleAfter
// that cannot be refreshed is an outage: [ErrUnavailable], nobody
// admitted.
func (r *Room) Poll(ctx context.Context, identity, ticket string) (Status, error) {
	if identity == "" {
		return Status{}, ErrNoIdentity
	}
	now := r.o.Clock.Now()
	h, idx, pl, joined, err := r.checkTicket(now, identity, ticket)
	if err != nil {
		return r.claim(ctx, identity, h, 0, -1, Line{})
	}
	return r.fromTicket(ctx, now, identity, h, ticket, idx, pl, joined)
}

// Rejoin is Join for a device that holds a place ticket: a page reloaded,
// a join sent again after the connection dropped (a reconnect storm), an
// API client that kept [Status.Ticket]. With a valid ticket of this room
// and identity it answers as [Room.Poll] does, from the ticket and the
// room's snapshot, asking the store nothing while the place is not yet
// called (and, once it is, one call that claims it, where Join takes
// two). With no ticket, or one refused (forged, expired, of another room
// or identity, a pass), it is [Room.Join]. The place is the same either
// way: joining again never moves anyone.
//
// A ticket cannot be recalled: a person who left the line ([Room.Done])
// and rejoins with an old ticket is told "done" once the place is
// reached, as Poll does, where Join says so at once. A rejoin answered
// from the ticket is observed as [OpPoll], one that asks the store as
// [OpJoin] or [OpStatus]. [Room.Handler]'s join endpoint calls Rejoin
// with the ticket the request carries ([Room.TicketOf]).
func (r *Room) Rejoin(ctx context.Context, identity, ticket string) (Status, error) {
	if identity == "" {
		return Status{}, ErrNoIdentity
	}
	if ticket == "" {
		return r.Join(ctx, identity)
	}
	now := r.o.Clock.Now()
	h, idx, pl, joined, err := r.checkTicket(now, identity, ticket)
	if err != nil {
		return r.Join(ctx, identity)
	}
	return r.fromTicket(ctx, now, identity, h, ticket, idx, pl, joined)
}

// checkTicket checks ticket, of either version, for identity and returns
// the identity's hash with what the ticket gives. A version 2 ticket
// carries the hash, bound to identity by its MAC, so a poll with one
// computes no keyed hash; a version 1 ticket is checked against the hash
// computed here, as is an invalid ticket's holder (h is right whatever
// err says).
func (r *Room) checkTicket(now time.Time, identity, ticket string) (h IdentityHash, idx uint64, pl int64, joined time.Time, err error) {
	if strings.HasPrefix(ticket, ticketPrefix2) {
		if idx, pl, joined, h, err = r.o.Keyring.VerifyTicketFor(now, ticket, r.o.Name, identity); err == nil {
			return h, idx, pl, joined, nil
		}
		return r.Hash(identity), 0, 0, time.Time{}, err
	}
	h = r.Hash(identity)
	idx, pl, joined, err = r.o.Keyring.VerifyTicket(now, ticket, r.o.Name, h)
	return h, idx, pl, joined, err
}

// fromTicket answers identity (hash h), whose valid ticket gives index
// idx, place pl (-1: not yet known) and joined: from the snapshot while
// the place is not called, else by claiming it in the store.
func (r *Room) fromTicket(ctx context.Context, now time.Time, identity string, h IdentityHash, ticket string, idx uint64, pl int64, joined time.Time) (Status, error) {
	snap, err := r.snapshot(ctx, now)
	if err != nil {
		r.event(Event{Op: OpPoll, Room: r.o.Name, Err: err})
		return Status{}, err
	}
	l := &snap.line
	st := Status{
		Room: r.o.Name, State: StateWaiting, Index: idx, Place: -1, Ahead: -1,
		Opening: r.o.Opening, Joined: joined, Ticket: ticket,
		Early: !l.Opened || idx < uint64(l.Early),
	}
	if l.Opened {
		if pl < 0 {
			pl = int64(idx)
			if idx < uint64(l.Early) {
				pl = int64(snap.shuffle.Place(idx))
			}
			if st.Ticket, err = r.ticket(identity, h, idx, pl, joined, now); err != nil {
				return Status{}, err
			}
		}
		if uint64(pl) < l.Serving {
			return r.claim(ctx, identity, h, idx, pl, *l)
		}
		st.Place, st.Ahead = pl, l.Returning+int64(uint64(pl)-l.Serving)
		st.ETA = r.estimate(st.Ahead, l).since(now.Sub(snap.at))
	}
	if l.Supply.SoldOut() {
		st.State, st.ETA = StateSoldOut, ETA{}
	}
	st.PollAfter = r.pollAfter(st, now, l.Supply)
	r.event(Event{Op: OpPoll, Room: r.o.Name, State: st.State})
	return st, nil
}

// claim asks the store for the person's standing, claiming the place if
// called; idx and pl are its index and place when known (pl >= 0), l the
// figures they were computed with.
func (r *Room) claim(ctx context.Context, identity string, h IdentityHash, idx uint64, pl int64, l Line) (Status, error) {
	now := r.o.Clock.Now()
	if r.o.Supply != nil {
		// Read the supply first when due, so that the store's answer
		// carries it (a failure leaves the store's previous reading).
		_, _ = r.snapshot(ctx, now)
	}
	var hint PlaceHint
	if pl >= 0 && l.Opened {
		hint = PlaceHint{Known: true, Index: idx, Early: uint64(l.Early), Place: uint64(pl)}
	}
	rec, err := r.store.Status(ctx, now, r.o.Name, r.p, h, hint)
	ev := Event{Op: OpStatus, Room: r.o.Name, Duration: r.o.Clock.Now().Sub(now)}
	if err != nil {
		ev.Err = r.storeError(OpStatus, h, err)
		r.event(ev)
		return Status{}, ev.Err
	}
	r.observe(rec.Line, now)
	return r.answer(ev, rec, identity, h, now)
}

// answer makes the status of rec, the answer of the store call ev reports
// (a join or a status), and reports ev, with the claim's figures when
// that call claimed the place.
func (r *Room) answer(ev Event, rec Record, identity string, h IdentityHash, now time.Time) (Status, error) {
	st, err := r.status(rec, identity, h, now)
	ev.Err, ev.State = err, st.State
	if err == nil && rec.Claimed {
		ev.Claimed = true
		ev.Wait = rec.Admitted.Sub(rec.Joined)
		if rec.Returns == 0 {
			ev.JoinETA = r.joinEstimate(rec.JoinAhead, rec.JoinDrain, rec.Line.Limits)
		}
		if ev.JoinETA.Known {
			r.samples.Add(1)
			if ev.JoinETA.Contains(ev.Wait) {
				r.inside.Add(1)
			}
		}
		r.o.Logger.Debug("admission: place claimed", "room", r.o.Name, "id", h.Short(),
			"place", rec.Place, "wait", ev.Wait, "pass_expires", rec.Deadline)
	}
	r.event(ev)
	if err != nil {
		return Status{}, err
	}
	return st, nil
}

// Done ends identity's session after booking (or leaves the line): the
// active place is freed at once for the next person. The pass already
// handed out stays valid until its expiry (verification needs no store),
// so the booking layer must itself allow one booking per person. Done is
// idempotent; afterwards the state is done. A place ticket cannot be
// recalled: a person who leaves while waiting and polls with the ticket
// is told "done" once the place is reached.
func (r *Room) Done(ctx context.Context, identity string) (Status, error) {
	if identity == "" {
		return Status{}, ErrNoIdentity
	}
	h := r.Hash(identity)
	now := r.o.Clock.Now()
	rec, err := r.store.Done(ctx, now, r.o.Name, r.p, h)
	ev := Event{Op: OpDone, Room: r.o.Name, Duration: r.o.Clock.Now().Sub(now)}
	if err != nil {
		ev.Err = r.storeError(OpDone, h, err)
		r.event(ev)
		return Status{}, ev.Err
	}
	r.observe(rec.Line, now)
	st, err := r.status(rec, identity, h, now)
	ev.Err, ev.State = err, st.State
	r.event(ev)
	return st, err
}

// SetLimits changes the room's rate, burst and cap, for every instance
// sharing the store: the old rate applies up to now, the new one after
// (as x/time/rate's SetLimitAt). Other instances apply it from their next
// snapshot refresh on (the store applies it at once). Invalid limits are
// an error and change nothing.
func (r *Room) SetLimits(ctx context.Context, l Limits) (Stats, error) {
	if err := l.Validate(); err != nil {
		return Stats{}, err
	}
	now := r.o.Clock.Now()
	line, err := r.store.SetLimits(ctx, now, r.o.Name, r.p, l)
	if err != nil {
		err = r.storeError(OpLimits, IdentityHash{}, err)
	}
	r.event(Event{Op: OpLimits, Room: r.o.Name, Duration: r.o.Clock.Now().Sub(now), Err: err})
	if err != nil {
		return Stats{}, err
	}
	r.o.Logger.Info("admission: limits changed", "room", r.o.Name, "rate", l.Rate, "burst", l.Burst, "cap", l.Cap)
	r.observe(line, now)
	return r.stats(line), nil
}

func (r *Room) event(ev Event) {
	if r.o.Observer != nil {
		r.o.Observer(ev)
	}
}

// observe keeps line, read from the store at now, as the room's snapshot
// unless a newer one is there.
func (r *Room) observe(line Line, now time.Time) {
	r.eta.add(now, line, r.p.DrainWindow)
	old := r.snap.Load()
	if old != nil && old.at.After(now) {
		return
	}
	s := &snapshot{line: line, at: now}
	if old != nil && old.line.Opened && old.line.Early == line.Early {
		s.shuffle = old.shuffle
	} else if line.Opened {
		s.shuffle = NewShuffle(r.o.Seed, uint64(line.Early))
	}
	r.snap.Store(s)
}

// refreshEvery is the snapshot's refresh interval under limits l: at most
// Options.RefreshInterval, and never more than Burst/Rate.
func (r *Room) refreshEvery(l Limits) time.Duration {
	d := r.o.RefreshInterval
	if l.Rate > 0 && l.Burst > 0 {
		d = min(d, time.Duration(l.Burst)*time.Minute/time.Duration(l.Rate))
	}
	return max(d, time.Millisecond)
}

// snapshot returns the room's snapshot at now, refreshing it (one caller
// at a time, the others keep the current one meanwhile) when it is older
// than the refresh interval. Past Options.StaleAfter without a successful
// refresh it is ErrUnavailable.
func (r *Room) snapshot(ctx context.Context, now time.Time) (*snapshot, error) {
	s := r.snap.Load()
	if s != nil && now.Sub(s.at) < r.refreshEvery(s.line.Limits) && r.readRecently(now, s.line.Limits) {
		return s, nil
	}
	usable := s != nil && now.Sub(s.at) < r.o.StaleAfter
	if r.refresh.TryLock() {
		defer r.refresh.Unlock()
		if s2 := r.snap.Load(); s2 != s && s2 != nil && r.readRecently(now, s2.line.Limits) {
			return s2, nil
		}
		// After a failure, try again only a refresh interval later.
		if t := r.tried.Load(); usable && t != 0 && now.UnixMilli()-t < r.o.RefreshInterval.Milliseconds() {
			return s, nil
		}
		line, err := r.read(ctx, now)
		if err != nil {
			err = r.storeError(OpRefresh, IdentityHash{}, err)
		}
		r.event(Event{Op: OpRefresh, Room: r.o.Name, Duration: r.o.Clock.Now().Sub(now), Err: err})
		if err == nil {
			r.tried.Store(0)
			r.observe(line, now)
			return r.snap.Load(), nil
		}
		r.tried.Store(now.UnixMilli())
		if usable {
			return s, nil
		}
		return nil, err
	}
	if usable {
		return s, nil
	}
	// Nothing usable: wait for the refresh in flight.
	r.refresh.Lock()
	s = r.snap.Load()
	r.refresh.Unlock()
	if s != nil && now.Sub(s.at) < r.o.StaleAfter {
		return s, nil
	}
	return nil, fmt.Errorf("%w: the room's snapshot is older than %v", ErrUnavailable, r.o.StaleAfter)
}

// readRecently reports whether the room's supply and pacer were asked
// within the refresh interval: other store calls keep the snapshot fresh,
// but only a refresh reads the supply and asks the pacer.
func (r *Room) readRecently(now time.Time, l Limits) bool {
	if r.o.Supply == nil && r.o.Pacer == nil {
		return true
	}
	return now.UnixMilli()-r.readAt.Load() < r.refreshEvery(l).Milliseconds()
}

// read brings the line to now and returns its figures: with a supply
// reading when the room has a Supply (the store keeps the previous
// budget if it cannot be read), then with the pacer's decision when the
// room has a Pacer.
func (r *Room) read(ctx context.Context, now time.Time) (Line, error) {
	var (
		line Line
		ok   bool
		err  error
	)
	if r.o.Supply != nil {
		line, ok, err = r.readSupply(ctx, now)
	}
	if !ok && err == nil {
		line, err = r.store.Advance(ctx, now, r.o.Name, r.p)
	}
	if err != nil {
		return Line{}, err
	}
	if r.o.Pacer != nil {
		// A failed rate change is logged and leaves the rate as it was.
		line, _ = r.pace(ctx, now, line)
	}
	r.readAt.Store(now.UnixMilli())
	return line, nil
}

// Line returns the room's public figures from its snapshot (refreshed as
// [Room.Poll] does): what the line endpoint of [Room.Handler] publishes.
func (r *Room) Line(ctx context.Context) (PublicLine, error) {
	now := r.o.Clock.Now()
	s, err := r.snapshot(ctx, now)
	if err != nil {
		return PublicLine{}, err
	}
	l := s.line
	pl := PublicLine{
		Room: r.o.Name, Opening: r.o.Opening, AsOf: s.at, Opened: l.Opened, Joined: l.Joined,
		Serving: l.Serving, Returning: l.Returning, Active: l.Active, Admitted: l.Admitted,
		Limits: l.Limits, SeedCommitment: r.commitment,
	}
	if l.Opened {
		e := l.Early
		pl.EarlyArrivals = &e
		pl.Seed = r.o.Seed.String()
	}
	if l.Drain.Known() {
		pl.DrainPerMinute = l.Drain.PerMinute()
	}
	if l.Supply.Known {
		pl.Supply = &PublicSupply{Free: l.Supply.Free, Held: l.Supply.Held, SoldOut: l.Supply.SoldOut()}
	}
	return pl, nil
}

// ticket signs a place ticket for identity, whose hash is h (version 2:
// [Keyring.SignTicketFor]).
func (r *Room) ticket(identity string, h IdentityHash, idx uint64, pl int64, joined, now time.Time) (string, error) {
	t, err := r.o.Keyring.SignTicketFor(Ticket{
		Room: r.o.Name, Identity: h, Index: idx, Place: pl,
		Joined: joined, Expires: now.Add(r.o.TicketTTL),
	}, identity)
	if err != nil {
		return "", fmt.Errorf("admission: sign ticket: %w", err)
	}
	return t, nil
}

// storeError makes sure every store failure but the documented ones wraps
// ErrUnavailable, so that nobody is ever admitted because of it.
func (r *Room) storeError(op Op, h IdentityHash, err error) error {
	switch {
	case errors.Is(err, ErrNotJoined):
		return err
	case errors.Is(err, ErrMisconfigured):
		r.o.Logger.Error("admission: room misconfigured", "room", r.o.Name, "op", string(op), "err", err)
		return err
	case !errors.Is(err, ErrUnavailable):
		err = fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	r.o.Logger.Warn("admission: store unavailable", "room", r.o.Name, "op", string(op), "id", h.Short(), "err", err)
	return err
}

// joinEstimate is the drain-only estimate for ahead people before
// someone, from the figures a store keeps of a person's join (the people
// ahead and the drain measured then), under the limits l in force (the
// room's own options if l is zero): what [Event.JoinETA] and
// [Stats.Calibration] judge. With a pacer, which may raise the rate
// meanwhile, the low end is what its maximum would allow.
func (r *Room) joinEstimate(ahead int64, d Drain, l Limits) ETA {
	if l.Rate <= 0 {
		l = r.p.limits()
	}
	e := estimate(ahead, d, l.Rate, l.Burst)
	if p := r.o.Pacer; p != nil && e.Known {
		if _, hi := p.bounds(l); float64(hi) > d.PerMinute() {
			if f := estimate(ahead, Drain{Admissions: int64(hi), Over: time.Minute}, hi, l.Burst); f.Min < e.Min {
				e.Min = f.Min
			}
		}
	}
	return e
}

// status turns a store record into the person's Status, signing the pass
// when admitted.
func (r *Room) status(rec Record, identity string, h IdentityHash, now time.Time) (Status, error) {
	st := Status{
		Room:      r.o.Name,
		State:     rec.State,
		Early:     rec.Early,
		Returning: rec.Returning,
		Index:     rec.Index,
		Place:     rec.Place,
		Ahead:     rec.Ahead,
		Opening:   r.o.Opening,
		Joined:    rec.Joined,
		Admitted:  rec.Admitted,
	}
	switch rec.State {
	case StateWaiting:
		st.ETA = r.estimate(rec.Ahead, &rec.Line)
		if rec.Line.Supply.SoldOut() {
			st.State, st.ETA = StateSoldOut, ETA{}
		}
		st.PollAfter = r.pollAfter(st, now, rec.Line.Supply)
		pl := rec.Place
		if !rec.Line.Opened {
			pl = -1
		}
		t, err := r.ticket(identity, h, rec.Index, pl, rec.Joined, now)
		if err != nil {
			return Status{}, err
		}
		st.Ticket = t
	case StateAdmitted:
		pass, err := r.o.Keyring.Sign(Pass{
			Room:     r.o.Name,
			Identity: h,
			Issued:   rec.Deadline.Add(-r.o.SessionTTL),
			Expires:  rec.Deadline,
		})
		if err != nil {
			return Status{}, fmt.Errorf("admission: sign pass: %w", err)
		}
		st.Pass, st.PassExpires = pass, rec.Deadline
	}
	return st, nil
}

// pollAfter suggests when a waiting person should ask again: a quarter of
// the shortest ETA, between 1s and a quarter of the claim window (at most
// 30s: [Room.MaxPollAfter]), so that nobody polling as told misses a
// call; sooner for returners and right before the opening. A person
// beyond the places left (as many people ahead as the supply budget and
// the live holds) polls at most every half of it, to hear "sold out"
// soon; a person told "sold out" polls at the longest interval, to hear
// if places come back.
func (r *Room) pollAfter(st Status, now time.Time, sup SupplyFigures) time.Duration {
	hi := r.MaxPollAfter()
	lo := min(time.Second, hi)
	var d time.Duration
	switch {
	case st.State == StateSoldOut:
		d = hi
	case sup.Known && st.Ahead >= sup.Budget+sup.Held:
		d = hi / 2
		if st.ETA.Known {
			d = min(d, st.ETA.Min/4)
		}
	case st.Returning:
		d = lo
	case st.Ahead < 0: // before the opening
		d = r.o.Opening.Sub(now)
	case st.ETA.Known:
		d = st.ETA.Min / 4
	default:
		d = 5 * time.Second
	}
	return max(lo, min(hi, d))
}

// MaxPollAfter is the longest Status.PollAfter the room suggests: a
// quarter of the claim window, at most 30s.
func (r *Room) MaxPollAfter() time.Duration { return min(30*time.Second, r.o.ClaimWindow/4) }

// Stats moves the line and returns the room's figures for an operator
// console (a store call; it refreshes the room's snapshot too). It wraps
// [ErrUnavailable] when the store cannot be asked.
func (r *Room) Stats(ctx context.Context) (Stats, error) {
	now := r.o.Clock.Now()
	line, err := r.read(ctx, now)
	if err != nil {
		err = r.storeError(OpStats, IdentityHash{}, err)
	}
	r.event(Event{Op: OpStats, Room: r.o.Name, Duration: r.o.Clock.Now().Sub(now), Err: err})
	if err != nil {
		return Stats{}, err
	}
	r.observe(line, now)
	return r.stats(line), nil
}

func (r *Room) stats(line Line) Stats {
	return Stats{
		Room:        r.o.Name,
		Opening:     r.o.Opening,
		Line:        line,
		Calibration: Calibration{Samples: r.samples.Load(), Inside: r.inside.Load()},
	}
}

// Verify checks that token is a valid pass of this room for identity at
// now. It needs no store: protected routes keep working while the store
// is down, for people already admitted. Failures wrap [ErrInvalidPass]
// (and [ErrPassExpired] for an expired pass).
func (r *Room) Verify(now time.Time, token, identity string) error {
	if identity == "" {
		return fmt.Errorf("%w: no identity", ErrInvalidPass)
	}
	return r.o.Keyring.Verify(now, token, r.o.Name, r.Hash(identity))
}
