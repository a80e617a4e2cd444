package slots_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/internal/redistest"
	"github.com/gatehouse-go/gatehouse/slots"
	"github.com/gatehouse-go/gatehouse/slots/slotstest"
	"github.com/redis/go-redis/v9"
)

var prefixSeq atomic.Int64

// testBudget is the store budget of the tests that check what the store
// decides, not how fast: under -race on a loaded machine a call may take
// longer than the 500 ms default. The fault suite and the failover trial
// give their budgets.
const testBudget = 30 * time.Second

// freshStore returns a store on rdb under a key prefix no other store of
// this test binary uses, with testBudget unless opts gives a Timeout.
func freshStore(t testing.TB, rdb redis.UniversalClient, opts slots.RedisOptions) slots.Store {
	t.Helper()
	if opts.Timeout == 0 {
		opts.Timeout = testBudget
	}
	if opts.Prefix == "" {
		opts.Prefix = fmt.Sprintf("test%d:", prefixSeq.Add(1))
	}
	s, err := slots.NewRedisStore(rdb, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRedisConformance(t *testing.T) {
	rdb := redistest.Start(t, redistest.Options{}).Client()
	slotstest.Run(t, func(t *testing.T) slots.Store { return freshStore(t, rdb, slots.RedisOptions{}) })
}

// TestRedisCluster runs on one three-master Cluster: the conformance suite,
// and WaitReplicas routed to each campaign's own primary.
func TestRedisCluster(t *testing.T) {
	rdb := redistest.StartCluster(t, redistest.Options{}).Client()
	t.Run("Conformance", func(t *testing.T) {
		slotstest.Run(t, func(t *testing.T) slots.Store { return freshStore(t, rdb, slots.RedisOptions{}) })
	})
	t.Run("WaitReplicas", func(t *testing.T) { clusterWaitReplicas(t, rdb) })
}

var t0 = time.Date(2021, 7, 12, 20, 0, 0, 0, time.FixedZone("KST", 9*60*60))

// snapshot reads campaign c through s, which must be a Snapshotter, and
// checks the invariants.
func snapshot(t *testing.T, s slots.Store, now time.Time, c slots.Campaign) slots.Snapshot {
	t.Helper()
	snap, err := s.(slots.Snapshotter).Snapshot(context.Background(), now, c)
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	if err := snap.Check(); err != nil {
		t.Fatalf("invariants: %v", err)
	}
	return snap
}

// TestRedisCrashKeepsConfirmedBookings confirms bookings on a server with
// appendfsync always, kills it with SIGKILL, checks that every operation
// fails with ErrUnavailable while it is down, restarts it, and finds every
// confirmed booking and nothing from the outage.
func TestRedisCrashKeepsConfirmedBookings(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{AOF: true})
	s := freshStore(t, srv.Client(), slots.RedisOptions{Prefix: "crash:"})
	ctx := context.Background()
	const c = slots.Campaign("crash")
	var defs []slots.Slot
	for i := range 8 {
		defs = append(defs, slots.Slot{ID: fmt.Sprint("slot-", i), Capacity: 25})
	}
	if err := s.DefineSlots(ctx, t0, slots.DefineRequest{Campaign: c, Slots: defs, Key: "define"}); err != nil {
		t.Fatal(err)
	}
	const n = 180
	var bookings []slots.Booking
	for i := range n {
		hd, err := s.Hold(ctx, t0, slots.HoldRequest{Campaign: c, Slot: defs[i%len(defs)].ID, Person: fmt.Sprint("p", i), TTL: time.Hour, Key: fmt.Sprint("h", i)})
		if err != nil {
			t.Fatal(err)
		}
		if i%6 == 5 {
			continue // left as a live hold
		}
		b, err := s.Confirm(ctx, t0, slots.ConfirmRequest{Campaign: c, HoldID: hd.ID, Person: hd.Person, Key: fmt.Sprint("c", i)})
		if err != nil {
			t.Fatal(err)
		}
		bookings = append(bookings, b)
	}
	// The last booking is confirmed; kill at once.
	before := snapshot(t, s, t0, c)
	srv.Kill()
	// While it is down, ask through a client that does not retry, so the
	// test is quick; the store is the same (same prefix).
	fast := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1, DialerRetries: 1, DialTimeout: 200 * time.Millisecond, ContextTimeoutEnabled: true})
	defer fast.Close()
	s = freshStore(t, fast, slots.RedisOptions{Prefix: "crash:"})

	// Down: every operation refuses with ErrUnavailable.
	down := t0.Add(time.Second)
	hd0 := before.Holds[0]
	checks := map[string]error{
		"DefineSlots": s.DefineSlots(ctx, down, slots.DefineRequest{Campaign: c, Slots: []slots.Slot{{ID: "new", Capacity: 1}}, Key: "d2"}),
		"Cancel":      s.Cancel(ctx, down, slots.CancelRequest{Campaign: c, ID: bookings[0].ID, Person: bookings[0].Person, Key: "x1"}),
	}
	_, checks["Hold"] = s.Hold(ctx, down, slots.HoldRequest{Campaign: c, Slot: "slot-0", Person: "outage", TTL: time.Hour, Key: "x2"})
	_, checks["Confirm"] = s.Confirm(ctx, down, slots.ConfirmRequest{Campaign: c, HoldID: hd0.ID, Person: hd0.Person, Key: "x3"})
	_, checks["Move"] = s.Move(ctx, down, slots.MoveRequest{Campaign: c, ID: bookings[1].ID, Person: bookings[1].Person, To: "slot-7", Key: "x4"})
	_, checks["Lookup"] = s.Lookup(ctx, down, c, "p1")
	_, checks["Availability"] = s.Availability(ctx, down, c, nil)
	_, checks["Snapshot"] = s.(slots.Snapshotter).Snapshot(ctx, down, c)
	for op, err := range checks {
		if !errors.Is(err, slots.ErrUnavailable) {
			t.Errorf("%s with Redis down: %v, want ErrUnavailable", op, err)
		}
	}

	srv.Restart()
	s = freshStore(t, srv.Client(), slots.RedisOptions{Prefix: "crash:"})
	after := snapshot(t, s, t0, c)
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("state after kill -9 and restart differs:\nbefore %+v\nafter  %+v", before, after)
	}
	if len(after.Bookings) != len(bookings) {
		t.Fatalf("%d bookings after restart, %d confirmed", len(after.Bookings), len(bookings))
	}
	for _, b := range bookings {
		e, err := s.Lookup(ctx, down, c, b.Person)
		if err != nil || e.Booking == nil || *e.Booking != b {
			t.Fatalf("booking %s after restart: %+v, %v", b.ID, e, err)
		}
	}
	if _, err := s.Lookup(ctx, down, c, "outage"); !errors.Is(err, slots.ErrNotFound) {
		t.Fatalf("the Hold tried during the outage exists: %v", err)
	}
	// The keys tried during the outage were never used.
	if err := s.Cancel(ctx, down, slots.CancelRequest{Campaign: c, ID: bookings[0].ID, Person: bookings[0].Person, Key: "x1"}); err != nil {
		t.Fatalf("Cancel under a key first tried during the outage: %v", err)
	}
}

// TestRedisScriptErrorIsUnavailable puts a value of the wrong type where the
// store keeps a campaign's records: the script fails, and the store reports
// ErrUnavailable, not a booking or a domain error.
func TestRedisScriptErrorIsUnavailable(t *testing.T) {
	rdb := redistest.Start(t, redistest.Options{}).Client()
	s := freshStore(t, rdb, slots.RedisOptions{Prefix: "broken:"})
	ctx := context.Background()
	if err := rdb.Set(ctx, "broken:{c}:v2:data", "not a hash", 0).Err(); err != nil {
		t.Fatal(err)
	}
	_, err := s.Hold(ctx, t0, slots.HoldRequest{Campaign: "c", Slot: "a", Person: "p", TTL: time.Minute, Key: "k"})
	if !errors.Is(err, slots.ErrUnavailable) {
		t.Fatalf("Hold with a corrupted data key: %v, want ErrUnavailable", err)
	}
	_, err = s.Availability(ctx, t0, "c", nil)
	if !errors.Is(err, slots.ErrUnavailable) {
		t.Fatalf("Availability with a corrupted data key: %v, want ErrUnavailable", err)
	}
	if n, _ := rdb.Exists(ctx, "broken:{c}:v2:slots", "broken:{c}:v2:hx", "broken:{c}:v2:gx").Result(); n != 0 {
		t.Fatalf("a failed script left %d keys behind", n)
	}
}

// dropConn loses the reply to the first FCALL it carries while armed, as a
// timeout or a reset connection would: the server has run the script, the
// client sees EOF, and go-redis sends the script again on a new connection.
type dropConn struct {
	net.Conn
	armed   *atomic.Bool
	dropped *atomic.Int64
	pending bool
}

func (c *dropConn) Write(b []byte) (int, error) {
	if c.armed.Load() && bytes.Contains(bytes.ToLower(b), []byte("fcall")) {
		c.pending = true
	}
	return c.Conn.Write(b)
}

func (c *dropConn) Read(b []byte) (int, error) {
	if c.pending && c.armed.CompareAndSwap(true, false) {
		// Let the server run the script, then lose its reply.
		n, err := c.Conn.Read(b)
		if err == nil && n > 0 {
			c.dropped.Add(1)
			c.Conn.Close()
			return 0, io.EOF
		}
		return n, err
	}
	return c.Conn.Read(b)
}

// TestRedisRetriedScriptRunsOnce shows why every write script records its
// outcome: go-redis resends a script whose reply was lost, and the second run
// must return the first run's result instead of acting again. It loses one
// reply of each of Hold, Cancel, Confirm and Move.
func TestRedisRetriedScriptRunsOnce(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	var armed atomic.Bool
	var dropped atomic.Int64
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), PoolSize: 1, ContextTimeoutEnabled: true,
		Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &dropConn{Conn: c, armed: &armed, dropped: &dropped}, nil
		}})
	t.Cleanup(func() { rdb.Close() })
	s := freshStore(t, rdb, slots.RedisOptions{})
	ctx := context.Background()
	const c = slots.Campaign("retry")
	if err := s.DefineSlots(ctx, t0, slots.DefineRequest{Campaign: c, Slots: []slots.Slot{{ID: "a", Capacity: 5}, {ID: "b", Capacity: 5}}, Key: "d"}); err != nil {
		t.Fatal(err)
	}

	armed.Store(true)
	hd, err := s.Hold(ctx, t0, slots.HoldRequest{Campaign: c, Slot: "a", Person: "p", TTL: time.Minute, Key: "h"})
	if dropped.Load() != 1 {
		t.Fatalf("no reply was dropped (%d): the test did not exercise a retry", dropped.Load())
	}
	if err != nil {
		t.Fatalf("Hold whose first reply was lost: %v (a second run that acts again would say ErrAlreadyBooked)", err)
	}
	snap := snapshot(t, s, t0, c)
	if len(snap.Holds) != 1 || snap.Holds[0] != hd || snap.Slots[0].Held != 1 {
		t.Fatalf("after a retried Hold: %+v, want exactly hold %+v", snap, hd)
	}

	armed.Store(true)
	if err := s.Cancel(ctx, t0, slots.CancelRequest{Campaign: c, ID: hd.ID, Person: "p", Key: "k"}); err != nil {
		t.Fatalf("Cancel whose first reply was lost: %v (a second run that acts again would say ErrNotFound)", err)
	}
	if dropped.Load() != 2 {
		t.Fatalf("dropped %d replies, want 2", dropped.Load())
	}
	if snap := snapshot(t, s, t0, c); len(snap.Holds) != 0 || snap.Slots[0].Held != 0 {
		t.Fatalf("after a retried Cancel: %+v", snap)
	}

	hd, err = s.Hold(ctx, t0, slots.HoldRequest{Campaign: c, Slot: "a", Person: "p", TTL: time.Minute, Key: "h2"})
	if err != nil {
		t.Fatal(err)
	}
	armed.Store(true)
	bk, err := s.Confirm(ctx, t0, slots.ConfirmRequest{Campaign: c, HoldID: hd.ID, Person: "p", Key: "c"})
	if err != nil || bk.ID != hd.ID || bk.Slot != "a" {
		t.Fatalf("Confirm whose first reply was lost: %+v, %v", bk, err)
	}
	if dropped.Load() != 3 {
		t.Fatalf("dropped %d replies, want 3", dropped.Load())
	}
	if snap := snapshot(t, s, t0, c); len(snap.Bookings) != 1 || snap.Slots[0].Booked != 1 || snap.Slots[0].Held != 0 {
		t.Fatalf("after a retried Confirm: %+v", snap)
	}
	armed.Store(true)
	mv, err := s.Move(ctx, t0, slots.MoveRequest{Campaign: c, ID: bk.ID, Person: "p", To: "b", Key: "m"})
	if err != nil || mv.Slot != "b" || mv.Confirmed != bk.Confirmed {
		t.Fatalf("Move whose first reply was lost: %+v, %v", mv, err)
	}
	if dropped.Load() != 4 {
		t.Fatalf("dropped %d replies, want 4", dropped.Load())
	}
	snap = snapshot(t, s, t0, c)
	if len(snap.Bookings) != 1 || snap.Bookings[0] != mv || snap.Slots[0].Booked != 0 || snap.Slots[1].Booked != 1 {
		t.Fatalf("after a retried Move: %+v", snap)
	}
}

// TestRedisKeysStayInLayout runs hostile identifiers through a store and
// checks every key it wrote: only the four names of each campaign, under the
// prefix, with the campaign as the whole hash tag.
func TestRedisKeysStayInLayout(t *testing.T) {
	rdb := redistest.Start(t, redistest.Options{}).Client()
	s := freshStore(t, rdb, slots.RedisOptions{Prefix: "layout:"})
	ctx := context.Background()
	ids := []string{"{x}", "}{", "a:b", "\xff", "|", strings.Repeat("{", slots.MaxIDLen)}
	for _, c := range []slots.Campaign{"c", "C-1.x_y"} {
		var defs []slots.Slot
		for _, id := range ids {
			defs = append(defs, slots.Slot{ID: id, Capacity: 2})
		}
		if err := s.DefineSlots(ctx, t0, slots.DefineRequest{Campaign: c, Slots: defs, Key: "{k}"}); err != nil {
			t.Fatal(err)
		}
		for i, id := range ids {
			hd, err := s.Hold(ctx, t0, slots.HoldRequest{Campaign: c, Slot: id, Person: ids[(i+1)%len(ids)], TTL: time.Second, Key: id})
			if err != nil {
				t.Fatal(err)
			}
			if i%2 == 0 {
				if _, err := s.Confirm(ctx, t0, slots.ConfirmRequest{Campaign: c, HoldID: hd.ID, Person: hd.Person, Key: "c" + id}); err != nil {
					t.Fatal(err)
				}
			}
		}
		// Let the rest expire, so the expiry sets are used too.
		if _, err := s.Availability(ctx, t0.Add(2*time.Second), c, nil); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(keys)
	want := regexp.MustCompile(`^layout:\{(c|C-1\.x_y)\}:v2:(slots|data|hx|gx)$`)
	for _, k := range keys {
		if !want.MatchString(k) {
			t.Errorf("key %q is outside the layout", k)
		}
	}
	if len(keys) < 6 {
		t.Errorf("keys = %q, want (up to) the four of each campaign", keys)
	}
}

// retentionCase is a store and the retention it was made with.
type retentionCase struct {
	name      string
	s         slots.Store
	retention time.Duration
}

// TestRetentionBoundsRecords checks that idempotency records and traces of
// expired holds go once their retention has passed: a used key becomes free
// again, and (on Redis) the records are deleted, a bounded number per call.
func TestRetentionBoundsRecords(t *testing.T) {
	rdb := redistest.Start(t, redistest.Options{}).Client()
	for _, tc := range []retentionCase{
		{"memory", slots.NewMemoryStore(), slots.DefaultRetention},
		{"redis", freshStore(t, rdb, slots.RedisOptions{Prefix: "ret:", Retention: 2 * time.Hour}), 2 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, ctx := tc.s, context.Background()
			const c = slots.Campaign("ret")
			if err := s.DefineSlots(ctx, t0, slots.DefineRequest{Campaign: c, Slots: []slots.Slot{{ID: "a", Capacity: 200}}, Key: "d"}); err != nil {
				t.Fatal(err)
			}
			var first slots.Hold
			for i := range 150 {
				hd, err := s.Hold(ctx, t0, slots.HoldRequest{Campaign: c, Slot: "a", Person: fmt.Sprint("p", i), TTL: time.Minute, Key: fmt.Sprint("k", i)})
				if err != nil {
					t.Fatal(err)
				}
				if i == 0 {
					first = hd
				}
			}
			// Within the retention: the key is taken, and a late Confirm is
			// told the hold expired.
			within := t0.Add(tc.retention - time.Millisecond)
			_, err := s.Hold(ctx, within, slots.HoldRequest{Campaign: c, Slot: "a", Person: "other", TTL: time.Minute, Key: "k0"})
			if !errors.Is(err, slots.ErrConflict) {
				t.Fatalf("reusing a key within retention: %v, want ErrConflict", err)
			}
			_, err = s.Confirm(ctx, within, slots.ConfirmRequest{Campaign: c, HoldID: first.ID, Person: "p0", Key: "late"})
			if !errors.Is(err, slots.ErrHoldExpired) {
				t.Fatalf("late Confirm within retention: %v, want ErrHoldExpired", err)
			}
			// Long after, everything made before has gone, and the key is
			// free again.
			later := t0.Add(3 * tc.retention)
			// A record past its retention does not count even before it
			// is dropped (here "zzz" sorts after the 100 records the first
			// call drops).
			if _, err := s.Hold(ctx, t0, slots.HoldRequest{Campaign: c, Slot: "a", Person: "z", TTL: time.Minute, Key: "zzz"}); err != nil {
				t.Fatal(err)
			}
			reuse := slots.HoldRequest{Campaign: c, Slot: "a", Person: "y", TTL: time.Minute, Key: "zzz"}
			hy, err := s.Hold(ctx, later, reuse)
			if err != nil {
				t.Fatalf("reusing a key past its retention, before it is dropped: %v", err)
			}
			// Dropping the old record must not drop the new one.
			for range 3 {
				if _, err := s.Availability(ctx, later, c, nil); err != nil {
					t.Fatal(err)
				}
			}
			if again, err := s.Hold(ctx, later.Add(time.Second), reuse); err != nil || again != hy {
				t.Fatalf("retry under the reused key = %+v, %v; want %+v", again, err, hy)
			}
			if tc.name == "redis" {
				// The first call at later expires the 150 holds, leaving
				// traces for another retention; each call drops at most
				// 100 stale records.
				r := tc.retention
				for _, at := range []time.Time{later, later, later, later.Add(r), later.Add(r), later.Add(r), later.Add(2 * r)} {
					if _, err := s.Availability(ctx, at, c, nil); err != nil {
						t.Fatal(err)
					}
				}
				fields, _ := rdb.HKeys(ctx, "ret:{ret}:v2:data").Result()
				data := 0
				for _, f := range fields {
					if strings.HasPrefix(f, "p:") || strings.HasPrefix(f, "k:") {
						data++
					}
				}
				gx, _ := rdb.LLen(ctx, "ret:{ret}:v2:gx").Result()
				hx, _ := rdb.ZCard(ctx, "ret:{ret}:v2:hx").Result()
				if data != 0 || gx != 0 || hx != 0 {
					t.Fatalf("3 retentions later: %d records, %d gc entries, %d expiry entries; want none", data, gx, hx)
				}
			}
			if _, err := s.Hold(ctx, later, slots.HoldRequest{Campaign: c, Slot: "a", Person: "other", TTL: time.Minute, Key: "k1"}); err != nil {
				t.Fatalf("reusing a key after retention: %v", err)
			}
		})
	}
}

func TestNewRedisStoreOptions(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	defer rdb.Close()
	for _, o := range []slots.RedisOptions{
		{Prefix: "a{b"}, {Prefix: "a}"}, {Prefix: "a b"}, {Prefix: strings.Repeat("p", 65)},
		{Retention: time.Minute}, {Retention: -time.Hour},
		{WaitReplicas: -1}, {WaitReplicas: 1, WaitTimeout: time.Microsecond},
		{Timeout: -time.Second}, {WaitReplicas: 1, WaitTimeout: time.Second, Timeout: time.Second},
	} {
		if _, err := slots.NewRedisStore(rdb, o); !errors.Is(err, slots.ErrInvalid) {
			t.Errorf("NewRedisStore(%+v): %v, want ErrInvalid", o, err)
		}
	}
	if _, err := slots.NewRedisStore(nil, slots.RedisOptions{}); !errors.Is(err, slots.ErrInvalid) {
		t.Errorf("NewRedisStore(nil): %v", err)
	}
	off := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer off.Close()
	if _, err := slots.NewRedisStore(off, slots.RedisOptions{}); !errors.Is(err, slots.ErrInvalid) {
		t.Errorf("a client that ignores context deadlines: %v, want ErrInvalid", err)
	}
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": "127.0.0.1:1"}, ContextTimeoutEnabled: true})
	defer ring.Close()
	if _, err := slots.NewRedisStore(ring, slots.RedisOptions{WaitReplicas: 1}); !errors.Is(err, slots.ErrInvalid) {
		t.Errorf("WaitReplicas on a Ring: %v, want ErrInvalid", err)
	}
	if _, err := slots.NewRedisStore(ring, slots.RedisOptions{}); err != nil {
		t.Errorf("Ring without WaitReplicas: %v", err)
	}
}

// TestRedisWaitReplicas runs a primary with one replica: with
// WaitReplicas 1 a booking returns once the replica has it; with the replica
// gone, the write stands on the primary but the call says ErrNotReplicated,
// and a retry with the same key waits again.
func TestRedisWaitReplicas(t *testing.T) {
	primary := redistest.Start(t, redistest.Options{Args: []string{"--repl-diskless-sync-delay", "0"}})
	replica := redistest.Start(t, redistest.Options{Args: []string{"--replicaof", "127.0.0.1", strconv.Itoa(primary.Port())}})
	ctx := context.Background()
	rc := replica.Client()
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, _ := rc.Info(ctx, "replication").Result()
		if strings.Contains(info, "master_link_status:up") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica did not connect: %s", info)
		}
		time.Sleep(20 * time.Millisecond)
	}
	s := freshStore(t, primary.Client(), slots.RedisOptions{Prefix: "w:", WaitReplicas: 1, WaitTimeout: 2 * time.Second})
	const c = slots.Campaign("wait")
	if err := s.DefineSlots(ctx, t0, slots.DefineRequest{Campaign: c, Slots: []slots.Slot{{ID: "a", Capacity: 5}}, Key: "d"}); err != nil {
		t.Fatal(err)
	}
	hd, err := s.Hold(ctx, t0, slots.HoldRequest{Campaign: c, Slot: "a", Person: "p", TTL: time.Minute, Key: "h"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Confirm(ctx, t0, slots.ConfirmRequest{Campaign: c, HoldID: hd.ID, Person: "p", Key: "c"})
	if err != nil {
		t.Fatalf("Confirm with a live replica: %v", err)
	}
	// The replica has the booking as soon as Confirm returned.
	recs, err := rc.HVals(ctx, "w:{wait}:v2:data").Result()
	found := false
	for _, r := range recs {
		// A booking's record: "B", its expiry and confirmation (15 digits
		// each), "|", its id.
		found = found || strings.HasPrefix(r, "B") && strings.HasPrefix(r[min(len(r), 32):], b.ID+"|")
	}
	if err != nil || !found {
		t.Fatalf("replica's records %q, %v: no booking %s", recs, err, b.ID)
	}

	replica.Kill()
	s2 := freshStore(t, primary.Client(), slots.RedisOptions{Prefix: "w:", WaitReplicas: 1, WaitTimeout: 50 * time.Millisecond})
	req := slots.HoldRequest{Campaign: c, Slot: "a", Person: "q", TTL: time.Minute, Key: "h2"}
	_, err = s2.Hold(ctx, t0, req)
	if !errors.Is(err, slots.ErrNotReplicated) || !errors.Is(err, slots.ErrUnavailable) {
		t.Fatalf("Hold with the replica down: %v, want ErrNotReplicated and ErrUnavailable", err)
	}
	// The write stands on the primary; a retry returns it and waits again.
	e, err := s2.Lookup(ctx, t0, c, "q")
	if err != nil || e.Hold == nil {
		t.Fatalf("Lookup after an unreplicated Hold: %+v, %v", e, err)
	}
	if _, err := s2.Hold(ctx, t0, req); !errors.Is(err, slots.ErrNotReplicated) {
		t.Fatalf("retry with the replica still down: %v", err)
	}
	plain := freshStore(t, primary.Client(), slots.RedisOptions{Prefix: "w:"})
	if again, err := plain.Hold(ctx, t0, req); err != nil || again != *e.Hold {
		t.Fatalf("retry without WAIT = %+v, %v; want the recorded hold %+v", again, err, *e.Hold)
	}
}

// clusterWaitReplicas checks that WAIT goes to the campaign's own primary
// on a Cluster (here without replicas, so it always falls short).
func clusterWaitReplicas(t *testing.T, rdb *redis.ClusterClient) {
	s := freshStore(t, rdb, slots.RedisOptions{WaitReplicas: 1, WaitTimeout: 20 * time.Millisecond})
	ctx := context.Background()
	for _, c := range []slots.Campaign{"a", "b", "c", "d"} {
		err := s.DefineSlots(ctx, t0, slots.DefineRequest{Campaign: c, Slots: []slots.Slot{{ID: "s", Capacity: 1}}, Key: "d"})
		if !errors.Is(err, slots.ErrNotReplicated) {
			t.Fatalf("campaign %s: %v, want ErrNotReplicated", c, err)
		}
		a, err := s.Availability(ctx, t0, c, []string{"s"})
		if err != nil || a[0].Capacity != 1 {
			t.Fatalf("campaign %s: the write did not stand: %+v, %v", c, a, err)
		}
	}
	// Concurrent holds on the four campaigns share round trips: a batch
	// of several campaigns goes to each campaign's primary with a WAIT
	// after its calls. Each hold stands and reports the missing replica.
	var wg sync.WaitGroup
	campaigns := []slots.Campaign{"a", "b", "c", "d"}
	for _, c := range campaigns {
		if err := s.DefineSlots(ctx, t0, slots.DefineRequest{Campaign: c, Slots: []slots.Slot{{ID: "many", Capacity: 100}}, Key: "d2"}); !errors.Is(err, slots.ErrNotReplicated) {
			t.Fatalf("campaign %s: %v, want ErrNotReplicated", c, err)
		}
	}
	for i := range 60 {
		c := campaigns[i%len(campaigns)]
		p := fmt.Sprint("p", i)
		wg.Go(func() {
			_, err := s.Hold(ctx, t0, slots.HoldRequest{Campaign: c, Slot: "many", Person: p, TTL: time.Hour, Key: p})
			if !errors.Is(err, slots.ErrNotReplicated) {
				t.Errorf("concurrent hold %s of campaign %s: %v, want ErrNotReplicated", p, c, err)
			}
			if e, err := s.Lookup(ctx, t0, c, p); err != nil || e.Hold == nil {
				t.Errorf("concurrent hold %s of campaign %s did not stand: %+v, %v", p, c, e, err)
			}
		})
	}
	wg.Wait()
}

// TestGCKeepsNewerExpiredHold is the regression test for the garbage
// collection of an expired hold's trace: when a person's older hold expired,
// they held again and that hold expired too, the older trace's time to go
// must not delete the newer trace. A late Confirm or Cancel of the newer
// hold is then still told ErrHoldExpired, on every store.
func TestGCKeepsNewerExpiredHold(t *testing.T) {
	rdb := redistest.Start(t, redistest.Options{}).Client()
	for _, tc := range []retentionCase{
		{"memory", slots.NewMemoryStore(), slots.DefaultRetention},
		{"redis", freshStore(t, rdb, slots.RedisOptions{}), slots.DefaultRetention},
		{"redis-min-retention", freshStore(t, rdb, slots.RedisOptions{Retention: slots.MinRetention}), slots.MinRetention},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, ctx := tc.s, t.Context()
			const c = slots.Campaign("gc")
			if err := s.DefineSlots(ctx, t0, slots.DefineRequest{Campaign: c, Slots: []slots.Slot{{ID: "a", Capacity: 5}}, Key: "d"}); err != nil {
				t.Fatal(err)
			}
			hold := func(at time.Time, key string) slots.Hold {
				t.Helper()
				hd, err := s.Hold(ctx, at, slots.HoldRequest{Campaign: c, Slot: "a", Person: "p", TTL: time.Minute, Key: key})
				if err != nil {
					t.Fatal(err)
				}
				return hd
			}
			avail := func(at time.Time) {
				t.Helper()
				if _, err := s.Availability(ctx, at, c, nil); err != nil {
					t.Fatal(err)
				}
			}
			hold(t0, "h1")
			// The first hold expired at t0+1m; this call expires it,
			// leaving its trace until t1+retention, then holds again.
			t1 := t0.Add(2 * time.Minute)
			h2 := hold(t1, "h2")
			t2 := t1.Add(2 * time.Minute)
			avail(t2) // expires h2: its trace stays until t2+retention
			// The first trace's time has come: collect it.
			late := t1.Add(tc.retention)
			avail(late)
			avail(late.Add(time.Millisecond))
			_, err := s.Confirm(ctx, late, slots.ConfirmRequest{Campaign: c, HoldID: h2.ID, Person: "p", Key: "late-confirm"})
			if !errors.Is(err, slots.ErrHoldExpired) {
				t.Fatalf("late Confirm of the newer hold, %v after its trace was made: %v, want ErrHoldExpired", late.Sub(t2), err)
			}
			err = s.Cancel(ctx, late, slots.CancelRequest{Campaign: c, ID: h2.ID, Person: "p", Key: "late-cancel"})
			if !errors.Is(err, slots.ErrHoldExpired) {
				t.Fatalf("late Cancel of the newer hold: %v, want ErrHoldExpired", err)
			}
			// Once the newer trace's own retention has passed, it goes too.
			gone := t2.Add(tc.retention)
			avail(gone)
			_, err = s.Confirm(ctx, gone, slots.ConfirmRequest{Campaign: c, HoldID: h2.ID, Person: "p", Key: "later-confirm"})
			if !errors.Is(err, slots.ErrNotFound) {
				t.Fatalf("Confirm after the newer trace's retention: %v, want ErrNotFound", err)
			}
		})
	}
}
