package admission

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// Room is the waiting room of one opening. It keeps no state of its own
// besides its options: the line lives in the [Store], so any number of
// Room values (on any number of servers) built with the same options over
// one store serve the same line, and together admit at most Options.Rate
// people per minute. A Room is safe for concurrent use.
type Room struct {
	o          Options
	p          Params
	store      Store
	commitment string

	samples, inside atomic.Int64
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
	return HashIdentity(r.o.IdentityKey, identity)
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
// stores only its keyed hash. Join then reports the person's status as
// [Room.Status] does.
func (r *Room) Join(ctx context.Context, identity string) (Status, error) {
	return r.visit(ctx, OpJoin, identity)
}

// Status reports identity's standing and moves the line. Once the person
// is admitted it claims the place (the session lasts Options.SessionTTL
// from the first such call) and returns the pass. A person called while
// away, who comes back after the claim window, is put at the head of the
// line. Status returns [ErrNotJoined] for someone who never joined, and
// wraps [ErrUnavailable] when the store cannot be asked.
func (r *Room) Status(ctx context.Context, identity string) (Status, error) {
	return r.visit(ctx, OpStatus, identity)
}

// Done ends identity's session after booking (or leaves the line): the
// active place is freed at once for the next person. The pass already
// handed out stays valid until its expiry (verification needs no store),
// so the booking layer must itself allow one booking per person. Done is
// idempotent; afterwards the state is done.
func (r *Room) Done(ctx context.Context, identity string) (Status, error) {
	return r.visit(ctx, OpDone, identity)
}

func (r *Room) visit(ctx context.Context, op Op, identity string) (Status, error) {
	if identity == "" {
		return Status{}, ErrNoIdentity
	}
	h := r.Hash(identity)
	now := r.o.Clock.Now()
	var (
		rec Record
		err error
	)
	switch op {
	case OpJoin:
		rec, err = r.store.Join(ctx, r.o.Name, r.p, h, now)
	case OpStatus:
		rec, err = r.store.Status(ctx, r.o.Name, r.p, h, now)
	default:
		rec, err = r.store.Done(ctx, r.o.Name, r.p, h, now)
	}
	ev := Event{Op: op, Room: r.o.Name, Duration: r.o.Clock.Now().Sub(now)} // on the injected clock
	var st Status
	if err != nil {
		err = r.storeError(op, h, err)
	} else {
		st, err = r.status(rec, h, now)
		if err == nil && rec.Claimed {
			ev.Claimed = true
			ev.Wait = rec.Admitted.Sub(rec.Joined)
			if rec.Returns == 0 {
				ev.JoinETA = r.estimate(rec.JoinAhead, rec.JoinDrain)
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
	}
	ev.Err, ev.State = err, st.State
	if r.o.Observer != nil {
		r.o.Observer(ev)
	}
	if err != nil {
		return Status{}, err
	}
	return st, nil
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

// estimate is the room's ETA for ahead people before someone.
func (r *Room) estimate(ahead int64, d Drain) ETA {
	return estimate(ahead, d, r.o.Rate, r.o.Burst)
}

// status turns a store record into the person's Status, signing the pass
// when admitted.
func (r *Room) status(rec Record, h IdentityHash, now time.Time) (Status, error) {
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
		st.ETA = r.estimate(rec.Ahead, rec.Line.Drain)
		st.PollAfter = r.pollAfter(st, now)
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
// 30s), so that nobody polling as told misses a call; sooner for returners
// and right before the opening.
func (r *Room) pollAfter(st Status, now time.Time) time.Duration {
	hi := min(30*time.Second, r.o.ClaimWindow/4)
	lo := min(time.Second, hi)
	var d time.Duration
	switch {
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

// Stats moves the line and returns the room's figures for an operator
// console. It wraps [ErrUnavailable] when the store cannot be asked.
func (r *Room) Stats(ctx context.Context) (Stats, error) {
	now := r.o.Clock.Now()
	line, err := r.store.Advance(ctx, r.o.Name, r.p, now)
	ev := Event{Op: OpStats, Room: r.o.Name, Duration: r.o.Clock.Now().Sub(now)}
	if err != nil {
		err = r.storeError(OpStats, IdentityHash{}, err)
	}
	ev.Err = err
	if r.o.Observer != nil {
		r.o.Observer(ev)
	}
	if err != nil {
		return Stats{}, err
	}
	return Stats{
		Room:        r.o.Name,
		Opening:     r.o.Opening,
		Line:        line,
		Calibration: Calibration{Samples: r.samples.Load(), Inside: r.inside.Load()},
	}, nil
}

// Verify checks that token is a valid pass of this room for identity at
// now. It needs no store: protected routes keep working while the store
// is down, for people already admitted. Failures wrap [ErrInvalidPass]
// (and [ErrPassExpired] for an expired pass).
func (r *Room) Verify(token, identity string, now time.Time) error {
	if identity == "" {
		return fmt.Errorf("%w: no identity", ErrInvalidPass)
	}
	return r.o.Keyring.Verify(token, r.o.Name, r.Hash(identity), now)
}
