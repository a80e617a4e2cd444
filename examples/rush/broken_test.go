package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/gatehouse-go/gatehouse/admission"
	"github.com/gatehouse-go/gatehouse/slots"
	"github.com/gatehouse-go/gatehouse/window"
)

// naiveStore is a slots.Store written the way July 2021's was not meant to
// be: it keeps holds and bookings but checks neither capacity nor the
// one-booking-per-person rule. The simulator must catch it.
type naiveStore struct {
	mu       sync.Mutex
	capacity map[string]int
	holds    map[string]*slots.Hold
	booked   map[string]*slots.Booking
	idem     map[string]string
	seq      int
}

var (
	_ slots.Store       = (*naiveStore)(nil)
	_ slots.Snapshotter = (*naiveStore)(nil)
)

func newNaiveStore() *naiveStore {
	return &naiveStore{capacity: map[string]int{}, holds: map[string]*slots.Hold{}, booked: map[string]*slots.Booking{}, idem: map[string]string{}}
}

func (s *naiveStore) DefineSlots(ctx context.Context, now time.Time, req slots.DefineRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sl := range req.Slots {
		s.capacity[sl.ID] = sl.Capacity
	}
	return nil
}

func (s *naiveStore) Hold(ctx context.Context, now time.Time, req slots.HoldRequest) (slots.Hold, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.idem[req.Key]; ok {
		return *s.holds[id], nil
	}
	if _, ok := s.capacity[req.Slot]; !ok {
		return slots.Hold{}, slots.ErrNotFound
	}
	s.seq++
	h := &slots.Hold{ID: fmt.Sprintf("n%d", s.seq), Campaign: req.Campaign, Slot: req.Slot, Person: req.Person, Created: now, Expires: now.Add(req.TTL)}
	s.holds[h.ID] = h
	s.idem[req.Key] = h.ID
	return *h, nil
}

func (s *naiveStore) Confirm(ctx context.Context, now time.Time, req slots.ConfirmRequest) (slots.Booking, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.holds[req.HoldID]
	if !ok || h.Person != req.Person {
		return slots.Booking{}, slots.ErrNotFound
	}
	b := &slots.Booking{ID: h.ID, Campaign: h.Campaign, Slot: h.Slot, Person: h.Person, Created: h.Created, Confirmed: now}
	s.booked[h.ID] = b
	return *b, nil
}

func (s *naiveStore) Cancel(ctx context.Context, now time.Time, req slots.CancelRequest) error {
	return slots.ErrNotFound
}

func (s *naiveStore) Move(ctx context.Context, now time.Time, req slots.MoveRequest) (slots.Booking, error) {
	return slots.Booking{}, slots.ErrNotFound
}

func (s *naiveStore) Lookup(ctx context.Context, now time.Time, c slots.Campaign, person string) (slots.Entry, error) {
	return slots.Entry{}, slots.ErrNotFound
}

func (s *naiveStore) Availability(ctx context.Context, now time.Time, c slots.Campaign, ids []string) ([]slots.Availability, error) {
	snap, _ := s.Snapshot(ctx, now, c)
	return snap.Slots, nil
}

func (s *naiveStore) Snapshot(ctx context.Context, now time.Time, c slots.Campaign) (slots.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := slots.Snapshot{Campaign: c, At: now}
	count := map[string]int{}
	for _, b := range s.booked {
		snap.Bookings = append(snap.Bookings, *b)
		count[b.Slot]++
	}
	for id, c := range s.capacity {
		snap.Slots = append(snap.Slots, slots.Availability{Slot: id, Capacity: c, Booked: count[id], Free: max(0, c-count[id])})
	}
	sort.Slice(snap.Slots, func(i, j int) bool { return snap.Slots[i].Slot < snap.Slots[j].Slot })
	return snap, nil
}

// carelessTarget is a server that forgot its front door: the booking path
// checks neither the gate nor the pass, over whatever store it is given.
type carelessTarget struct {
	*libTarget
	svc *slots.Service
}

func (t *carelessTarget) Hold(ctx context.Context, person, pass, slot, key string) (hold, error) {
	h, err := t.svc.Hold(ctx, slots.HoldRequest{Campaign: libCampaign, Slot: slot, Person: person, Key: key})
	if err != nil {
		return hold{}, libErr(err)
	}
	return hold{ID: h.ID, Slot: h.Slot, Expires: h.Expires}, nil
}

func (t *carelessTarget) Confirm(ctx context.Context, person, pass, holdID, key string) error {
	_, err := t.svc.Confirm(ctx, slots.ConfirmRequest{Campaign: libCampaign, HoldID: holdID, Person: person, Key: key})
	return libErr(err)
}

func carelessFactory(ctx context.Context, cfg *config, clk clock.Clock, open time.Time, cr *crowd) (target, faultControl, func(), error) {
	store := newNaiveStore()
	lt, err := newLibTarget(ctx, cfg, clk, open, cr, libParts{admStore: admission.NewMemoryStore(), slotStore: store, sw: window.NewMemorySwitch(false)})
	if err != nil {
		return nil, nil, nil, err
	}
	svc, err := slots.NewService(store, slots.ServiceOptions{Clock: clk}) // no Gate
	if err != nil {
		return nil, nil, nil, err
	}
	return &carelessTarget{libTarget: lt, svc: svc}, nil, nil, nil
}

// TestBrokenTargetFails shows the checks can fail: a booking path with no
// gate and no pass check, over a store that checks no capacity, must light
// up the counters, and the program must exit non-zero.
func TestBrokenTargetFails(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	code := runWith(context.Background(), []string{"-quiet", "-people", "1500", "-tail", "5m", "-json", filepath.Join(t.TempDir(), "r.json")},
		runEnv{stdout: &out, newTarget: carelessFactory})
	t.Log("\n" + out.String())
	if code != exitViolations {
		t.Errorf("exit status %d, want %d", code, exitViolations)
	}
	cfg := testConfig(t, "-people", "1500", "-tail", "5m")
	rep, err := simulate(context.Background(), &cfg, runEnv{newTarget: carelessFactory})
	if err != nil {
		t.Fatal(err)
	}
	v := rep.Violations
	for name, n := range map[string]int64{
		"overbooked slots":          v.OverbookedSlots,
		"double bookings":           v.DoubleBookings,
		"booked before opening":     v.BookedBeforeOpening,
		"booked without valid pass": v.BookedWithoutValidPass,
	} {
		if n == 0 {
			t.Errorf("%s: 0, the broken target should have been caught", name)
		}
	}
	// The store agrees with the ledger on what happened: the audit sees
	// the same over-capacity slots and double bookings.
	if rep.Audit.OverbookedSlots == 0 || rep.Audit.DoubleBookings == 0 {
		t.Errorf("audit missed the broken store: %+v", rep.Audit)
	}
}

// TestEachViolationCanFire breaks one property at a time in the fake target
// and checks that the matching counter, and only a failing exit, follows.
func TestEachViolationCanFire(t *testing.T) {
	for _, tc := range []struct {
		name    string
		set     func(*fakeTarget)
		args    []string
		counter func(violations) int64
	}{
		{"overbooking", func(f *fakeTarget) { f.broken = true }, nil, func(v violations) int64 { return v.OverbookedSlots }},
		{"double booking", func(f *fakeTarget) { f.broken = true }, nil, func(v violations) int64 { return v.DoubleBookings }},
		{"admitted before opening", func(f *fakeTarget) { f.admitEarly = true }, nil, func(v violations) int64 { return v.AdmittedBeforeOpening }},
		{"booked before opening", func(f *fakeTarget) { f.admitEarly = true }, nil, func(v violations) int64 { return v.BookedBeforeOpening }},
		{"booked during maintenance", func(f *fakeTarget) { f.noMaint = true }, []string{"-fault", "maintenance@2m+3m"}, func(v violations) int64 { return v.BookedDuringMaintenance }},
		{"lost bookings", func(f *fakeTarget) { f.loseEvery = 50 }, nil, func(v violations) int64 { return v.LostBookings }},
		{"phantom bookings", func(f *fakeTarget) { f.phantom = true }, nil, func(v violations) int64 { return v.PhantomBookings }},
		{"idempotency", func(f *fakeTarget) { f.badIdem = true }, []string{"-retry", "0.2"}, func(v violations) int64 { return v.IdempotencyMismatches }},
		{"reconnect moves place", func(f *fakeTarget) { f.movePlace = true }, []string{"-reconnect", "0.3"}, func(v violations) int64 { return v.ReconnectMovedPlace }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(t, append([]string{"-people", "1000", "-prequeue", "3m", "-tail", "5m"}, tc.args...)...)
			rep, err := simulate(context.Background(), &cfg, runEnv{newTarget: fakeWith(tc.set)})
			if err != nil {
				t.Fatal(err)
			}
			if n := tc.counter(rep.Violations); n == 0 {
				t.Errorf("counter stayed 0: %+v", rep.Violations)
			}
			if exitStatus(rep) != exitViolations {
				t.Errorf("exit status %d", exitStatus(rep))
			}
		})
	}
}

// The correct fake passes: what the broken variants fail is the property
// each one breaks, not the simulator.
func TestFakeHealthy(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, "-people", "4000", "-tail", "5m", "-fault", "maintenance@3m+1m")
	var out bytes.Buffer
	rep, err := simulate(context.Background(), &cfg, runEnv{stdout: &out, newTarget: fakeFactory(false)})
	if err != nil {
		t.Fatal(err)
	}
	checkHealthy(t, rep)
	if t.Failed() {
		t.Log("\n" + out.String())
	}
}

// noSnapshotStore is a memory store whose snapshot fails, as the Redis
// store's does for campaigns of several thousand slots.
type noSnapshotStore struct{ slots.Store }

func (noSnapshotStore) Snapshot(context.Context, time.Time, slots.Campaign) (slots.Snapshot, error) {
	return slots.Snapshot{}, fmt.Errorf("%w: too many results to unpack", slots.ErrUnavailable)
}

// TestAuditFallsBackToLookup: when the store cannot take a snapshot the
// audit reads every slot and every person instead, and finds the same.
func TestAuditFallsBackToLookup(t *testing.T) {
	t.Parallel()
	factory := func(ctx context.Context, cfg *config, clk clock.Clock, open time.Time, cr *crowd) (target, faultControl, func(), error) {
		lt, err := newLibTarget(ctx, cfg, clk, open, cr, libParts{admStore: admission.NewMemoryStore(), slotStore: noSnapshotStore{slots.NewMemoryStore()}})
		return lt, nil, nil, err
	}
	cfg := testConfig(t, "-people", "1500", "-tail", "5m")
	rep, err := simulate(context.Background(), &cfg, runEnv{newTarget: factory})
	if err != nil {
		t.Fatal(err)
	}
	a := rep.Audit
	if !strings.Contains(a.Method, "lookup") || a.Booked != rep.Counts.Booked || a.PeopleWithBook != rep.Counts.Booked || a.CountsDisagree != 0 {
		t.Errorf("audit by lookup: %+v, booked %d", a, rep.Counts.Booked)
	}
	if rep.Violations.Total != 0 {
		t.Errorf("violations: %+v", rep.Violations)
	}
}
