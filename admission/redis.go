package admission

import (
	"github.com/gatehouse-go/gatehouse/window/redisopt"

	"context"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
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
}

// DefaultRedisPrefix is the default RedisOptions.Prefix.
const DefaultRedisPrefix = "gatehouse:admission:"

var (
	//go:embed lua/common.lua
	luaCommon string
	//go:embed lua/visit.lua
	luaVisit string
	//go:embed lua/done.lua
	luaDone string
	//go:embed lua/advance.lua
	luaAdvance string

	scriptVisit   = redis.NewScript(luaCommon + luaVisit)
	scriptDone    = redis.NewScript(luaCommon + luaDone)
	scriptAdvance = redis.NewScript(luaCommon + luaAdvance)
)

// NewRedisStore returns a [Store] that keeps rooms in Redis (standalone,
// Sentinel or Cluster through c). Each operation is one Lua script, run
// atomically by Redis; all keys of a room share the hash tag {room}, so a
// Cluster keeps a room on one shard:
//
//	<prefix>{room}:s       hash: cm (seed commitment), op (opening, Unix ms),
//	                       v (E, S, limiter, counters, drain measurement)
//	<prefix>{room}:a       zset: active place -> lease deadline (Unix ms)
//	<prefix>{room}:r       zset: returner's place -> return sequence
//	<prefix>{room}:i:<id>  string per identity hash: index, place, joined,
//	                       claim, admission, done, returns, ETA inputs
//
// Numbers in v and in identity records are packed as doubles (Lua's
// struct.pack "d"; see lua/common.lua for the field order): exact, and
// much cheaper in Lua than decimal strings. Read the figures with
// [Room.Stats] rather than redis-cli.
//
// Identities appear only as their [IdentityHash]. Keys never expire by
// themselves: delete a room's keys (the pattern <prefix>{room}:*) once its
// opening is over. For durability run Redis with appendonly yes and
// appendfsync always: a line then survives a crash of the server.
//
// Redis decides nothing with its own clock: every script takes now from
// the caller. The one extra round trip is the first call after the
// opening that needs an early arrival's place: Lua cannot compute the
// shuffle, so the script answers with the arrival index and Go calls again
// with the place, which is then kept.
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
	return &redisStore{c: c, prefix: opts.Prefix}, nil
}

type redisStore struct {
	c      redis.UniversalClient
	prefix string
}

var _ Store = (*redisStore)(nil)

func (s *redisStore) keys(room string, id *IdentityHash) ([]string, error) {
	if err := validRoomName(room); err != nil {
		return nil, err
	}
	base := s.prefix + "{" + room + "}:"
	k := []string{base + "s", base + "a", base + "r"}
	if id != nil {
		k = append(k, base+"i:"+id.String())
	}
	return k, nil
}

func args(p Params, now time.Time, extra ...any) []any {
	a := make([]any, 0, 9+len(extra))
	a = append(a,
		ms(now),
		ms(p.Opening),
		strconv.FormatFloat(float64(limitOf(p.Rate)), 'g', -1, 64),
		p.Burst,
		p.Cap,
		p.ClaimWindow.Milliseconds(),
		p.SessionTTL.Milliseconds(),
		p.DrainWindow.Milliseconds(),
		p.Seed.Commitment(),
	)
	return append(a, extra...)
}

// Reply codes and states of the scripts.
const (
	replyOK        = 0
	replyNotJoined = 1
	replyNeedPlace = 2
)

var luaStates = [...]State{StateWaiting, StateAdmitted, StateExpired, StateDone}

func (s *redisStore) Join(ctx context.Context, room string, p Params, id IdentityHash, now time.Time) (Record, error) {
	return s.run(ctx, scriptVisit, room, p, id, now, "1")
}

func (s *redisStore) Status(ctx context.Context, room string, p Params, id IdentityHash, now time.Time) (Record, error) {
	return s.run(ctx, scriptVisit, room, p, id, now, "0")
}

func (s *redisStore) Done(ctx context.Context, room string, p Params, id IdentityHash, now time.Time) (Record, error) {
	return s.run(ctx, scriptDone, room, p, id, now, "")
}

// run calls a visit or done script, a second time with the place when the
// script asks for it.
func (s *redisStore) run(ctx context.Context, sc *redis.Script, room string, p Params, id IdentityHash, now time.Time, join string) (Record, error) {
	if err := p.validate(); err != nil {
		return Record{}, err
	}
	keys, err := s.keys(room, &id)
	if err != nil {
		return Record{}, err
	}
	hint := []any{-1, -1, -1}
	for attempt := 0; ; attempt++ {
		var a []any
		if join != "" {
			a = args(p, now, append([]any{join}, hint...)...)
		} else {
			a = args(p, now, hint...)
		}
		v, err := sc.Run(ctx, s.c, keys, a...).Int64Slice()
		if err != nil {
			return Record{}, redisError(err)
		}
		switch {
		case len(v) == 0:
			return Record{}, fmt.Errorf("%w: empty script reply", ErrUnavailable)
		case v[0] == replyNotJoined:
			return Record{}, ErrNotJoined
		case v[0] == replyNeedPlace && len(v) == 3 && attempt == 0:
			idx, e := uint64(v[1]), uint64(v[2])
			if idx >= e {
				return Record{}, fmt.Errorf("%w: script asked the place of index %d with %d early arrivals", ErrUnavailable, idx, e)
			}
			hint = []any{place(p.Seed, e, idx), idx, e}
			continue
		case v[0] != replyOK || len(v) != 24:
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
	}
}

func (s *redisStore) Advance(ctx context.Context, room string, p Params, now time.Time) (Line, error) {
	if err := p.validate(); err != nil {
		return Line{}, err
	}
	keys, err := s.keys(room, nil)
	if err != nil {
		return Line{}, err
	}
	v, err := scriptAdvance.Run(ctx, s.c, keys, args(p, now)...).Int64Slice()
	if err != nil {
		return Line{}, redisError(err)
	}
	if len(v) != 9 {
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
