package admission

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/internal/groupcommit"
	"github.com/gatehouse-go/gatehouse/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// The batch function's proof: a batch of calls of one room, sent as ONE
// FCALL, gives every call exactly the reply (or error) its own function
// gives when the calls run one after another, and leaves the room's keys
// exactly as they leave them.

var batchCtx = context.Background()

// step is one call of a room in a test sequence.
type step struct {
	op    byte
	who   int           // the identity (join, status, done)
	at    time.Duration // now, from the opening
	hint  []int64       // status, done: place, index, E (nil: none, -1s)
	extra []int64       // limits: rate, burst, cap, min, max, since; supply: free, held, allowance
	other bool          // called with another seed: GATEHOUSE_MISCONFIGURED
}

var batchParams = Params{Opening: time.Date(2021, 7, 12, 11, 0, 0, 0, time.UTC), Rate: 120, Burst: 2, Cap: 3,
	ClaimWindow: 1500 * time.Millisecond, SessionTTL: 3 * time.Second, DrainWindow: 4 * time.Second, Seed: Seed{5, 5, 5}}

// call makes st's call on room.
func (st step) call(s *redisStore, room string) roomCall {
	keys, err := s.keys(room)
	if err != nil {
		panic(err)
	}
	p := batchParams
	if st.other {
		p.Seed = Seed{6}
	}
	now := ms(p.Opening.Add(st.at))
	c := roomCall{op: st.op, keys: keys}
	switch st.op {
	case opStatus, opDone:
		h := st.hint
		if h == nil {
			h = []int64{-1, -1, -1}
		}
		c.a = packArgs(st.op, p, p.Seed.Commitment(), now, h...)
	default:
		c.a = packArgs(st.op, p, p.Seed.Commitment(), now, st.extra...)
	}
	if st.op <= opDone {
		c.field = idField(HashIdentity(make([]byte, 32), fmt.Sprint("person-", st.who)))
	}
	return c
}

// outcome is a call's raw reply, or its error's text.
type outcome struct {
	reply any
	err   string
}

func outcomeOf(reply any, err error) outcome {
	if err != nil {
		return outcome{err: err.Error()}
	}
	return outcome{reply: reply}
}

// alone runs steps on room one after another, each with its own
// function, as the unbatched store does.
func alone(t *testing.T, s *redisStore, room string, steps []step) []outcome {
	t.Helper()
	out := make([]outcome, len(steps))
	for i, st := range steps {
		c := st.call(s, room)
		r, err := s.fcall(batchCtx, fnNames[c.op], c.keys, c.args()...)
		out[i] = outcomeOf(r, err)
	}
	return out
}

// together sends the steps of every room of rooms as one round trip of
// the group commit (interleaved in the order given by order: a room
// index each), and returns each room's outcomes.
func together(s *redisStore, rooms []string, steps [][]step, order []int) [][]outcome {
	var batch []*pendingCall
	next := make([]int, len(rooms))
	for _, r := range order {
		batch = append(batch, &pendingCall{In: steps[r][next[r]].call(s, rooms[r])})
		next[r]++
	}
	s.send(batchCtx, batch)
	out := make([][]outcome, len(rooms))
	for i, r := range order {
		out[r] = append(out[r], outcomeOf(batch[i].Out, batch[i].Err))
	}
	return out
}

// roomKeys reads a room's keys: its hash, and its two sets with scores.
func roomKeys(t *testing.T, c redis.UniversalClient, s *redisStore, room string) []any {
	t.Helper()
	keys, _ := s.keys(room)
	h, err := c.HGetAll(batchCtx, keys[0]).Result()
	if err != nil {
		t.Fatal(err)
	}
	a, err := c.ZRangeWithScores(batchCtx, keys[1], 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.ZRangeWithScores(batchCtx, keys[2], 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	return []any{h, a, r}
}

// fcallHook counts the FCALLs a client sends, by function, the calls the
// batch FCALLs carry ("batched calls"), and its round trips with FCALLs.
type fcallHook struct {
	mu    sync.Mutex
	byFn  map[string]int
	trips atomic.Int64
}

func (h *fcallHook) note(cmds ...redis.Cmder) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, c := range cmds {
		if c.Name() == "fcall" {
			fn, _ := c.Args()[1].(string)
			fn = strings.TrimPrefix(fn, libName+"_")
			h.byFn[fn]++
			if fn == "batch" {
				// The calls it carries: one packed argument each.
				for _, a := range c.Args()[6:] {
					if _, ok := a.([]byte); ok {
						h.byFn["batched calls"]++
					}
				}
			}
			n++
		}
	}
	if n > 0 {
		h.trips.Add(1)
	}
}
func (h *fcallHook) reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.byFn = map[string]int{}
	h.trips.Store(0)
}
func (h *fcallHook) count() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]int{}
	for k, v := range h.byFn {
		out[k] = v
	}
	return out
}
func (h *fcallHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *fcallHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.note(cmd)
		return next(ctx, cmd)
	}
}
func (h *fcallHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.note(cmds...)
		return next(ctx, cmds)
	}
}

func batchTestStore(t *testing.T, c redis.UniversalClient) *redisStore {
	t.Helper()
	st, err := NewRedisStore(c, RedisOptions{Prefix: fmt.Sprintf("gh-batch-%d:", time.Now().UnixNano()), Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return st.(*redisStore)
}

// scripted is a sequence with every kind of call and answer: several
// identities, the same person twice in a row, early arrivals, a status
// before joining (NOTJOINED), an early arrival's status without a hint
// (NEEDPLACE) and with one, a caller with another seed (MISCONFIGURED),
// done, limits, supply, a now that goes back, claims, and a lease that
// ends unclaimed (the person returns).
func scripted() []step {
	s := time.Second
	hint := func(who, e int) []int64 {
		return []int64{int64(place(batchParams.Seed, uint64(e), uint64(who))), int64(who), int64(e)}
	}
	return []step{
		{op: opStatus, who: 9, at: -3 * s}, // NOTJOINED, and the room is made
		{op: opJoin, who: 0, at: -3 * s},
		{op: opJoin, who: 1, at: -2 * s},
		{op: opJoin, who: 1, at: -2 * s}, // the same person again
		{op: opJoin, who: 2, at: -1 * s},
		{op: opJoin, who: 3, at: -1 * s, other: true}, // MISCONFIGURED
		{op: opStatus, who: 0, at: -1 * s},
		{op: opAdvance, at: 0},
		{op: opStatus, who: 1, at: 100 * time.Millisecond},                   // NEEDPLACE
		{op: opStatus, who: 1, at: 100 * time.Millisecond, hint: hint(1, 3)}, // E = 3
		{op: opStatus, who: 1, at: 100 * time.Millisecond, hint: hint(1, 3)}, // again
		{op: opDone, who: 2, at: 200 * time.Millisecond, hint: hint(2, 3)},
		{op: opJoin, who: 4, at: 300 * time.Millisecond},
		{op: opStatus, who: 0, at: 50 * time.Millisecond, hint: hint(0, 3)}, // time goes back
		{op: opLimits, at: 400 * time.Millisecond, extra: []int64{60, 1, 2, 0, 0, -1}},
		{op: opSupply, at: 500 * time.Millisecond, extra: []int64{10, 1, 3}},
		{op: opJoin, who: 5, at: 600 * time.Millisecond},
		{op: opStatus, who: 4, at: 3 * s},
		{op: opStatus, who: 5, at: 6 * s},
		{op: opStatus, who: 0, at: 7 * s, hint: hint(0, 3)}, // its lease ended unclaimed: returns
		{op: opLimits, at: 7 * s, extra: []int64{240, 3, 0, 0, 0, ms(batchParams.Opening.Add(time.Second))}},
		{op: opDone, who: 1, at: 8 * s},
		{op: opDone, who: 1, at: 8 * s},
		{op: opStatus, who: 7, at: 8 * s},                                // NOTJOINED
		{op: opAdvance, at: 9 * s, other: true},                          // MISCONFIGURED
		{op: opSupply, at: 10 * s, extra: []int64{0, 0, 0}, other: true}, // MISCONFIGURED
		{op: opAdvance, at: 12 * s},
	}
}

// randomSteps is a sequence of n random calls of up to people identities,
// around the opening, now mostly going forward, often staying at the
// instant of the call before (as calls of one batch do).
func randomSteps(rng *rand.Rand, n, people int) []step {
	steps := make([]step, n)
	at := time.Duration(rng.IntN(4000)-3000) * time.Millisecond
	for i := range steps {
		if rng.IntN(5) >= 2 { // else at the instant of the call before
			at += time.Duration(rng.IntN(900)-100) * time.Millisecond
		}
		st := step{at: at, who: rng.IntN(people), other: rng.IntN(40) == 0}
		switch k := rng.IntN(20); {
		case k < 7:
			st.op = opJoin
		case k < 14:
			st.op = opStatus
		case k < 16:
			st.op = opDone
		case k < 17:
			st.op = opAdvance
		case k < 19:
			st.op = opLimits
			rate := int64(30 + rng.IntN(300))
			since := int64(-1)
			if rng.IntN(2) == 0 {
				since = ms(batchParams.Opening.Add(at - time.Duration(rng.IntN(3000))*time.Millisecond))
			}
			st.extra = []int64{rate, int64(1 + rng.IntN(3)), int64(rng.IntN(4)), 0, 0, since}
		default:
			st.op = opSupply
			st.extra = []int64{int64(rng.IntN(20)), int64(rng.IntN(3)), int64(rng.IntN(8))}
		}
		steps[i] = st
	}
	return steps
}

// withHints gives most early arrivals' status and done the hint they
// would have asked for: the steps are run alone on a scratch room, and
// the ones answered NEEDPLACE get the place of the index and E asked.
func withHints(t *testing.T, s *redisStore, room string, rng *rand.Rand, steps []step) {
	t.Helper()
	for i, o := range alone(t, s, room, steps) {
		if r, ok := o.reply.([]any); ok && len(r) == 3 && r[0] == int64(replyNeedPlace) && rng.IntN(3) > 0 {
			idx, e := r[1].(int64), r[2].(int64)
			steps[i].hint = []int64{int64(place(batchParams.Seed, uint64(e), uint64(idx))), idx, e}
		}
	}
}

func compare(t *testing.T, what string, steps []step, want, got []outcome) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d outcomes, want %d", what, len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("%s: call %d %+v in a batch: %#v, alone %#v", what, i, steps[i], got[i], want[i])
		}
	}
}

// TestRedisBatchMatchesAlone: a batch of calls of one room is one FCALL of
// the batch function, and gives each call exactly what the calls one
// after another with their own functions give (replies, NOTJOINED,
// NEEDPLACE, the MISCONFIGURED error), leaving the room's hash and sets
// exactly as they do: a scripted sequence with every kind of call, then
// random ones with people repeated within a batch; on a Cluster also a
// batch mixing two rooms on different shards (one batch FCALL each, in
// one round trip).
func TestRedisBatchMatchesAlone(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	cluster := redistest.StartCluster(t, redistest.Options{})
	for _, b := range []struct {
		name string
		c    redis.UniversalClient
	}{{"Standalone", srv.Client()}, {"Cluster", cluster.Client()}} {
		t.Run(b.name, func(t *testing.T) {
			h := &fcallHook{byFn: map[string]int{}}
			b.c.AddHook(h)
			s := batchTestStore(t, b.c)
			run := 0
			check := func(t *testing.T, steps []step) {
				t.Helper()
				run++
				ra, rb := fmt.Sprint("alone-", run), fmt.Sprint("batch-", run)
				want := alone(t, s, ra, steps)
				h.reset()
				order := make([]int, len(steps))
				got := together(s, []string{rb}, [][]step{steps}, order)[0]
				if c := h.count(); len(steps) > 1 && (c["batch"] != 1 || c["batched calls"] != len(steps) || len(c) != 2 || h.trips.Load() != 1) {
					t.Fatalf("%d calls of one room went as %v in %d round trips, want one batch FCALL", len(steps), c, h.trips.Load())
				}
				compare(t, "one room", steps, want, got)
				if ka, kb := roomKeys(t, b.c, s, ra), roomKeys(t, b.c, s, rb); !reflect.DeepEqual(ka, kb) {
					t.Fatalf("the room's keys after the batch:\n%v\nafter the calls alone:\n%v", kb, ka)
				}
			}
			t.Run("Scripted", func(t *testing.T) {
				steps := scripted()
				check(t, steps)
				// Every kind of answer happened.
				kinds := map[string]bool{}
				for _, o := range alone(t, s, "kinds", steps) {
					switch r := o.reply.(type) {
					case string:
						kinds["ok"] = true
					case []any:
						kinds[fmt.Sprint("code ", r[0])] = true
					}
					if strings.Contains(o.err, "GATEHOUSE_MISCONFIGURED") {
						kinds["misconfigured"] = true
					}
				}
				if len(kinds) != 4 {
					t.Fatalf("the scripted calls answered %v; want ok, codes 1 and 2, misconfigured", kinds)
				}
			})
			t.Run("Random", func(t *testing.T) {
				rng := rand.New(rand.NewPCG(13, 4))
				for i := range 60 {
					steps := randomSteps(rng, 2+rng.IntN(40), 1+rng.IntN(8))
					withHints(t, s, fmt.Sprint("scratch-", i), rng, steps)
					check(t, steps)
				}
			})
			cc, ok := b.c.(*redis.ClusterClient)
			if !ok {
				return
			}
			t.Run("TwoRooms", func(t *testing.T) {
				// master is the address of the master that keeps room.
				master := func(room string) string {
					m, err := cc.MasterForKey(batchCtx, "gh:{"+room+"}:s")
					if err != nil {
						t.Fatal(err)
					}
					return m.Options().Addr
				}
				rng := rand.New(rand.NewPCG(13, 5))
				for i := range 10 {
					steps := [][]step{randomSteps(rng, 2+rng.IntN(20), 4), randomSteps(rng, 2+rng.IntN(20), 4)}
					var order []int
					for r := range steps {
						withHints(t, s, fmt.Sprint("mix-scratch-", i, "-", r), rng, steps[r])
						for range steps[r] {
							order = append(order, r)
						}
					}
					rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
					// Two rooms on different masters.
					batchRooms := []string{fmt.Sprint("mix-a-", i)}
					for j := 0; len(batchRooms) < 2; j++ {
						if name := fmt.Sprint("mix-b-", i, "-", j); master(name) != master(batchRooms[0]) {
							batchRooms = append(batchRooms, name)
						}
					}
					var want [][]outcome
					for r := range steps {
						want = append(want, alone(t, s, fmt.Sprint("mix-alone-", i, "-", r), steps[r]))
					}
					h.reset()
					got := together(s, batchRooms, steps, order)
					if c := h.count(); c["batch"] != 2 || c["batched calls"] != len(order) || len(c) != 2 || h.trips.Load() != 1 {
						t.Fatalf("calls of two rooms went as %v in %d round trips, want one batch FCALL each in one", c, h.trips.Load())
					}
					for r := range steps {
						compare(t, fmt.Sprint("room ", r), steps[r], want[r], got[r])
						if ka, kb := roomKeys(t, b.c, s, fmt.Sprint("mix-alone-", i, "-", r)), roomKeys(t, b.c, s, batchRooms[r]); !reflect.DeepEqual(ka, kb) {
							t.Fatalf("room %d's keys after the batch:\n%v\nafter the calls alone:\n%v", r, kb, ka)
						}
					}
				}
			})
		})
	}
}

// TestRedisGroupCommitOneFCALL: callers of one room that queue while two
// round trips are in flight (Redis stalled) go as ONE FCALL of the batch
// function, and each caller gets exactly what the same calls give one
// after another on a store without group commit: several people, the
// same person twice, a status before joining (ErrNotJoined), a caller
// with another seed (ErrMisconfigured), a claim, done, the line and its
// limits, and last an early arrival's status without a hint (NEEDPLACE:
// its second round trip follows the batch, as it follows the call alone).
func TestRedisGroupCommitOneFCALL(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	c := srv.Client()
	h := &fcallHook{byFn: map[string]int{}}
	c.AddHook(h)
	batched := batchTestStore(t, c)
	batched.timeout = 10 * time.Second
	seq := batchTestStore(t, c)
	seq.unbatched = true
	p := batchParams
	other := p
	other.Seed = Seed{6}
	id := func(n int) IdentityHash { return HashIdentity(make([]byte, 32), fmt.Sprint("person-", n)) }
	at := func(d time.Duration) time.Time { return p.Opening.Add(d) }
	// E is 3 (people 0, 1 and 2 join early); person 1's hint.
	hint1 := PlaceHint{Known: true, Index: 1, Early: 3, Place: place(p.Seed, 3, 1)}
	ms := time.Millisecond
	calls := []func(s Store) (any, error){
		func(s Store) (any, error) { return s.Join(batchCtx, at(-2*time.Second), "r", p, id(0)) },
		func(s Store) (any, error) { return s.Join(batchCtx, at(-2*time.Second), "r", p, id(1)) },
		func(s Store) (any, error) { return s.Join(batchCtx, at(-time.Second), "r", p, id(0)) },
		func(s Store) (any, error) { return s.Status(batchCtx, at(-time.Second), "r", p, id(2), PlaceHint{}) },
		func(s Store) (any, error) { return s.Join(batchCtx, at(-time.Second), "r", p, id(2)) },
		func(s Store) (any, error) { return s.Status(batchCtx, at(100*ms), "r", p, id(1), hint1) },
		func(s Store) (any, error) { return s.Status(batchCtx, at(200*ms), "r", p, id(1), hint1) },
		func(s Store) (any, error) { return s.Join(batchCtx, at(300*ms), "r", other, id(3)) },
		func(s Store) (any, error) { return s.Join(batchCtx, at(400*ms), "r", p, id(3)) },
		func(s Store) (any, error) { return s.Done(batchCtx, at(500*ms), "r", p, id(1)) },
		func(s Store) (any, error) { return s.Advance(batchCtx, at(600*ms), "r", p) },
		func(s Store) (any, error) {
			return s.SetLimits(batchCtx, at(700*ms), "r", p, Limits{Rate: 60, Burst: 1, Cap: 2})
		},
		func(s Store) (any, error) { return s.Status(batchCtx, at(time.Second), "r", p, id(0), PlaceHint{}) },
	}
	type result struct {
		v   any
		err error
	}
	want := make([]result, len(calls))
	for i, call := range calls {
		want[i].v, want[i].err = call(seq)
	}

	// groupcommit.InFlight round trips in flight on another room, Redis
	// asleep.
	if _, err := batched.Advance(batchCtx, at(0), "blocker", p); err != nil {
		t.Fatal(err)
	}
	slept := srv.DebugSleep(time.Second)
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for start := time.Now(); ; time.Sleep(time.Millisecond) {
			if ok() {
				return
			}
			if time.Since(start) > 500*ms {
				t.Fatalf("waited for %s", what)
			}
		}
	}
	// One after the other: calls made together would share a round trip.
	var wg sync.WaitGroup
	h.reset()
	for k := range groupcommit.InFlight {
		wg.Go(func() {
			if _, err := batched.Advance(batchCtx, at(0), "blocker", p); err != nil {
				t.Error(err)
			}
		})
		waitFor("a blocker's round trip sent", func() bool { return h.trips.Load() == int64(k+1) })
	}
	waitFor("the round trips in flight", func() bool { n, _ := batched.batch.Len(); return n == groupcommit.InFlight })
	h.reset()
	got := make([]result, len(calls))
	for i, call := range calls {
		wg.Go(func() { got[i].v, got[i].err = call(batched) })
		waitFor("the call to queue", func() bool { _, n := batched.batch.Len(); return n == i+1 })
	}
	wg.Wait()
	<-slept
	if n := h.count(); n["batch"] != 1 || n["batched calls"] != len(calls) || n["status"] != 1 || len(n) != 3 {
		t.Fatalf("FCALLs %v; want one batch of the %d calls and the NEEDPLACE's second status", n, len(calls))
	}
	kind := func(err error) string {
		for _, k := range []error{ErrNotJoined, ErrMisconfigured, ErrUnavailable} {
			if errors.Is(err, k) {
				return k.Error()
			}
		}
		return fmt.Sprint(err)
	}
	for i := range calls {
		if kind(got[i].err) != kind(want[i].err) || !reflect.DeepEqual(got[i].v, want[i].v) {
			t.Errorf("call %d in a batch: %+v, %v; one after another: %+v, %v", i, got[i].v, got[i].err, want[i].v, want[i].err)
		}
	}
	for i, k := range []error{nil, nil, nil, ErrNotJoined, nil, nil, nil, ErrMisconfigured} {
		if kind(want[i].err) != kind(k) {
			t.Errorf("call %d: %v, want %v", i, want[i].err, k)
		}
	}
	if r, ok := want[6].v.(Record); !ok || r.State != StateAdmitted {
		t.Errorf("person 1's second status: %+v, want admitted", want[6].v)
	}
}
