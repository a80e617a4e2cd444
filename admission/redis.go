package admission

import (
	"github.com/gatehouse-go/gatehouse/internal/groupcommit"
	"github.com/gatehouse-go/gatehouse/window/redisopt"

	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisOptions configure [NewRedisStore]. The zero value is the default.
type RedisOptions struct {
	// Prefix starts every key. "" means "gatehouse:admission:". Printable
	// ASCII without spaces, at most 64 bytes, and no '{' or '}', which
	// would break the hash tag: the rule of every gatehouse Redis prefix.
	Prefix string
	// Timeout is each call's budget: the longest a store call waits for
	// Redis, in real time, before it returns [ErrUnavailable] (nobody is
	// admitted then), counted from when the call enters the store: a wait
	// for a round trip (group commit, Unbatched) is part of it. It holds
	// on any client: on a client wrapper the
	// store cannot inspect, or a cluster client, the store abandons the
	// call on its own goroutine at the deadline. A shorter deadline on the
	// caller's context still applies. 0 means DefaultRedisTimeout.
	Timeout time.Duration
	// Unbatched sends every call in a round trip of its own, as a call of
	// its own function. By default the calls a store makes concurrently
	// share round trips (group commit, the slots store's rule too): a call
	// that finds none in flight leads one, with the calls made at the same
	// moment; the others queue, and the round trip that returns hands the
	// queue's first calls on as the next. The calls of one room go as one
	// function call that reads and writes the room's state once and answers
	// each call on its own, as if they had run one after another (several
	// rooms as a pipeline of those). That saves Redis the per-round-trip
	// work and most of each call's fixed cost under load, and adds under a
	// microsecond at low load (the leader's yields).
	Unbatched bool
}

// DefaultRedisPrefix is the default RedisOptions.Prefix.
const DefaultRedisPrefix = "gatehouse:admission:"

// DefaultRedisTimeout is the default RedisOptions.Timeout: while Redis
// stalls, a room call gives ErrUnavailable within half a second.
const DefaultRedisTimeout = 500 * time.Millisecond

// NewRedisStore returns a [Store] that keeps rooms in Redis 7.0 or later
// (standalone, Sentinel or Cluster through c). Each operation is one call
// of a Redis function (FCALL), run atomically by Redis, or under load one
// of several calls of its room in one FCALL (group commit, below); the
// store loads
// its function library (FUNCTION LOAD, named after a hash of its text) on
// a server that lacks it. All keys of a room share the hash tag {room}, so
// a Cluster keeps a room on one shard:
//
//	<prefix>{room}:s       hash: v (what seldom changes: a stamp of
//	                       the layout, the seed commitment's start,
//	                       the opening, E, limits,
//	                       returners, the previous drain window, supply),
//	                       h (what most calls change: S, the bucket,
//	                       counters, leases, the current drain window),
//	                       and per identity a field named by its raw
//	                       32-byte identity hash: index, place, joined,
//	                       claim, admission, done, returns, ETA inputs
//	                       (one hash, so that a call reads and writes the
//	                       room and the person in one command each; a
//	                       call writes only the fields that changed)
//	<prefix>{room}:a       zset: active place -> lease deadline (Unix ms)
//	<prefix>{room}:r       zset: returner's place -> return sequence
//
// Numbers in v, h and identity records, and the functions' arguments and
// replies, are packed as little-endian doubles (Lua's struct.pack "<d"; see
// lua/lib.lua for the field order): exact, and much cheaper in Lua than
// decimal strings. Read the figures with
// [Room.Stats] rather than redis-cli. The layout may change between
// versions of this package; v starts with a stamp of it, and a room whose
// state another layout wrote is refused with [ErrMisconfigured] (never
// misread, whatever its length), so upgrade between openings rather than
// during one: instances of two layouts on one room fail closed.
//
// Identities appear only as their [IdentityHash]. Keys never expire by
// themselves: delete a room's keys (the pattern <prefix>{room}:*) once its
// opening is over, with UNLINK rather than DEL (the room's hash holds
// everyone). For durability run Redis with appendonly yes and appendfsync
// always: a line then survives a crash of the server.
//
// Each call waits for Redis at most RedisOptions.Timeout (500 ms by
// default), its wait for a round trip included, on any client, then fails
// with [ErrUnavailable]. Calls the store makes concurrently share round
// trips (group commit; see RedisOptions.Unbatched):
// a room's calls then go in one FCALL
// of the library's batch function, each with its own now, arguments and
// answer, run in order on the room's state read once and written once,
// exactly as they would have run one after another (an error such as
// [ErrMisconfigured] is its call's alone); a batch whose outcome is
// unknown fails every call it carried with [ErrUnavailable].
//
// Redis decides nothing with its own clock: every function takes now from
// the caller. Lua cannot compute the shuffle: [Store.Status] takes an
// early arrival's place from the caller's [PlaceHint] and keeps it; a
// Status or Done without a hint for an early arrival whose place the store
// does not know yet costs a second round trip (the function answers with
// the arrival index and Go calls again with the place).
func NewRedisStore(c redis.UniversalClient, opts RedisOptions) (Store, error) {
	if c == nil {
		return nil, errors.New("admission: NewRedisStore: nil client")
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultRedisPrefix
	}
	if err := redisopt.CheckPrefix(opts.Prefix); err != nil {
		return nil, fmt.Errorf("admission: NewRedisStore: %w", err)
	}
	if err := redisopt.CheckClient(c); err != nil {
		return nil, fmt.Errorf("admission: NewRedisStore: %w", err)
	}
	switch {
	case opts.Timeout < 0:
		return nil, fmt.Errorf("admission: NewRedisStore: negative Timeout %v", opts.Timeout)
	case opts.Timeout == 0:
		opts.Timeout = DefaultRedisTimeout
	}
	s := &redisStore{c: c, prefix: opts.Prefix, timeout: opts.Timeout, inline: redisopt.HonoursDeadlines(c), unbatched: opts.Unbatched}
	s.batch = groupcommit.New(s.send, groupcommit.Options{Budget: opts.Timeout})
	return s, nil
}

type redisStore struct {
	c         redis.UniversalClient
	prefix    string
	timeout   time.Duration
	inline    bool                              // the client honours context deadlines (redisopt.HonoursDeadlines)
	loading   sync.Mutex                        // one FUNCTION LOAD at a time
	unbatched bool                              // RedisOptions.Unbatched
	batch     *groupcommit.Queue[roomCall, any] // group commit (redis_batch.go)
	// batchAll sends even a room's single call through the batch
	// function (tests only: export_test.go).
	batchAll bool
	// lastKeys and lastCheck remember the keys of the room called last
	// and the check of the seed used last, so that a store serving one
	// room (the usual case) builds neither anew for every call; another
	// room or seed replaces them.
	lastKeys  atomic.Pointer[keysOf]
	lastCheck atomic.Pointer[seedCheck]
}

// keysOf are a room's keys (redisStore.keys).
type keysOf struct {
	room string
	keys []string
}

// seedCheck is a seed's commitment, which a call's check starts with.
type seedCheck struct {
	seed  Seed
	check string
}

// roomCall is one call of a room's function: op names it (fnNames), keys
// are the room's, a its packed numbers with op's byte first (packArgs),
// field its identity's field (join, status, done; "" otherwise).
type roomCall struct {
	op    byte
	keys  []string
	a     []byte
	field string
}

// args are the call's arguments for its own function.
func (c *roomCall) args() []any {
	if c.op <= opDone {
		return []any{c.a[1:], c.field}
	}
	return []any{c.a[1:]}
}

// call runs one function within the store's budget and decodes its reply
// into v; it returns the number of values.
func (s *redisStore) call(ctx context.Context, c roomCall, v []int64) (int, error) {
	var r any
	var err error
	if s.unbatched {
		r, err = redisopt.Do(ctx, s.timeout, s.inline, func(ctx context.Context) (any, error) {
			return s.fcall(ctx, fnNames[c.op], c.keys, c.args()...)
		})
	} else {
		r, err = s.batched(ctx, c)
	}
	if err != nil {
		return 0, err
	}
	return decodeReply(r, v)
}

var _ Store = (*redisStore)(nil)

// keys returns room's keys, shared between calls: nobody may change them.
func (s *redisStore) keys(room string) ([]string, error) {
	if k := s.lastKeys.Load(); k != nil && k.room == room {
		return k.keys, nil
	}
	if err := validRoomName(room); err != nil {
		return nil, err
	}
	base := s.prefix + "{" + room + "}:"
	k := &keysOf{room: room, keys: []string{base + "s", base + "a", base + "r"}}
	s.lastKeys.Store(k)
	return k.keys, nil
}

// check returns the seed's commitment, which starts a call's check.
func (s *redisStore) check(seed Seed) string {
	if c := s.lastCheck.Load(); c != nil && c.seed == seed {
		return c.check
	}
	c := &seedCheck{seed: seed, check: seed.Commitment()}
	s.lastCheck.Store(c)
	return c.check
}

// idField is an identity's field in the room's hash: its raw hash.
func idField(id IdentityHash) string { return string(id[:]) }

// Reply codes and states of the functions.
const (
	replyOK        = 0
	replyNotJoined = 1
	replyNeedPlace = 2
)

// Reply lengths: a record reply is 15 numbers then the figures.
const (
	figuresLen = 19
	recordLen  = 15 + figuresLen
)

var luaStates = [...]State{StateWaiting, StateAdmitted, StateExpired, StateDone}

func (s *redisStore) Join(ctx context.Context, now time.Time, room string, p Params, id IdentityHash) (Record, error) {
	return s.run(ctx, opJoin, room, p, id, now, PlaceHint{}, false)
}

func (s *redisStore) Status(ctx context.Context, now time.Time, room string, p Params, id IdentityHash, hint PlaceHint) (Record, error) {
	return s.run(ctx, opStatus, room, p, id, now, hint, true)
}

func (s *redisStore) Done(ctx context.Context, now time.Time, room string, p Params, id IdentityHash) (Record, error) {
	return s.run(ctx, opDone, room, p, id, now, PlaceHint{}, true)
}

// run calls a join, status or done function (the last two with the place
// hint), a second time with the place when the function asks for it: only
// when the caller had no hint for an early arrival whose place the store
// does not know yet.
func (s *redisStore) run(ctx context.Context, op byte, room string, p Params, id IdentityHash, now time.Time, hint PlaceHint, hinted bool) (Record, error) {
	if err := p.validate(); err != nil {
		return Record{}, err
	}
	keys, err := s.keys(room)
	if err != nil {
		return Record{}, err
	}
	c := runCall{op: op, keys: keys, field: idField(id), check: s.check(p.Seed), p: p, now: ms(now), hinted: hinted}
	start := time.Now()
	rec, need, err := s.attempt(ctx, &c, hint, true)
	if need == nil {
		return rec, err
	}
	// One budget for the whole call, second round trip included: the
	// first had the store's budget (the group commit's, or redisopt.Do's);
	// the second, rare, gets what is left of it.
	ctx, cancel := context.WithDeadlineCause(ctx, start.Add(s.timeout), redisopt.ErrBudget)
	defer cancel()
	rec, _, err = s.attempt(ctx, &c, *need, false)
	return rec, err
}

// runCall is what the attempts of one run share.
type runCall struct {
	op     byte
	keys   []string
	field  string
	check  string
	p      Params
	now    int64
	hinted bool
}

// attempt makes one round trip of run with hint. When the function asks
// for the place and again allows another round trip, it returns the hint
// to send (need) instead of a record.
func (s *redisStore) attempt(ctx context.Context, c *runCall, hint PlaceHint, again bool) (rec Record, need *PlaceHint, err error) {
	var a []byte
	switch {
	case !c.hinted:
		a = packArgs(c.op, c.p, c.check, c.now)
	case hint.Known:
		a = packArgs(c.op, c.p, c.check, c.now, int64(hint.Place), int64(hint.Index), int64(hint.Early))
	default:
		a = packArgs(c.op, c.p, c.check, c.now, -1, -1, -1)
	}
	var v [recordLen]int64
	n, err := s.call(ctx, roomCall{op: c.op, keys: c.keys, a: a, field: c.field}, v[:])
	if err != nil {
		return Record{}, nil, redisError(err)
	}
	switch {
	case n == 0:
		return Record{}, nil, fmt.Errorf("%w: empty reply", ErrUnavailable)
	case v[0] == replyNotJoined:
		return Record{}, nil, ErrNotJoined
	case v[0] == replyNeedPlace && n == 3 && again && c.hinted:
		idx, e := uint64(v[1]), uint64(v[2])
		if idx >= e {
			return Record{}, nil, fmt.Errorf("%w: the store asked the place of index %d with %d early arrivals", ErrUnavailable, idx, e)
		}
		return Record{}, &PlaceHint{Known: true, Index: idx, Early: e, Place: place(c.p.Seed, e, idx)}, nil
	case v[0] != replyOK || n != recordLen:
		return Record{}, nil, fmt.Errorf("%w: unexpected reply %v", ErrUnavailable, v[:n])
	}
	rec, err = parseRecord(v[:])
	return rec, nil, err
}

func parseRecord(v []int64) (Record, error) {
	if v[4] < 0 || v[4] >= int64(len(luaStates)) {
		return Record{}, fmt.Errorf("%w: unexpected state %d", ErrUnavailable, v[4])
	}
	e := v[3]
	r := Record{
		Index:     uint64(v[1]),
		Place:     v[2],
		Early:     e < 0 || uint64(v[1]) < uint64(e),
		State:     luaStates[v[4]],
		Ahead:     v[5],
		Joined:    fromMS(v[6]),
		Admitted:  fromMS(v[7]),
		Deadline:  fromMS(v[8]),
		Claimed:   v[9] == 1,
		Returning: v[10] == 1,
		Returns:   v[11],
		JoinAhead: v[12],
		JoinDrain: Drain{Admissions: v[13], Over: time.Duration(v[14]) * time.Millisecond},
		Line:      parseLine(v[15:]),
	}
	return r, nil
}

func parseLine(v []int64) Line {
	return Line{
		Opened:    v[0] == 1,
		Joined:    uint64(v[1]),
		Early:     v[2],
		Serving:   uint64(v[3]),
		Active:    v[4],
		Returning: v[5],
		Admitted:  uint64(v[6]),
		Drain:     Drain{Admissions: v[7], Over: time.Duration(v[8]) * time.Millisecond},
		Limits:    Limits{Rate: int(v[9]), Burst: int(v[10]), Cap: int(v[11]), MinRate: int(v[12]), MaxRate: int(v[13])},

		LimitsChanged: fromMS(v[14]),
		Supply:        SupplyFigures{Known: v[15] == 1, Free: v[16], Held: v[17], Budget: v[18]},
	}
}

func (s *redisStore) Advance(ctx context.Context, now time.Time, room string, p Params) (Line, error) {
	return s.line(ctx, opAdvance, room, p, now)
}

func (s *redisStore) SetLimits(ctx context.Context, now time.Time, room string, p Params, l Limits) (Line, error) {
	if err := l.Validate(); err != nil {
		return Line{}, err
	}
	return s.line(ctx, opLimits, room, p, now, int64(l.Rate), int64(l.Burst), int64(l.Cap), int64(l.MinRate), int64(l.MaxRate), -1)
}

func (s *redisStore) AdjustLimits(ctx context.Context, now time.Time, room string, p Params, l Limits, since time.Time) (Line, error) {
	if err := l.Validate(); err != nil {
		return Line{}, err
	}
	return s.line(ctx, opLimits, room, p, now, int64(l.Rate), int64(l.Burst), int64(l.Cap), int64(l.MinRate), int64(l.MaxRate), ms(since))
}

func (s *redisStore) SetSupply(ctx context.Context, now time.Time, room string, p Params, pl Places, allowance int64) (Line, error) {
	if err := pl.validate(allowance); err != nil {
		return Line{}, err
	}
	return s.line(ctx, opSupply, room, p, now, pl.Free, pl.Held, allowance)
}

// line calls a function that answers with the room's figures; extra are
// its own numbers.
func (s *redisStore) line(ctx context.Context, op byte, room string, p Params, now time.Time, extra ...int64) (Line, error) {
	if err := p.validate(); err != nil {
		return Line{}, err
	}
	keys, err := s.keys(room)
	if err != nil {
		return Line{}, err
	}
	var v [figuresLen]int64
	n, err := s.call(ctx, roomCall{op: op, keys: keys, a: packArgs(op, p, s.check(p.Seed), ms(now), extra...)}, v[:])
	if err != nil {
		return Line{}, redisError(err)
	}
	if n != figuresLen {
		return Line{}, fmt.Errorf("%w: unexpected reply %v", ErrUnavailable, v[:n])
	}
	return parseLine(v[:]), nil
}

// redisError maps a function's failure: the misconfiguration the function
// detects, or anything else as ErrUnavailable.
func redisError(err error) error {
	if redisopt.Misconfigured(err) {
		return fmt.Errorf("%w: %v", ErrMisconfigured, err)
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}
