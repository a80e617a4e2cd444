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

	lim      *rate.Limiter
	admitted uint64
	rseq     int64

	lastCall int64 // ms of the previous call at or after the opening
	busy     bool  // someone was waiting after the previous call
	mb, mc   int64 // current drain window: busy ms, admissions
	pb, pc   int64 // previous drain window

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
// (the caller unlocks it), and brings it to now, returned in ms.
func (m *memoryStore) begin(ctx context.Context, room string, p Params, now time.Time) (*memRoom, int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	r, err := m.room(room, p)
	if err != nil {
		return nil, 0, err
	}
	t := r.clamp(now)
	r.prep(t, p)
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

// prep fixes E at the first call at or after the opening and expires
// leases.
func (r *memRoom) prep(now int64, p Params) {
	if now < r.opening {
		return
	}
	if r.e < 0 {
		r.e = int64(r.n)
		r.lim = rate.NewLimiter(limitOf(p.Rate), p.Burst)
		r.lastCall = now
	}
	for len(r.leases) > 0 && r.leases[0].deadline <= now {
		l := heap.Pop(&r.leases).(lease)
		if d, ok := r.active[l.place]; ok && d == l.deadline {
			delete(r.active, l.place)
		}
	}
}

// limitOf is the limiter's rate for rate people per minute; the Redis
// store passes the same float64 to Lua.
func limitOf(perMinute int) rate.Limit { return rate.Limit(float64(perMinute) / 60) }

func (r *memRoom) setLease(place uint64, deadline int64) {
	r.active[place] = deadline
	heap.Push(&r.leases, lease{deadline, place})
}

// advance moves the line at now (see Store.Advance).
func (r *memRoom) advance(now int64, p Params) {
	if now < r.opening {
		return
	}
	if r.lim.Limit() != limitOf(p.Rate) || r.lim.Burst() != p.Burst {
		t := time.UnixMilli(now)
		r.lim.SetLimitAt(t, limitOf(p.Rate))
		r.lim.SetBurstAt(t, p.Burst)
	}
	t := time.UnixMilli(now)
	waiting := int64(len(r.returners)) + int64(r.n-r.s)
	k := int64(math.Floor(r.lim.TokensAt(t)))
	k = min(k, waiting)
	if p.Cap > 0 {
		k = min(k, int64(p.Cap)-int64(len(r.active)))
	}
	k = max(k, 0)
	// AllowN with k = 0 still moves the limiter's clock, as the Lua does.
	if !r.lim.AllowN(t, int(k)) {
		panic("admission: memory store: limiter refused whole tokens it reported")
	}
	if r.busy {
		r.mb += now - r.lastCall
		r.mc += k
	}
	deadline := now + p.ClaimWindow.Milliseconds()
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
	r.lastCall = now
	r.busy = waiting-k > 0
	if r.mb >= p.DrainWindow.Milliseconds() {
		r.pb, r.pc, r.mb, r.mc = r.mb, r.mc, 0, 0
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

// resolve fixes rec's place once E is known, reporting false if it cannot
// (never for the memory store, which computes the shuffle itself).
func (r *memRoom) resolve(rec *memRecord, p Params) {
	if rec.place >= 0 || r.e < 0 {
		return
	}
	rec.place = int64(place(p.Seed, uint64(r.e), rec.index))
}

func (m *memoryStore) Join(ctx context.Context, room string, p Params, id IdentityHash, now time.Time) (Record, error) {
	return m.visit(ctx, room, p, id, now, true)
}

func (m *memoryStore) Status(ctx context.Context, room string, p Params, id IdentityHash, now time.Time) (Record, error) {
	return m.visit(ctx, room, p, id, now, false)
}

func (m *memoryStore) visit(ctx context.Context, room string, p Params, id IdentityHash, now time.Time, join bool) (Record, error) {
	r, t, err := m.begin(ctx, room, p, now)
	if err != nil {
		return Record{}, err
	}
	defer r.mu.Unlock()
	rec := r.ids[id]
	isNew := false
	if rec == nil {
		if !join {
			r.advance(t, p)
			return Record{}, ErrNotJoined
		}
		rec = &memRecord{index: r.n, place: -1, joined: t, joinAhead: -1}
		r.n++
		r.ids[id] = rec
		isNew = true
	}
	r.resolve(rec, p)
	// Called while away: back to the head of the line.
	if r.e >= 0 && !rec.done && rec.claim == 0 && uint64(rec.place) < r.s {
		if _, ok := r.active[uint64(rec.place)]; !ok && !r.returning[uint64(rec.place)] {
			r.rseq++
			r.returners = append(r.returners, returner{r.rseq, uint64(rec.place)})
			r.returning[uint64(rec.place)] = true
			rec.returns++
		}
	}
	r.advance(t, p)
	out := r.evaluate(rec, t, p)
	// For calibration: what someone who has to wait is shown at join.
	if isNew && out.State == StateWaiting && out.Ahead >= 0 {
		d := r.drain()
		rec.joinAhead, rec.joinC, rec.joinB = out.Ahead, d.Admissions, d.Over.Milliseconds()
		out.JoinAhead, out.JoinDrain = rec.joinAhead, d
	}
	return out, nil
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

func (m *memoryStore) Done(ctx context.Context, room string, p Params, id IdentityHash, now time.Time) (Record, error) {
	r, t, err := m.begin(ctx, room, p, now)
	if err != nil {
		return Record{}, err
	}
	defer r.mu.Unlock()
	rec := r.ids[id]
	if rec == nil {
		r.advance(t, p)
		return Record{}, ErrNotJoined
	}
	r.resolve(rec, p)
	if !rec.done {
		rec.done = true
		if rec.place >= 0 {
			pl := uint64(rec.place)
			delete(r.active, pl) // the heap entry, if any, goes stale
			r.removeReturner(pl)
		}
	}
	r.advance(t, p)
	out := r.record(rec)
	out.State = StateDone
	return out, nil
}

func (m *memoryStore) Advance(ctx context.Context, room string, p Params, now time.Time) (Line, error) {
	r, t, err := m.begin(ctx, room, p, now)
	if err != nil {
		return Line{}, err
	}
	defer r.mu.Unlock()
	r.advance(t, p)
	return r.line(), nil
}
