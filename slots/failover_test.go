package slots_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-go/gatehouse/internal/redistest"
	"github.com/gatehouse-go/gatehouse/slots"
)

// FailoverTrialsEnv, when set to a number, makes TestSentinelFailover run
// that many trials with and without WaitReplicas and log the figures
// docs/slots-durability.md reports. Unset, it runs one trial of each, which
// checks only what must hold.
const failoverTrialsEnv = "GATEHOUSE_FAILOVER_TRIALS"

// failoverTrial is what one trial measured.
type failoverTrial struct {
	acked     int           // bookings acknowledged (Confirm returned nil)
	lost      int           // of them, missing after the failover
	gapAcks   int           // started after the kill, acknowledged while the replica was still a replica
	unknown   int           // confirms that failed, whose booking exists afterwards
	promotion time.Duration // kill until the replica answers ROLE as a primary
	recovery  time.Duration // kill until the first booking acknowledged again
}

// TestSentinelFailover measures what a Sentinel failover loses: bookings
// are made from several goroutines through a Sentinel client, the primary
// is killed with SIGKILL, Sentinel promotes the replica, and the old
// primary is restarted (as a process supervisor would) once the promotion
// is seen, so that Sentinel turns it into the new primary's replica. It
// counts the bookings acknowledged and then lost, how long until bookings
// succeed again, and checks that nothing was acknowledged while there was
// no primary, that no slot is over capacity, and, with WaitReplicas 1 (the
// one replica is the one promoted), that no acknowledged booking was lost.
func TestSentinelFailover(t *testing.T) {
	trials := 1
	if v := os.Getenv(failoverTrialsEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 50 {
			t.Fatalf("%s=%q: want 1 to 50", failoverTrialsEnv, v)
		}
		trials = n
	}
	for _, wait := range []int{0, 1} {
		t.Run(fmt.Sprintf("WaitReplicas=%d", wait), func(t *testing.T) {
			if trials == 1 {
				// Checking only: the two modes side by side, on their
				// own servers. Measuring: one trial at a time.
				t.Parallel()
			}
			var results []failoverTrial
			for i := range trials {
				r := failoverRun(t, wait)
				t.Logf("trial %d: acknowledged %d, lost %d, acknowledged in the gap %d, unknown outcomes that booked %d, promotion after %v, bookings again after %v",
					i+1, r.acked, r.lost, r.gapAcks, r.unknown, r.promotion.Round(time.Millisecond), r.recovery.Round(time.Millisecond))
				results = append(results, r)
			}
			logFailoverSummary(t, wait, results)
		})
	}
}

func failoverRun(t *testing.T, wait int) failoverTrial {
	t.Helper()
	sen := redistest.StartSentinel(t, redistest.Options{})
	rdb := sen.Client()
	opts := slots.RedisOptions{WaitReplicas: wait, Timeout: slots.DefaultRedisTimeout}
	if wait > 0 {
		opts.Timeout += 500 * time.Millisecond // the default WaitTimeout
	}
	store := freshStore(t, rdb, opts)
	ctx := context.Background()
	const camp = slots.Campaign("failover")
	var defs []slots.Slot
	for i := range 10 {
		defs = append(defs, slots.Slot{ID: fmt.Sprint("s", i), Capacity: 100_000})
	}
	if err := store.DefineSlots(ctx, time.Now(), slots.DefineRequest{Campaign: camp, Key: "define", Slots: defs}); err != nil {
		t.Fatal(err)
	}
	// The definition is on the replica before anything else happens.
	if n, err := rdb.Do(ctx, "WAIT", 1, 5000).Int(); err != nil || n != 1 {
		t.Fatalf("WAIT after the definition: %d, %v", n, err)
	}

	type ack struct {
		person, id  string
		started, at time.Time // the Confirm call began, returned
	}
	var (
		mu        sync.Mutex
		acks      []ack
		failed    []string // persons whose confirm failed
		stop      atomic.Bool
		wg        sync.WaitGroup
		killedAt  atomic.Pointer[time.Time]
		firstBack atomic.Pointer[time.Time]
	)
	const workers = 8
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				person := fmt.Sprintf("w%d-%d", w, i)
				h, err := store.Hold(ctx, time.Now(), slots.HoldRequest{Campaign: camp, Slot: defs[i%len(defs)].ID, Person: person, TTL: time.Hour, Key: "h-" + person})
				if err != nil {
					time.Sleep(10 * time.Millisecond)
					continue
				}
				started := time.Now()
				b, err := store.Confirm(ctx, started, slots.ConfirmRequest{Campaign: camp, HoldID: h.ID, Person: person, Key: "c-" + person})
				now := time.Now()
				mu.Lock()
				if err == nil {
					acks = append(acks, ack{person, b.ID, started, now})
					if k := killedAt.Load(); k != nil && now.After(*k) {
						firstBack.CompareAndSwap(nil, &now)
					}
				} else {
					failed = append(failed, person)
				}
				mu.Unlock()
			}
		}()
	}
	time.Sleep(500 * time.Millisecond) // bookings under way
	old := sen.Primary.Addr()
	kill := time.Now()
	sen.Primary.Kill() // returns once the process is gone
	dead := time.Now()
	killedAt.Store(&kill)
	// lastReplica is when a ROLE was sent that the replica answered as a
	// replica: it was still one when it processed it, after that instant.
	// promoted is when it first answered as a primary.
	lastReplica, promoted := dead, time.Time{}
	replica := redis.NewClient(&redis.Options{Addr: sen.Replica.Addr(), MaxRetries: -1, ContextTimeoutEnabled: true})
	defer replica.Close()
	for promoted.IsZero() && time.Since(kill) < 30*time.Second {
		sent := time.Now()
		rctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		role, err := replica.Do(rctx, "ROLE").Slice()
		cancel()
		switch {
		case err == nil && len(role) > 0 && role[0] == "master":
			promoted = time.Now()
		case err == nil:
			lastReplica = sent
		}
		time.Sleep(2 * time.Millisecond)
	}
	sen.WaitFailover(old, 30*time.Second) // every Sentinel names the new primary
	time.Sleep(time.Second)
	sen.Primary.Restart() // a supervisor brings the old primary back; Sentinel makes it a replica
	// With WaitReplicas 1 bookings resume only once that replica is in
	// sync: Sentinel waits 8 s after it is seen up before reconfiguring it
	// (more if a loaded machine put a Sentinel in TILT mode for 30 s),
	// then a full sync. The bound is generous; the figure is measured.
	const recoveryBound = 120 * time.Second
	deadline := time.Now().Add(recoveryBound)
	for firstBack.Load() == nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // a few bookings after the recovery
	stop.Store(true)
	wg.Wait()
	back := firstBack.Load()
	if back == nil {
		t.Fatalf("WaitReplicas=%d: no booking acknowledged within %v of the kill: %s", wait, recoveryBound, sen.Describe())
	}

	r := failoverTrial{acked: len(acks), promotion: promoted.Sub(kill), recovery: back.Sub(kill)}
	// A call that began once the old primary was gone and returned while
	// the replica was still a replica had nobody who could book it.
	for _, a := range acks {
		if a.started.After(dead) && a.at.Before(lastReplica) {
			r.gapAcks++
		}
	}
	lookup := func(person string) (slots.Entry, error) {
		for {
			e, err := store.Lookup(ctx, time.Now(), camp, person)
			if !errors.Is(err, slots.ErrUnavailable) || time.Now().After(deadline) {
				return e, err
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	for _, a := range acks {
		e, err := lookup(a.person)
		switch {
		case errors.Is(err, slots.ErrNotFound), err == nil && (e.Booking == nil || e.Booking.ID != a.id):
			r.lost++
		case err != nil:
			t.Fatalf("Lookup %s: %v", a.person, err)
		}
	}
	for _, p := range failed {
		if e, err := lookup(p); err == nil && e.Booking != nil {
			r.unknown++
		}
	}
	snap, err := store.(slots.Snapshotter).Snapshot(ctx, time.Now(), camp)
	if err != nil {
		t.Fatal(err)
	}
	if err := snap.Check(); err != nil {
		t.Fatalf("after the failover: %v", err)
	}
	if r.gapAcks > 0 {
		t.Errorf("WaitReplicas=%d: %d bookings acknowledged while there was no primary", wait, r.gapAcks)
	}
	if wait > 0 && r.lost > 0 {
		t.Errorf("WaitReplicas=%d: %d of %d acknowledged bookings lost, though the one replica acknowledged each and was the one promoted", wait, r.lost, r.acked)
	}
	if r.acked == 0 {
		t.Fatal("no booking acknowledged")
	}
	return r
}

func logFailoverSummary(t *testing.T, wait int, rs []failoverTrial) {
	var acked, lost, lostTrials, unknown int
	var rec, prom []time.Duration
	for _, r := range rs {
		acked += r.acked
		lost += r.lost
		unknown += r.unknown
		if r.lost > 0 {
			lostTrials++
		}
		rec = append(rec, r.recovery)
		prom = append(prom, r.promotion)
	}
	med := func(d []time.Duration) (time.Duration, time.Duration, time.Duration) {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return d[0].Round(10 * time.Millisecond), d[len(d)/2].Round(10 * time.Millisecond), d[len(d)-1].Round(10 * time.Millisecond)
	}
	pmin, pmed, pmax := med(prom)
	rmin, rmed, rmax := med(rec)
	t.Logf("SUMMARY WaitReplicas=%d: %d trials; acknowledged %d, lost %d (in %d trials), unknown outcomes that booked %d; promotion min/median/max %v/%v/%v; bookings again min/median/max %v/%v/%v",
		wait, len(rs), acked, lost, lostTrials, unknown, pmin, pmed, pmax, rmin, rmed, rmax)
}
