package slots

import (
	"github.com/gatehouse-go/gatehouse/internal/groupcommit"
	"github.com/gatehouse-go/gatehouse/window/redisopt"

	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisOptions configures NewRedisStore. The zero value is the documented
// default of every field.
type RedisOptions struct {
	// Prefix starts every key name; empty means DefaultRedisPrefix. It must be
	// printable ASCII without spaces or braces, at most 64 bytes. Keys are
	// Prefix + "{" + campaign + "}:" + name, so the Cluster hash tag is
	// exactly the campaign and a campaign lives on one shard.
	Prefix string
	// Retention is how long idempotency records (counted from the now of
	// the call that made them) and traces of expired holds (counted from
	// the hold's expiry) are kept; zero means
	// DefaultRetention. It must be at least MinRetention.
	Retention time.Duration
	// WaitReplicas, when positive, sends WAIT WaitReplicas WaitTimeout on
	// the same connection right after every mutating call (or batch of
	// calls: one pipeline per primary the batch's campaigns live on), in
	// one pipeline. If fewer replicas acknowledge in time, the call returns an
	// error matching ErrUnavailable and ErrNotReplicated; the write itself
	// stands on the primary, and a retry with the same key returns its
	// outcome and waits again. This narrows, but does not close, the window
	// in which a failover loses an acknowledged booking: see the package
	// documentation. It needs a *redis.Client (standalone or Sentinel
	// failover) or a *redis.ClusterClient. Zero means no WAIT.
	WaitReplicas int
	// WaitTimeout bounds each WAIT; zero means 500ms. It must be shorter
	// than the client's ReadTimeout (3s by default) and than Timeout. Only
	// used with WaitReplicas.
	WaitTimeout time.Duration
	// Timeout is each call's budget: the longest a store call waits for
	// Redis, in real time, before it returns an error matching
	// ErrUnavailable (the outcome of a write is then unknown: retry with
	// the same key), counted from when the call enters the store: a wait
	// for a round trip (group commit, Unbatched) is part of it. It holds
	// on any client: on a client wrapper the store cannot inspect, or a
	// cluster client, the store abandons the call on its own goroutine at
	// the deadline. A shorter deadline on the
	// caller's context still applies. Zero means DefaultRedisTimeout, plus
	// WaitTimeout with WaitReplicas.
	Timeout time.Duration
	// Unbatched, when set, sends every operation in a round trip of its
	// own. By default (false) concurrent Hold, Confirm, Cancel and Move
	// calls share round trips (group commit, the admission store's rule
	// too): a call that finds none in flight leads one, with the calls
	// made at the same moment; the others queue, and the round trip that
	// returns hands the queue's first calls on as the next: one FCALL per
	// campaign, several campaigns as a pipeline. Each operation keeps
	// every guarantee of the Store contract; under load Redis spends much
	// less CPU per operation (BENCHMARKS.md).
	Unbatched bool
}

// DefaultRedisTimeout is the default RedisOptions.Timeout: while Redis
// stalls, a store call gives ErrUnavailable within half a second.
const DefaultRedisTimeout = 500 * time.Millisecond

// maxCachedCampaigns bounds the cache of key names, in case campaign names
// come from outside.
const maxCachedCampaigns = 1024

type redisStore struct {
	keys      sync.Map // Campaign -> []string, its key names
	cached    atomic.Int64
	rdb       redis.UniversalClient
	prefix    string
	retention int64 // ms
	waitN     int
	waitT     time.Duration
	timeout   time.Duration
	inline    bool // the client honours context deadlines (redisopt.HonoursDeadlines)
	unbatched bool
	batch     *groupcommit.Queue[writeCall, any] // group commit (batch.go)
}

var (
	_ Store       = (*redisStore)(nil)
	_ Snapshotter = (*redisStore)(nil)
)

// NewRedisStore returns a Store kept in Redis (standalone, Sentinel or
// Cluster, through rdb). Each operation is one Lua function run with FCALL,
// one round trip, on the shard that owns the campaign's hash tag; it also
// implements Snapshotter. Each call waits for Redis at most
// RedisOptions.Timeout (500 ms by default), its wait for a round trip
// included, then fails with ErrUnavailable,
// even on a client wrapper the store cannot inspect. Invalid options are an
// error wrapping ErrInvalid, and so is a client that ignores context
// deadlines: build it with ContextTimeoutEnabled: true.
//
// For the configuration under which a confirmed booking survives a crash,
// and what replication can and cannot promise, see the package
// documentation and docs/slots-durability.md.
func NewRedisStore(rdb redis.UniversalClient, opts RedisOptions) (Store, error) {
	if rdb == nil {
		return nil, fmt.Errorf("%w: nil Redis client", ErrInvalid)
	}
	if err := redisopt.CheckClient(rdb); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	s := &redisStore{rdb: rdb, prefix: opts.Prefix, retention: durMs(DefaultRetention)}
	if s.prefix == "" {
		s.prefix = DefaultRedisPrefix
	}
	if err := validPrefix(s.prefix); err != nil {
		return nil, err
	}
	if opts.Retention != 0 {
		if opts.Retention < MinRetention {
			return nil, fmt.Errorf("%w: retention %v is shorter than %v", ErrInvalid, opts.Retention, MinRetention)
		}
		s.retention = durMs(opts.Retention)
	}
	if opts.WaitReplicas < 0 {
		return nil, fmt.Errorf("%w: WaitReplicas %d is negative", ErrInvalid, opts.WaitReplicas)
	}
	if opts.WaitReplicas > 0 {
		switch rdb.(type) {
		case *redis.Client, *redis.ClusterClient:
		default:
			return nil, fmt.Errorf("%w: WaitReplicas needs a *redis.Client or *redis.ClusterClient, not %T", ErrInvalid, rdb)
		}
		s.waitN, s.waitT = opts.WaitReplicas, opts.WaitTimeout
		if s.waitT == 0 {
			s.waitT = 500 * time.Millisecond
		}
		if s.waitT < time.Millisecond {
			return nil, fmt.Errorf("%w: WaitTimeout %v is shorter than 1ms", ErrInvalid, s.waitT)
		}
	}
	s.timeout = opts.Timeout
	switch {
	case s.timeout < 0:
		return nil, fmt.Errorf("%w: Timeout %v is negative", ErrInvalid, s.timeout)
	case s.timeout == 0:
		s.timeout = DefaultRedisTimeout + s.waitT
	case s.timeout <= s.waitT:
		return nil, fmt.Errorf("%w: Timeout %v must be longer than WaitTimeout %v", ErrInvalid, s.timeout, s.waitT)
	}
	s.inline = redisopt.HonoursDeadlines(rdb)
	s.unbatched = opts.Unbatched
	s.batch = groupcommit.New(s.send, groupcommit.Options{Budget: s.timeout, Max: maxBatchOps})
	return s, nil
}

func unavailable(err error) error {
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// refusedWhole reports whether v, a function's reply, refuses every
// operation for a campaign of another layout (a writer's or a batch's):
// nothing was written.
func refusedWhole(v any) bool {
	if all, ok := v.([]any); ok {
		for _, o := range all {
			if o != superseded {
				return false
			}
		}
		return len(all) > 0
	}
	return v == superseded
}

// storeErr is a function's error as the store returns it: ErrMisconfigured
// for a campaign another layout took over (lua/lib.lua, MISLAYOUT), else
// ErrUnavailable.
func storeErr(err error) error {
	if redisopt.Misconfigured(err) {
		return fmt.Errorf("%w: %w", ErrMisconfigured, err)
	}
	return unavailable(err)
}

// campaignKeys returns the key names of campaign c, cached.
func (s *redisStore) campaignKeys(c Campaign) []string {
	if k, ok := s.keys.Load(c); ok {
		return k.([]string)
	}
	keys := campaignKeys(s.prefix, c)
	if s.cached.Add(1) <= maxCachedCampaigns {
		s.keys.Store(c, keys)
	}
	return keys
}

// run calls function f for campaign c with args (args[0] is now).
func (s *redisStore) run(ctx context.Context, f *luaFunc, c Campaign, write bool, args ...any) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, unavailable(err)
	}
	keys := s.campaignKeys(c)[:f.keys]
	v, err := redisopt.Do(ctx, s.timeout, s.inline, func(ctx context.Context) (any, error) {
		if write && s.waitN > 0 {
			return s.runWait(ctx, f, keys, args)
		}
		v, err := s.rdb.FCall(ctx, f.name, keys, args...).Result()
		if missingFunc(err) {
			// Not run: load the library where the call went, and call again.
			if err = s.load(ctx, keys[0]); err == nil {
				v, err = s.rdb.FCall(ctx, f.name, keys, args...).Result()
			}
		}
		if err != nil {
			return nil, storeErr(err)
		}
		return v, nil
	})
	if err != nil && !errors.Is(err, ErrUnavailable) && !errors.Is(err, ErrMisconfigured) {
		err = storeErr(err)
	}
	return v, err
}

// gf is what a mutating function receives as args[2]: when its idempotency
// record may go (now + retention, 15 digits) and the request's fingerprint.
func (s *redisStore) gf(now int64, fingerprint string) string {
	var b [msDigits + 64]byte
	return string(append(appendPadMs(b[:0], now+s.retention), fingerprint...))
}

// load loads the function library on the server that serves key.
func (s *redisStore) load(ctx context.Context, key string) error {
	if cc, ok := s.rdb.(*redis.ClusterClient); ok {
		node, err := cc.MasterForKey(ctx, key)
		if err != nil {
			return err
		}
		return loadLibrary(ctx, node)
	}
	return loadLibrary(ctx, s.rdb)
}

// runWait sends the call and WAIT in one pipeline on one connection to the
// campaign's primary, so that WAIT covers this write.
func (s *redisStore) runWait(ctx context.Context, f *luaFunc, keys []string, args []any) (any, error) {
	var node *redis.Client
	switch c := s.rdb.(type) {
	case *redis.Client:
		node = c
	case *redis.ClusterClient:
		n, err := c.MasterForKey(ctx, keys[0])
		if err != nil {
			return nil, unavailable(err)
		}
		node = n
	}
	out := make([]reply, 1)
	s.onNode(ctx, node, []fcall{{f: f, keys: keys, args: args}}, out)
	return out[0].v, out[0].err
}

// onNode sends calls, then WAIT, in one pipeline on one connection to
// node, so that WAIT covers their writes, and sets out (one reply per
// call). Calls that find their function missing are sent again, once,
// after the library is loaded.
func (s *redisStore) onNode(ctx context.Context, node *redis.Client, calls []fcall, out []reply) {
	todo := make([]int, len(calls))
	for i := range todo {
		todo[i] = i
	}
	for attempt := 0; len(todo) > 0; attempt++ {
		pipe := node.Pipeline()
		res := make([]*redis.Cmd, len(todo))
		for k, i := range todo {
			res[k] = pipe.FCall(ctx, calls[i].f.name, calls[i].keys, calls[i].args...)
		}
		acks := pipe.Do(ctx, "WAIT", s.waitN, s.waitT.Milliseconds())
		_, err := pipe.Exec(ctx)
		var again []int
		for k, i := range todo {
			rerr := res[k].Err()
			switch {
			case rerr != nil && attempt == 0 && missingFunc(rerr):
				again = append(again, i)
			case rerr != nil:
				if cc, ok := s.rdb.(*redis.ClusterClient); ok && (redis.HasErrorPrefix(rerr, "MOVED") || redis.HasErrorPrefix(rerr, "ASK")) {
					cc.ReloadState(ctx)
				}
				out[i].err = storeErr(rerr)
			case refusedWhole(res[k].Val()):
				// Refused, nothing written: no replica has anything to
				// acknowledge.
				out[i].v = res[k].Val()
			case err != nil:
				// The function ran; only WAIT failed.
				out[i].err = fmt.Errorf("%w: %w: WAIT: %w", ErrUnavailable, ErrNotReplicated, err)
			default:
				if n, err := acks.Int64(); err != nil || n < int64(s.waitN) {
					out[i].err = fmt.Errorf("%w: %w: %d of %d replicas acknowledged within %v", ErrUnavailable, ErrNotReplicated, n, s.waitN, s.waitT)
				} else {
					out[i].v = res[k].Val()
				}
			}
		}
		if len(again) > 0 {
			if err := loadLibrary(ctx, node); err != nil {
				for _, i := range again {
					out[i].err = unavailable(err)
				}
				again = nil
			}
		}
		todo = again
	}
}

// result turns a function's reply into an outcome. A success's record has no
// person yet: the caller sets the one who asked.
func result(v any, err error) (outcome, error) {
	if err != nil {
		return outcome{}, err
	}
	str, ok := v.(string)
	if !ok {
		return outcome{}, fmt.Errorf("%w: unexpected function reply %T", ErrUnavailable, v)
	}
	o, err := decodeOutcome(str)
	if err != nil {
		return outcome{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return o, nil
}

func (s *redisStore) DefineSlots(ctx context.Context, now time.Time, req DefineRequest) error {
	if err := req.Validate(); err != nil {
		return err
	}
	ms, err := nowMs(now)
	if err != nil {
		return err
	}
	args := make([]any, 0, 3+2*len(req.Slots))
	args = append(args, padMs(ms), s.gf(ms, req.fingerprint()), "k:"+encodeID(req.Key))
	for _, sl := range req.Slots {
		args = append(args, encodeID(sl.ID), sl.Capacity)
	}
	v, err := s.run(ctx, defineFunc, req.Campaign, true, args...)
	if err != nil {
		return err
	}
	if v == "OK" {
		return nil
	}
	o, err := result(v, nil)
	if err != nil {
		return err
	}
	if o.code == "" {
		return fmt.Errorf("%w: unexpected define reply", ErrUnavailable)
	}
	return o.err()
}

func (s *redisStore) Hold(ctx context.Context, now time.Time, req HoldRequest) (Hold, error) {
	if err := req.Validate(); err != nil {
		return Hold{}, err
	}
	ms, err := nowMs(now)
	if err != nil {
		return Hold{}, err
	}
	kf, slot, exp := "k:"+encodeID(req.Key), encodeID(req.Slot), ms+durMs(req.TTL)
	rec := encodeRecord(newID(), record{state: stateHeld, slot: req.Slot, created: ms, expires: exp}) + kf + ","
	o, err := result(s.write(ctx, holdFunc, req.Campaign,
		padMs(ms), s.gf(ms, req.fingerprint()), kf, "p:"+encodeID(req.Person), slot, "h:"+slot, padMs(exp), rec))
	if err == nil {
		err = o.err()
	}
	if err != nil {
		return Hold{}, err
	}
	o.rec.person = req.Person
	if o.rec.state != stateHeld {
		return Hold{}, fmt.Errorf("%w: hold reply in state %c", ErrUnavailable, o.rec.state)
	}
	return o.hold(req.Campaign), nil
}

func (s *redisStore) Confirm(ctx context.Context, now time.Time, req ConfirmRequest) (Booking, error) {
	if err := req.Validate(); err != nil {
		return Booking{}, err
	}
	ms, err := nowMs(now)
	if err != nil {
		return Booking{}, err
	}
	o, err := result(s.write(ctx, confirmFunc, req.Campaign,
		padMs(ms), s.gf(ms, req.fingerprint()), "k:"+encodeID(req.Key), "p:"+encodeID(req.Person), req.HoldID))
	o.rec.person = req.Person
	return s.booking(req.Campaign, o, err)
}

func (s *redisStore) booking(c Campaign, o outcome, err error) (Booking, error) {
	if err == nil {
		err = o.err()
	}
	if err != nil {
		return Booking{}, err
	}
	if o.rec.state != stateBooked {
		return Booking{}, fmt.Errorf("%w: booking reply in state %c", ErrUnavailable, o.rec.state)
	}
	return o.booking(c), nil
}

func (s *redisStore) Cancel(ctx context.Context, now time.Time, req CancelRequest) error {
	if err := req.Validate(); err != nil {
		return err
	}
	ms, err := nowMs(now)
	if err != nil {
		return err
	}
	o, err := result(s.write(ctx, cancelFunc, req.Campaign,
		padMs(ms), s.gf(ms, req.fingerprint()), "k:"+encodeID(req.Key), "p:"+encodeID(req.Person), req.ID))
	if err != nil {
		return err
	}
	return o.err()
}

func (s *redisStore) Move(ctx context.Context, now time.Time, req MoveRequest) (Booking, error) {
	if err := req.Validate(); err != nil {
		return Booking{}, err
	}
	ms, err := nowMs(now)
	if err != nil {
		return Booking{}, err
	}
	to := encodeID(req.To)
	o, err := result(s.write(ctx, moveFunc, req.Campaign,
		padMs(ms), s.gf(ms, req.fingerprint()), "k:"+encodeID(req.Key), "p:"+encodeID(req.Person), req.ID, "h:"+to, to))
	o.rec.person = req.Person
	return s.booking(req.Campaign, o, err)
}

func (s *redisStore) Lookup(ctx context.Context, now time.Time, campaign Campaign, person string) (Entry, error) {
	if err := validLookup(campaign, person); err != nil {
		return Entry{}, err
	}
	ms, err := nowMs(now)
	if err != nil {
		return Entry{}, err
	}
	if err := ctx.Err(); err != nil {
		return Entry{}, unavailable(err)
	}
	// A plain read, one HGET: the record says when a hold expires, so
	// whether it is live at now is judged here, as the functions would.
	rec, err := s.rdb.HGet(ctx, s.campaignKeys(campaign)[0], "p:"+encodeID(person)).Result()
	if err == redis.Nil {
		return Entry{}, fail(codeNotFound, "").err()
	}
	if err != nil {
		return Entry{}, unavailable(err)
	}
	id, r, err := decodeRecord(rec)
	if err != nil {
		return Entry{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if r.state == stateExpired || r.state == stateCancelled || r.state == stateHeld && r.expires <= ms {
		return Entry{}, fail(codeNotFound, "").err()
	}
	r.person = person
	return outcome{id: id, rec: r}.entry(campaign), nil
}

// parseSlots decodes the "slot|capacity|booked|held" lines of the
// availability and snapshot functions.
func parseSlots(v any) ([]Availability, error) {
	lines, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%w: unexpected availability reply %T", ErrUnavailable, v)
	}
	out := make([]Availability, 0, len(lines))
	for _, l := range lines {
		line, _ := l.(string)
		if strings.HasPrefix(line, "!") {
			o, err := decodeOutcome(line)
			if err != nil {
				return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
			}
			return nil, o.err()
		}
		parts := strings.Split(line, "|")
		if len(parts) != 4 {
			return nil, fmt.Errorf("%w: malformed availability line", ErrUnavailable)
		}
		id, err := decodeID(parts[0])
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		var n [3]int
		for i := range n {
			if n[i], err = strconv.Atoi(parts[1+i]); err != nil {
				return nil, fmt.Errorf("%w: malformed availability count", ErrUnavailable)
			}
		}
		out = append(out, availability(id, n[0], n[1], n[2]))
	}
	return out, nil
}

func (s *redisStore) Availability(ctx context.Context, now time.Time, campaign Campaign, ids []string) ([]Availability, error) {
	if err := validAvailability(campaign, ids); err != nil {
		return nil, err
	}
	ms, err := nowMs(now)
	if err != nil {
		return nil, err
	}
	args := make([]any, 0, 2+len(ids))
	args = append(args, padMs(ms), padMs(ms+s.retention))
	for _, id := range ids {
		args = append(args, encodeID(id))
	}
	v, err := s.run(ctx, availabilityFunc, campaign, false, args...)
	if err != nil {
		return nil, err
	}
	out, err := parseSlots(v)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		sort.Slice(out, func(i, j int) bool { return out[i].Slot < out[j].Slot })
	} else if len(out) != len(ids) {
		return nil, fmt.Errorf("%w: availability reply has %d slots, asked %d", ErrUnavailable, len(out), len(ids))
	}
	return out, nil
}

// Totals reads the totals the functions keep in the campaign's data (see
// lua/totals.lua): one HMGET whatever the number of slots. Free is summed
// per slot there as here: a slot's free places are never negative.
func (s *redisStore) Totals(ctx context.Context, now time.Time, campaign Campaign) (Totals, error) {
	if err := campaign.Validate(); err != nil {
		return Totals{}, err
	}
	ms, err := nowMs(now)
	if err != nil {
		return Totals{}, err
	}
	v, err := s.run(ctx, totalsFunc, campaign, false, padMs(ms), padMs(ms+s.retention))
	if err != nil {
		return Totals{}, err
	}
	n, ok := v.([]any)
	if !ok || len(n) != 3 {
		return Totals{}, fmt.Errorf("%w: unexpected totals reply", ErrUnavailable)
	}
	var c [3]int64
	for i := range c {
		if c[i], ok = n[i].(int64); !ok || c[i] < 0 {
			return Totals{}, fmt.Errorf("%w: malformed totals reply", ErrUnavailable)
		}
	}
	return Totals{Capacity: int(c[0]), Free: int(c[1]), Held: int(c[2]), Booked: int(c[0] - c[1] - c[2])}, nil
}

func (s *redisStore) Snapshot(ctx context.Context, now time.Time, campaign Campaign) (Snapshot, error) {
	if err := campaign.Validate(); err != nil {
		return Snapshot{}, err
	}
	ms, err := nowMs(now)
	if err != nil {
		return Snapshot{}, err
	}
	v, err := s.run(ctx, snapshotFunc, campaign, false, padMs(ms), padMs(ms+s.retention))
	if err != nil {
		return Snapshot{}, err
	}
	parts, ok := v.([]any)
	if !ok || len(parts) != 2 {
		return Snapshot{}, fmt.Errorf("%w: unexpected snapshot reply", ErrUnavailable)
	}
	snap := Snapshot{Campaign: campaign, At: now, Holds: []Hold{}, Bookings: []Booking{}}
	if snap.Slots, err = parseSlots(parts[0]); err != nil {
		return Snapshot{}, err
	}
	sort.Slice(snap.Slots, func(i, j int) bool { return snap.Slots[i].Slot < snap.Slots[j].Slot })
	flat, ok := parts[1].([]any)
	if !ok || len(flat)%2 != 0 {
		return Snapshot{}, fmt.Errorf("%w: unexpected snapshot records", ErrUnavailable)
	}
	for i := 0; i < len(flat); i += 2 {
		field, _ := flat[i].(string)
		enc, ok := strings.CutPrefix(field, "p:")
		if !ok {
			continue // an idempotency record, a count or a bound
		}
		line, _ := flat[i+1].(string)
		id, r, err := decodeRecord(line)
		if err == nil {
			r.person, err = decodeID(enc)
		}
		if err != nil {
			return Snapshot{}, fmt.Errorf("%w: bad record %.40q: %v", ErrUnavailable, line, err)
		}
		o := outcome{id: id, rec: r}
		switch r.state {
		case stateHeld:
			snap.Holds = append(snap.Holds, o.hold(campaign))
		case stateBooked:
			snap.Bookings = append(snap.Bookings, o.booking(campaign))
		}
	}
	sortSnapshot(&snap)
	return snap, nil
}
