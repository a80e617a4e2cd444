package admission

import (
	"container/heap"
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// NewMemoryStore returns a [Store] that keeps every room in this process's
// memory: for a single server, for tests and for examples. Its admission
// arithmetic is golang.org/x/time/rate's token bucket driven with explicit
// times (TokensAt and AllowN at the caller's now), the same arithmetic the
// Redis store runs in Lua, so both admit the same people at the same
// instants. Nothing survives the process.
func NewMemoryStore() Store {
	return &memoryStore{rooms: make(map[string]*memRoom)}
}

type memoryStore struct {
	mu    sync.Mutex
	rooms map[string]*memRoom
}

var _ Store = (*memoryStore)(nil)

type memRoom struct {
	mu      sync.Mutex
	seed    Seed
	opening int64
	latest  int64 // latest now seen (ms)

	n, s uint64
	e    int64 // -1 until fixed

	limits   Limits
	changed  int64 // limits last changed (ms), 0 never
	supply   SupplyFigures
	lim      *rate.Limiter // from the opening on
	lineAt   int64         // the instant the line was brought to (ms)
	admitted uint64
	rseq     int64

	busy   bool  // someone was waiting right before r.lineAt
	mb, mc int64 // current drain window: busy ms, admissions
	pb, pc int64 // previous drain window

	ids       map[IdentityHash]*memRecord
	active    map[uint64]int64 // place -> lease deadline (ms)
	leases    leaseHeap
	returners []returner // ordered by seq
	returning map[uint64]bool
}

type returner struct {
	seq   int64
	place uint64
}

type memRecord struct {
	index     uint64
	place     int64 // -1 until known
	joined    int64
	claim     int64 // session deadline once claimed, 0 before
	admitted  int64
	done      bool
	returns   int64
	joinAhead int64
	joinC     int64
	joinB     int64
}

type lease struct {
	deadline int64
	place    uint64
}

type leaseHeap []lease

func (h leaseHeap) Len() int { return len(h) }
func (h leaseHeap) Less(i, j int) bool {
	if h[i].deadline != h[j].deadline {
		return h[i].deadline < h[j].deadline
	}
	return h[i].place < h[j].place
}
func (h leaseHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *leaseHeap) Push(x any)   { *h = append(*h, x.(lease)) }
func (h *leaseHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// begin starts a call: it refuses a done context, returns room locked
// (the caller unlocks it), and brings its line to now, returned in ms.
func (m *memoryStore) begin(ctx context.Context, room string, p Params, now time.Time) (*memRoom, int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	r, err := m.room(room, p)
	if err != nil {
		return nil, 0, err
	}
	t := r.clamp(now)
	r.prep(t)
	r.advance(t, p)
	return r, t, nil
}

func (m *memoryStore) room(room string, p Params) (*memRoom, error) {
	if err := validRoomName(room); err != nil {
		return nil, err
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	r := m.rooms[room]
	if r == nil {
		r = &memRoom{
			seed:      p.Seed,
			opening:   ms(p.Opening),
			e:         -1,
			limits:    p.limits(),
			ids:       make(map[IdentityHash]*memRecord),
			active:    make(map[uint64]int64),
			returning: make(map[uint64]bool),
		}
		m.rooms[room] = r
	}
	m.mu.Unlock()
	r.mu.Lock()
	if r.opening != ms(p.Opening) || r.seed != p.Seed {
		r.mu.Unlock()
		return nil, fmt.Errorf("%w: room %q was first called with another opening or seed", ErrMisconfigured, room)
	}
	return r, nil
}

// clamp applies the store's monotonic time rule and returns now in ms.
func (r *memRoom) clamp(now time.Time) int64 {
	t := ms(now)
	if t < r.latest {
		t = r.latest
	}
	r.latest = t
	return t
}

// prep fixes E at the first call at or after the opening; the line starts
// at the opening with a full bucket.
func (r *memRoom) prep(now int64) {
	if now < r.opening || r.e >= 0 {
		return
	}
	r.e = int64(r.n)
	r.lim = rate.NewLimiter(limitOf(r.limits.Rate), r.limits.Burst)
	r.lineAt = r.opening
}

// limitOf is the limiter's rate for rate people per minute; the Redis
// script computes the same float64 (rate / 60).
func limitOf(perMinute int) rate.Limit { return rate.Limit(float64(perMinute) / 60) }

func (r *memRoom) setLease(place uint64, deadline int64) {
	r.active[place] = deadline
	heap.Push(&r.leases, lease{deadline, place})
}

// expire ends the leases whose deadline is <= t.
func (r *memRoom) expire(t int64) {
	for len(r.leases) > 0 && r.leases[0].deadline <= t {
		l := heap.Pop(&r.leases).(lease)
		if d, ok := r.active[l.place]; ok && d == l.deadline {
			delete(r.active, l.place)
		}
	}
}

// nextLease returns the earliest live lease deadline, -1 if none.
func (r *memRoom) nextLease() int64 {
	for len(r.leases) > 0 {
		l := r.leases[0]
		if d, ok := r.active[l.place]; ok && d == l.deadline {
			return l.deadline
		}
		heap.Pop(&r.leases) // stale: freed by Done or superseded by a claim
	}
	return -1
}

// tokensAt is the bucket's tokens at t (ms).
func (r *memRoom) tokensAt(t int64) float64 { return r.lim.TokensAt(time.UnixMilli(t)) }

// nextToken returns the first instant after t (ms) at which the bucket
// holds a whole token; the Redis script searches the same way.
func (r *memRoom) nextToken(t int64) int64 {
	d := int64(math.Ceil((1 - r.tokensAt(t)) / float64(r.lim.Limit()) * 1000))
	c := t + max(d, 1)
	for r.tokensAt(c) < 1 {
		c++
	}
	for c-1 > t && r.tokensAt(c-1) >= 1 {
		c--
	}
	return c
}

func (r *memRoom) waiting() int64 { return int64(len(r.returners)) + int64(r.n-r.s) }

// advance brings the line from r.lineAt to now (see the Store contract: the
// result is the same as a call at every millisecond in between).
func (r *memRoom) advance(now int64, p Params) {
	if r.e < 0 || now < r.lineAt {
		return
	}
	t := r.lineAt
	for {
		r.expire(t)
		waiting := r.waiting()
		blocked := false
		if waiting > 0 {
			k := min(int64(math.Floor(r.tokensAt(t))), waiting)
			if r.limits.Cap > 0 {
				free := int64(r.limits.Cap) - int64(len(r.active))
				blocked = free <= k
				k = min(k, free)
			}
			if r.supply.Known {
				k = min(k, r.supply.Budget)
			}
			if k > 0 {
				r.admit(t, k, p)
				waiting -= k
			}
		}
		// With the supply budget spent the line stands still until the
		// next reading: nothing to wait for, and no busy time.
		stuck := r.supply.Known && r.supply.Budget <= 0
		next := int64(-1)
		if waiting > 0 && !stuck {
			if blocked {
				next = r.nextLease()
			} else {
				next = r.nextToken(t)
			}
		}
		end := now
		if next >= 0 && next < now {
			end = next
		}
		if waiting > 0 && !stuck {
			r.addBusy(end-t, p)
		}
		r.busy = waiting > 0 && !stuck
		if next < 0 || next > now {
			break
		}
		t = next
	}
	r.expire(now)
	r.lineAt = now
}

// admit admits k people at t: returners first, then places S, S+1, ...
func (r *memRoom) admit(t, k int64, p Params) {
	if !r.lim.AllowN(time.UnixMilli(t), int(k)) {
		panic("admission: memory store: limiter refused whole tokens it reported")
	}
	deadline := t + p.ClaimWindow.Milliseconds()
	left := k
	for left > 0 && len(r.returners) > 0 {
		x := r.returners[0]
		r.returners = r.returners[1:]
		delete(r.returning, x.place)
		r.setLease(x.place, deadline)
		left--
	}
	for ; left > 0; left-- {
		r.setLease(r.s, deadline)
		r.s++
	}
	r.admitted += uint64(k)
	if r.supply.Known {
		r.supply.Budget -= k
	}
	if r.busy {
		r.mc += k
	}
}

// addBusy adds d ms of busy time to the drain measurement, starting a new
// window each time the current one reaches the drain window.
func (r *memRoom) addBusy(d int64, p Params) {
	w := p.DrainWindow.Milliseconds()
	for d > 0 {
		take := min(d, w-r.mb)
		r.mb += take
		d -= take
		if r.mb >= w {
			r.pb, r.pc, r.mb, r.mc = r.mb, r.mc, 0, 0
		}
	}
}

func (r *memRoom) line() Line {
	l := Line{
		Opened:    r.e >= 0,
		Joined:    r.n,
		Early:     r.e,
		Serving:   r.s,
		Active:    int64(len(r.active)),
		Returning: int64(len(r.returners)),
		Admitted:  r.admitted,
		Drain:     r.drain(),
		Limits:    r.limits,

		LimitsChanged: fromMS(r.changed),
		Supply:        r.supply,
	}
	return l
}

func (r *memRoom) drain() Drain {
	if r.pb <= 0 {
		return Drain{}
	}
	return Drain{Admissions: r.pc + r.mc, Over: time.Duration(r.pb+r.mb) * time.Millisecond}
}

func (r *memRoom) rank(place uint64) int64 {
	for i, x := range r.returners {
		if x.place == place {
			return int64(i)
		}
	}
	return -1
}

func (r *memRoom) removeReturner(place uint64) {
	if !r.returning[place] {
		return
	}
	delete(r.returning, place)
	i := r.rank(place)
	r.returners = append(r.returners[:i:i], r.returners[i+1:]...)
}

// resolve fixes rec's place once E is known (the memory store computes the
// shuffle itself).
func (r *memRoom) resolve(rec *memRecord, p Params) {
	if rec.place >= 0 || r.e < 0 {
		return
	}
	rec.place = int64(place(p.Seed, uint64(r.e), rec.index))
}

func (m *memoryStore) Join(ctx context.Context, now time.Time, room string, p Params, id IdentityHash) (Record, error) {
	r, t, err := m.begin(ctx, room, p, now)
	if err != nil {
		return Record{}, err
	}
	defer r.mu.Unlock()
	rec := r.ids[id]
	isNew := rec == nil
	if isNew {
		rec = &memRecord{index: r.n, place: -1, joined: t, joinAhead: -1}
		r.n++
		r.ids[id] = rec
		r.advance(t, p) // the newcomer may enter at once
	}
	// Join places later arrivals only; an early arrival's place is fixed
	// by the first Status, as a Redis store must.
	if rec.place < 0 && r.e >= 0 && rec.index >= uint64(r.e) {
		rec.place = int64(rec.index)
	}
	out := r.record(rec)
	switch {
	case rec.done:
		out.State = StateDone
	case rec.claim != 0:
		out.State = StateAdmitted
		if t >= rec.claim {
			out.State = StateExpired
		}
	default:
		out.State, out.Ahead = StateWaiting, -1
		if rec.place >= 0 && uint64(rec.place) >= r.s {
			out.Ahead = int64(len(r.returners)) + int64(uint64(rec.place)-r.s)
		}
	}
	// For calibration: what someone who has to wait is shown at join.
	if isNew && out.Ahead >= 0 {
		d := r.drain()
		rec.joinAhead, rec.joinC, rec.joinB = out.Ahead, d.Admissions, d.Over.Milliseconds()
		out.JoinAhead, out.JoinDrain = rec.joinAhead, d
	}
	// Called, with the lease live: claim, as Status would.
	if out.State == StateWaiting && r.e >= 0 && rec.place >= 0 && uint64(rec.place) < r.s {
		if _, ok := r.active[uint64(rec.place)]; ok {
			out = r.evaluate(rec, t, p)
		}
	}
	return out, nil
}

// person starts a call about someone who joined: it returns the room
// locked (the caller unlocks it), the line brought to now, and the record
// with its place fixed once E is.
func (m *memoryStore) person(ctx context.Context, room string, p Params, id IdentityHash, now time.Time) (*memRoom, *memRecord, int64, error) {
	r, t, err := m.begin(ctx, room, p, now)
	if err != nil {
		return nil, nil, 0, err
	}
	rec := r.ids[id]
	if rec == nil {
		r.mu.Unlock()
		return nil, nil, 0, ErrNotJoined
	}
	r.resolve(rec, p)
	return r, rec, t, nil
}

func (m *memoryStore) Status(ctx context.Context, now time.Time, room string, p Params, id IdentityHash, _ PlaceHint) (Record, error) {
	r, rec, t, err := m.person(ctx, room, p, id, now)
	if err != nil {
		return Record{}, err
	}
	defer r.mu.Unlock()
	// Called while away: back to the head of the line.
	if r.e >= 0 && !rec.done && rec.claim == 0 && uint64(rec.place) < r.s {
		if _, ok := r.active[uint64(rec.place)]; !ok && !r.returning[uint64(rec.place)] {
			r.rseq++
			r.returners = append(r.returners, returner{r.rseq, uint64(rec.place)})
			r.returning[uint64(rec.place)] = true
			rec.returns++
			r.advance(t, p)
		}
	}
	return r.evaluate(rec, t, p), nil
}

// evaluate reports rec's standing after the line moved, claiming an
// admitted place.
func (r *memRoom) evaluate(rec *memRecord, now int64, p Params) Record {
	out := r.record(rec)
	switch {
	case r.e < 0:
		out.State, out.Ahead = StateWaiting, -1
	case rec.done:
		out.State = StateDone
	case rec.claim != 0:
		if now < rec.claim {
			out.State = StateAdmitted
		} else {
			out.State = StateExpired
		}
	case uint64(rec.place) < r.s:
		if d, ok := r.active[uint64(rec.place)]; ok {
			rec.claim = now + p.SessionTTL.Milliseconds()
			rec.admitted = d - p.ClaimWindow.Milliseconds()
			r.setLease(uint64(rec.place), rec.claim)
			out = r.record(rec)
			out.State, out.Claimed = StateAdmitted, true
		} else {
			out.State, out.Returning, out.Ahead = StateWaiting, true, r.rank(uint64(rec.place))
		}
	default:
		out.State = StateWaiting
		out.Ahead = int64(len(r.returners)) + int64(uint64(rec.place)-r.s)
	}
	return out
}

func (r *memRoom) record(rec *memRecord) Record {
	return Record{
		Index:     rec.index,
		Joined:    fromMS(rec.joined),
		Early:     r.e < 0 || rec.index < uint64(r.e),
		Place:     rec.place,
		Returns:   rec.returns,
		Admitted:  fromMS(rec.admitted),
		Deadline:  fromMS(rec.claim),
		JoinAhead: rec.joinAhead,
		JoinDrain: Drain{Admissions: rec.joinC, Over: time.Duration(rec.joinB) * time.Millisecond},
		Line:      r.line(),
	}
}

func (m *memoryStore) Done(ctx context.Context, now time.Time, room string, p Params, id IdentityHash) (Record, error) {
	r, rec, t, err := m.person(ctx, room, p, id, now)
	if err != nil {
		return Record{}, err
	}
	defer r.mu.Unlock()
	if !rec.done {
		rec.done = true
		if rec.place >= 0 {
			pl := uint64(rec.place)
			delete(r.active, pl) // the heap entry, if any, goes stale
			r.removeReturner(pl)
			r.advance(t, p) // the freed place may let the next one in now
		}
	}
	out := r.record(rec)
	out.State = StateDone
	return out, nil
}

func (m *memoryStore) Advance(ctx context.Context, now time.Time, room string, p Params) (Line, error) {
	r, _, err := m.begin(ctx, room, p, now)
	if err != nil {
		return Line{}, err
	}
	defer r.mu.Unlock()
	return r.line(), nil
}

func (m *memoryStore) SetLimits(ctx context.Context, now time.Time, room string, p Params, l Limits) (Line, error) {
	return m.setLimits(ctx, now, room, p, l, -1)
}

func (m *memoryStore) AdjustLimits(ctx context.Context, now time.Time, room string, p Params, l Limits, since time.Time) (Line, error) {
	return m.setLimits(ctx, now, room, p, l, ms(since))
}

// setLimits changes the limits at now, if since < 0 or they were last
// changed before since (ms).
func (m *memoryStore) setLimits(ctx context.Context, now time.Time, room string, p Params, l Limits, since int64) (Line, error) {
	if err := l.Validate(); err != nil {
		return Line{}, err
	}
	r, t, err := m.begin(ctx, room, p, now)
	if err != nil {
		return Line{}, err
	}
	defer r.mu.Unlock()
	if since >= 0 && r.changed >= since {
		return r.line(), nil
	}
	r.changed = t
	if r.lim != nil {
		at := time.UnixMilli(t)
		r.lim.SetLimitAt(at, limitOf(l.Rate))
		r.lim.SetBurstAt(at, l.Burst)
	}
	r.limits = l
	r.advance(t, p)
	return r.line(), nil
}

func (m *memoryStore) SetSupply(ctx context.Context, now time.Time, room string, p Params, pl Places, allowance int64) (Line, error) {
	if err := pl.validate(allowance); err != nil {
		return Line{}, err
	}
	r, t, err := m.begin(ctx, room, p, now)
	if err != nil {
		return Line{}, err
	}
	defer r.mu.Unlock()
	r.supply = SupplyFigures{Known: true, Free: pl.Free, Held: pl.Held, Budget: max(0, allowance-int64(len(r.active)))}
	r.advance(t, p)
	return r.line(), nil
}
