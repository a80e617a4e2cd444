package admission

import (
	"github.com/gatehouse-go/gatehouse/window/redisopt"

	"context"
	_ "embed"
	"errors"
	"fmt"
	"strings"
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
	// admitted then). It holds on any client: on a client wrapper the
	// store cannot inspect, or a cluster client, the store abandons the
	// call on its own goroutine at the deadline. A shorter deadline on the
	// caller's context still applies. 0 means DefaultRedisTimeout.
	Timeout time.Duration
}

// DefaultRedisPrefix is the default RedisOptions.Prefix.
const DefaultRedisPrefix = "gatehouse:admission:"

// DefaultRedisTimeout is the default RedisOptions.Timeout: while Redis
// stalls, a room call gives ErrUnavailable within half a second.
const DefaultRedisTimeout = 500 * time.Millisecond

var (
	//go:embed lua/common.lua
	luaCommon string
	//go:embed lua/join.lua
	luaJoin string
	//go:embed lua/status.lua
	luaStatus string
	//go:embed lua/done.lua
	luaDone string
	//go:embed lua/advance.lua
	luaAdvance string
	//go:embed lua/limits.lua
	luaLimits string
	//go:embed lua/supply.lua
	luaSupply string

	scriptJoin    = redis.NewScript(luaCommon + luaJoin)
	scriptStatus  = redis.NewScript(luaCommon + luaStatus)
	scriptDone    = redis.NewScript(luaCommon + luaDone)
	scriptAdvance = redis.NewScript(luaCommon + luaAdvance)
	scriptLimits  = redis.NewScript(luaCommon + luaLimits)
	scriptSupply  = redis.NewScript(luaCommon + luaSupply)
)

// NewRedisStore returns a [Store] that keeps rooms in Redis (standalone,
// Sentinel or Cluster through c). Each operation is one Lua script, run
// atomically by Redis; all keys of a room share the hash tag {room}, so a
// Cluster keeps a room on one shard:
//
//	<prefix>{room}:s       hash: cm (seed commitment), op (opening, Unix ms),
//	                       v (E, S, limits, bucket, counters, drain), and
//	                       i:<identity hash> per identity: index, place,
//	                       joined, claim, admission, done, returns, ETA
//	                       inputs (one hash, so that a call reads and
//	                       writes the room and the person in one command
//	                       each)
//	<prefix>{room}:a       zset: active place -> lease deadline (Unix ms)
//	<prefix>{room}:r       zset: returner's place -> return sequence
//
// Numbers in v and in identity records are packed as doubles (Lua's
// struct.pack "d"; see lua/common.lua for the field order): exact, and
// much cheaper in Lua than decimal strings. Read the figures with
// [Room.Stats] rather than redis-cli.
//
// Identities appear only as their [IdentityHash]. Keys never expire by
// themselves: delete a room's keys (the pattern <prefix>{room}:*) once its
// opening is over, with UNLINK rather than DEL (the room's hash holds
// everyone). For durability run Redis with appendonly yes and appendfsync
// always: a line then survives a crash of the server.
//
// Each call waits for Redis at most RedisOptions.Timeout (500 ms by
// default), on any client, then fails with [ErrUnavailable].
//
// Redis decides nothing with its own clock: every script takes now from
// the caller. Lua cannot compute the shuffle: [Store.Status] takes an
// early arrival's place from the caller's [PlaceHint] and keeps it; a
// Status or Done without a hint for an early arrival whose place the store
// does not know yet costs a second round trip (the script answers with the
// arrival index and Go calls again with the place).
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
	return &redisStore{c: c, prefix: opts.Prefix, timeout: opts.Timeout, inline: redisopt.HonoursDeadlines(c)}, nil
}

type redisStore struct {
	c       redis.UniversalClient
	prefix  string
	timeout time.Duration
	inline  bool // the client honours context deadlines (redisopt.HonoursDeadlines)
}

// call runs one script within the store's budget.
func (s *redisStore) call(ctx context.Context, sc *redis.Script, keys []string, args []any) ([]int64, error) {
	return redisopt.Do(ctx, s.timeout, s.inline, func(ctx context.Context) ([]int64, error) {
		return sc.Run(ctx, s.c, keys, args...).Int64Slice()
	})
}

var _ Store = (*redisStore)(nil)

func (s *redisStore) keys(room string) ([]string, error) {
	if err := validRoomName(room); err != nil {
		return nil, err
	}
	base := s.prefix + "{" + room + "}:"
	return []string{base + "s", base + "a", base + "r"}, nil
}

// idField is an identity's field in the room's hash.
func idField(id IdentityHash) string { return "i:" + id.String() }

func args(p Params, now time.Time, extra ...any) []any {
	a := make([]any, 0, 9+len(extra))
	a = append(a,
		ms(now),
		ms(p.Opening),
		p.ClaimWindow.Milliseconds(),
		p.SessionTTL.Milliseconds(),
		p.DrainWindow.Milliseconds(),
		p.Seed.Commitment(),
		p.Rate,
		p.Burst,
		p.Cap,
	)
	return append(a, extra...)
}

// Reply codes and states of the scripts.
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
	return s.run(ctx, scriptJoin, room, p, id, now, PlaceHint{}, false)
}

func (s *redisStore) Status(ctx context.Context, now time.Time, room string, p Params, id IdentityHash, hint PlaceHint) (Record, error) {
	return s.run(ctx, scriptStatus, room, p, id, now, hint, true)
}

func (s *redisStore) Done(ctx context.Context, now time.Time, room string, p Params, id IdentityHash) (Record, error) {
	return s.run(ctx, scriptDone, room, p, id, now, PlaceHint{}, true)
}

// run calls a join, status or done script (the last two with the place
// hint), a second time with the place when the script asks for it: only
// when the caller had no hint for an early arrival whose place the store
// does not know yet.
func (s *redisStore) run(ctx context.Context, sc *redis.Script, room string, p Params, id IdentityHash, now time.Time, hint PlaceHint, hinted bool) (Record, error) {
	if err := p.validate(); err != nil {
		return Record{}, err
	}
	keys, err := s.keys(room)
	if err != nil {
		return Record{}, err
	}
	// One budget for the whole call, second round trip included.
	ctx, cancel := context.WithTimeoutCause(ctx, s.timeout, redisopt.ErrBudget)
	defer cancel()
	field := idField(id)
	for attempt := 0; ; attempt++ {
		var a []any
		switch {
		case !hinted:
			a = args(p, now, field)
		case hint.Known:
			a = args(p, now, field, hint.Place, hint.Index, hint.Early)
		default:
			a = args(p, now, field, -1, -1, -1)
		}
		v, err := s.call(ctx, sc, keys, a)
		if err != nil {
			return Record{}, redisError(err)
		}
		switch {
		case len(v) == 0:
			return Record{}, fmt.Errorf("%w: empty script reply", ErrUnavailable)
		case v[0] == replyNotJoined:
			return Record{}, ErrNotJoined
		case v[0] == replyNeedPlace && len(v) == 3 && attempt == 0 && hinted:
			idx, e := uint64(v[1]), uint64(v[2])
			if idx >= e {
				return Record{}, fmt.Errorf("%w: script asked the place of index %d with %d early arrivals", ErrUnavailable, idx, e)
			}
			hint = PlaceHint{Known: true, Index: idx, Early: e, Place: place(p.Seed, e, idx)}
			continue
		case v[0] != replyOK || len(v) != recordLen:
			return Record{}, fmt.Errorf("%w: unexpected script reply %v", ErrUnavailable, v)
		}
		return parseRecord(v)
	}
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
	return s.line(ctx, scriptAdvance, room, p, args(p, now))
}

func (s *redisStore) SetLimits(ctx context.Context, now time.Time, room string, p Params, l Limits) (Line, error) {
	if err := l.Validate(); err != nil {
		return Line{}, err
	}
	return s.line(ctx, scriptLimits, room, p, args(p, now, "", l.Rate, l.Burst, l.Cap, l.MinRate, l.MaxRate, -1))
}

func (s *redisStore) AdjustLimits(ctx context.Context, now time.Time, room string, p Params, l Limits, since time.Time) (Line, error) {
	if err := l.Validate(); err != nil {
		return Line{}, err
	}
	return s.line(ctx, scriptLimits, room, p, args(p, now, "", l.Rate, l.Burst, l.Cap, l.MinRate, l.MaxRate, ms(since)))
}

func (s *redisStore) SetSupply(ctx context.Context, now time.Time, room string, p Params, pl Places, allowance int64) (Line, error) {
	if err := pl.validate(allowance); err != nil {
		return Line{}, err
	}
	return s.line(ctx, scriptSupply, room, p, args(p, now, "", pl.Free, pl.Held, allowance))
}

// line runs a script that answers with the room's figures.
func (s *redisStore) line(ctx context.Context, sc *redis.Script, room string, p Params, a []any) (Line, error) {
	if err := p.validate(); err != nil {
		return Line{}, err
	}
	keys, err := s.keys(room)
	if err != nil {
		return Line{}, err
	}
	v, err := s.call(ctx, sc, keys, a)
	if err != nil {
		return Line{}, redisError(err)
	}
	if len(v) != figuresLen {
		return Line{}, fmt.Errorf("%w: unexpected script reply %v", ErrUnavailable, v)
	}
	return parseLine(v), nil
}

// redisError maps a script failure: the misconfiguration the script
// detects, or anything else as ErrUnavailable.
func redisError(err error) error {
	var re redis.Error
	if errors.As(err, &re) && strings.Contains(re.Error(), "GATEHOUSE_MISCONFIGURED") {
		return fmt.Errorf("%w: %v", ErrMisconfigured, err)
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}
