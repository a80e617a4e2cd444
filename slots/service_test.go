package slots_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/gatehouse-go/gatehouse/internal/redistest"
	"github.com/gatehouse-go/gatehouse/slots"
	"github.com/gatehouse-go/gatehouse/window"
)

// window.Gate is what a host gives the Service when it checks nothing
// about the person at commit.
var _ slots.TimeGate = (*window.Gate)(nil)

func newService(t *testing.T, store slots.Store, opts slots.ServiceOptions) *slots.Service {
	t.Helper()
	s, err := slots.NewService(store, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestServiceWindowGate books through a real window.Gate: refused before the
// opening, during maintenance and from the closing instant on, with the
// window's own errors still visible; Cancel is always allowed.
func TestServiceWindowGate(t *testing.T) {
	ctx := context.Background()
	kst := time.FixedZone("KST", 9*60*60)
	open := time.Date(2021, 7, 12, 20, 0, 0, 0, kst)
	end := open.Add(time.Hour)
	sw := window.NewMemorySwitch(false)
	gate, err := window.NewGate(window.GateOptions{
		Schedule: window.Schedule{Zone: kst, Openings: []window.Opening{{Booking: window.Window{Start: open, End: end}}}},
		Switch:   sw,
	})
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewMock()
	clk.Set(open.Add(-time.Millisecond))
	svc := newService(t, slots.NewMemoryStore(), slots.ServiceOptions{Clock: clk, Gate: slots.Window(gate)})
	const c = slots.Campaign("vaccine")
	if err := svc.DefineSlots(ctx, slots.DefineRequest{Campaign: c, Slots: []slots.Slot{{ID: "a", Capacity: 5}, {ID: "b", Capacity: 5}}, Key: "d"}); err != nil {
		t.Fatal(err)
	}

	// 1 ms before the opening: refused, nothing held.
	_, err = svc.Hold(ctx, slots.HoldRequest{Campaign: c, Slot: "a", Person: "p1", Key: "h0"})
	if !errors.Is(err, slots.ErrClosed) || !errors.Is(err, window.ErrNotOpen) {
		t.Fatalf("Hold before opening: %v, want ErrClosed and window.ErrNotOpen", err)
	}
	if _, err := svc.Lookup(ctx, c, "p1"); !errors.Is(err, slots.ErrNotFound) {
		t.Fatalf("a refused Hold left something: %v", err)
	}

	// At the opening instant: allowed.
	clk.Set(open)
	hd, err := svc.Hold(ctx, slots.HoldRequest{Campaign: c, Slot: "a", Person: "p1", Key: "h1"})
	if err != nil {
		t.Fatalf("Hold at the opening instant: %v", err)
	}
	if !hd.Expires.Equal(open.Add(slots.DefaultHoldTTL)) {
		t.Fatalf("default TTL: expires %v", hd.Expires)
	}
	h2, err := svc.Hold(ctx, slots.HoldRequest{Campaign: c, Slot: "a", Person: "p2", Key: "h2"})
	if err != nil {
		t.Fatal(err)
	}

	// Maintenance: Confirm and Move refused, Cancel allowed.
	sw.Set(ctx, true)
	_, err = svc.Confirm(ctx, slots.ConfirmRequest{Campaign: c, HoldID: hd.ID, Person: "p1", Key: "c1"})
	if !errors.Is(err, slots.ErrClosed) || !errors.Is(err, window.ErrMaintenance) {
		t.Fatalf("Confirm during maintenance: %v, want ErrClosed and window.ErrMaintenance", err)
	}
	if err := svc.Cancel(ctx, slots.CancelRequest{Campaign: c, ID: h2.ID, Person: "p2", Key: "k2"}); err != nil {
		t.Fatalf("Cancel during maintenance: %v", err)
	}
	sw.Set(ctx, false)
	b, err := svc.Confirm(ctx, slots.ConfirmRequest{Campaign: c, HoldID: hd.ID, Person: "p1", Key: "c1"})
	if err != nil {
		t.Fatalf("Confirm after maintenance (same key as the refused one): %v", err)
	}

	// The last millisecond is open; the closing instant is not.
	clk.Set(end.Add(-time.Millisecond))
	if _, err := svc.Move(ctx, slots.MoveRequest{Campaign: c, ID: b.ID, Person: "p1", To: "b", Key: "m1"}); err != nil {
		t.Fatalf("Move 1ms before closing: %v", err)
	}
	clk.Set(end)
	_, err = svc.Move(ctx, slots.MoveRequest{Campaign: c, ID: b.ID, Person: "p1", To: "a", Key: "m2"})
	if !errors.Is(err, slots.ErrClosed) || !errors.Is(err, window.ErrClosed) {
		t.Fatalf("Move at closing: %v, want ErrClosed and window.ErrClosed", err)
	}
	_, err = svc.Hold(ctx, slots.HoldRequest{Campaign: c, Slot: "a", Person: "p3", Key: "h3"})
	if !errors.Is(err, window.ErrClosed) {
		t.Fatalf("Hold at closing: %v", err)
	}
	e, err := svc.Lookup(ctx, c, "p1")
	if err != nil || e.Booking == nil || e.Booking.Slot != "b" {
		t.Fatalf("Lookup after the window closed: %+v, %v", e, err)
	}
	if err := svc.Cancel(ctx, slots.CancelRequest{Campaign: c, ID: b.ID, Person: "p1", Key: "k1"}); err != nil {
		t.Fatalf("Cancel after closing: %v", err)
	}
}

// recordingStore remembers the now of every call.
type recordingStore struct {
	slots.Store
	mu   sync.Mutex
	nows []time.Time
}

func (r *recordingStore) note(now time.Time) {
	r.mu.Lock()
	r.nows = append(r.nows, now)
	r.mu.Unlock()
}

func (r *recordingStore) Hold(ctx context.Context, now time.Time, req slots.HoldRequest) (slots.Hold, error) {
	r.note(now)
	return r.Store.Hold(ctx, now, req)
}

func (r *recordingStore) Confirm(ctx context.Context, now time.Time, req slots.ConfirmRequest) (slots.Booking, error) {
	r.note(now)
	return r.Store.Confirm(ctx, now, req)
}

func (r *recordingStore) Move(ctx context.Context, now time.Time, req slots.MoveRequest) (slots.Booking, error) {
	r.note(now)
	return r.Store.Move(ctx, now, req)
}

// clockGate records the now it is asked at, then moves the clock on, as
// time passes while a real gate reads its switch.
type clockGate struct {
	clk      *clock.Mock
	nows     []time.Time
	attempts []slots.Attempt
}

func (g *clockGate) Require(ctx context.Context, now time.Time, a slots.Attempt) error {
	g.nows = append(g.nows, now)
	g.attempts = append(g.attempts, a)
	g.clk.Add(time.Second)
	return nil
}

// TestServiceGateAndStoreShareNow checks that Hold, Confirm and Move each ask
// the gate and the store about the same instant, even when the clock moves
// in between.
func TestServiceGateAndStoreShareNow(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(t0)
	st := &recordingStore{Store: slots.NewMemoryStore()}
	g := &clockGate{clk: clk}
	svc := newService(t, st, slots.ServiceOptions{Clock: clk, Gate: g})
	const c = slots.Campaign("c")
	if err := svc.DefineSlots(ctx, slots.DefineRequest{Campaign: c, Slots: []slots.Slot{{ID: "a", Capacity: 1}, {ID: "b", Capacity: 1}}, Key: "d"}); err != nil {
		t.Fatal(err)
	}
	hd, err := svc.Hold(ctx, slots.HoldRequest{Campaign: c, Slot: "a", Person: "p", Key: "h", Proof: "pass-1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Confirm(ctx, slots.ConfirmRequest{Campaign: c, HoldID: hd.ID, Person: "p", Key: "c"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Move(ctx, slots.MoveRequest{Campaign: c, ID: hd.ID, Person: "p", To: "b", Key: "m"}); err != nil {
		t.Fatal(err)
	}
	if len(g.nows) != 3 || len(st.nows) != 3 {
		t.Fatalf("gate asked %d times, store %d times; want 3 and 3", len(g.nows), len(st.nows))
	}
	for i := range g.nows {
		if !g.nows[i].Equal(st.nows[i]) {
			t.Errorf("call %d: gate asked at %v, store at %v", i, g.nows[i], st.nows[i])
		}
	}
	// The gate sees who books what, without a context value.
	want := []slots.Attempt{
		{Op: slots.OpHold, Campaign: c, Person: "p", Slot: "a", Proof: "pass-1"},
		{Op: slots.OpConfirm, Campaign: c, Person: "p", ID: hd.ID},
		{Op: slots.OpMove, Campaign: c, Person: "p", Slot: "b", ID: hd.ID},
	}
	for i := range want {
		if g.attempts[i] != want[i] {
			t.Errorf("call %d: gate asked about %+v, want %+v", i, g.attempts[i], want[i])
		}
	}
	if !hd.Created.Equal(g.nows[0]) {
		t.Errorf("hold created %v, gate asked at %v", hd.Created, g.nows[0])
	}
}

// TestServiceHoldExpiry drives expiry with a mock clock through the Service,
// on memory and on Redis alike.
func TestServiceHoldExpiry(t *testing.T) {
	rdb := redistest.Start(t, redistest.Options{}).Client()
	for name, st := range map[string]slots.Store{
		"memory": slots.NewMemoryStore(),
		"redis":  freshStore(t, rdb, slots.RedisOptions{}),
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			clk := clock.NewMock()
			clk.Set(t0)
			svc := newService(t, st, slots.ServiceOptions{Clock: clk, HoldTTL: 5 * time.Minute})
			const c = slots.Campaign("exp")
			if err := svc.DefineSlots(ctx, slots.DefineRequest{Campaign: c, Slots: []slots.Slot{{ID: "a", Capacity: 1}}, Key: "d"}); err != nil {
				t.Fatal(err)
			}
			h1, err := svc.Hold(ctx, slots.HoldRequest{Campaign: c, Slot: "a", Person: "p1", Key: "h1"})
			if err != nil {
				t.Fatal(err)
			}
			clk.Add(5*time.Minute - time.Millisecond)
			if _, err := svc.Hold(ctx, slots.HoldRequest{Campaign: c, Slot: "a", Person: "p2", Key: "h2"}); !errors.Is(err, slots.ErrFull) {
				t.Fatalf("Hold while the slot is held: %v, want ErrFull", err)
			}
			clk.Add(time.Millisecond)
			a, err := svc.Availability(ctx, c)
			if err != nil || a[0].Free != 1 {
				t.Fatalf("Availability at expiry: %+v, %v", a, err)
			}
			if _, err := svc.Confirm(ctx, slots.ConfirmRequest{Campaign: c, HoldID: h1.ID, Person: "p1", Key: "c1"}); !errors.Is(err, slots.ErrHoldExpired) {
				t.Fatalf("Confirm at expiry: %v, want ErrHoldExpired", err)
			}
			h3, err := svc.Hold(ctx, slots.HoldRequest{Campaign: c, Slot: "a", Person: "p2", Key: "h3", TTL: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			clk.Add(time.Minute - time.Millisecond)
			b, err := svc.Confirm(ctx, slots.ConfirmRequest{Campaign: c, HoldID: h3.ID, Person: "p2", Key: "c3"})
			if err != nil {
				t.Fatalf("Confirm 1ms before expiry: %v", err)
			}
			clk.Add(24 * time.Hour)
			if e, err := svc.Lookup(ctx, c, "p2"); err != nil || e.Booking == nil || *e.Booking != b {
				t.Fatalf("booking a day later: %+v, %v", e, err)
			}
		})
	}
}

// failingStore answers every call with one error, and counts calls.
type failingStore struct {
	err   error
	calls int
}

func (f *failingStore) DefineSlots(context.Context, time.Time, slots.DefineRequest) error {
	f.calls++
	return f.err
}
func (f *failingStore) Hold(context.Context, time.Time, slots.HoldRequest) (slots.Hold, error) {
	f.calls++
	return slots.Hold{}, f.err
}
func (f *failingStore) Confirm(context.Context, time.Time, slots.ConfirmRequest) (slots.Booking, error) {
	f.calls++
	return slots.Booking{}, f.err
}
func (f *failingStore) Cancel(context.Context, time.Time, slots.CancelRequest) error {
	f.calls++
	return f.err
}
func (f *failingStore) Move(context.Context, time.Time, slots.MoveRequest) (slots.Booking, error) {
	f.calls++
	return slots.Booking{}, f.err
}
func (f *failingStore) Lookup(context.Context, time.Time, slots.Campaign, string) (slots.Entry, error) {
	f.calls++
	return slots.Entry{}, f.err
}
func (f *failingStore) Availability(context.Context, time.Time, slots.Campaign, []string) ([]slots.Availability, error) {
	f.calls++
	return nil, f.err
}

// TestServiceLogsAndObserves checks the observer's events and that logs
// carry a keyed hash of the person, never the person.
func TestServiceLogsAndObserves(t *testing.T) {
	ctx := context.Background()
	var buf bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	events := map[string]int{}
	obs := func(e slots.Event) {
		mu.Lock()
		events[fmt.Sprintf("%s/%s", e.Op, e.Outcome)]++
		if (e.Err == nil) != (e.Outcome == slots.OutcomeOK) {
			events["err-mismatch"]++
		}
		mu.Unlock()
	}
	clk := clock.NewMock()
	clk.Set(t0)
	person := "alice@example.com"
	svc := newService(t, slots.NewMemoryStore(), slots.ServiceOptions{Clock: clk, Logger: log, Observer: obs, LogKey: []byte("k")})
	const c = slots.Campaign("c")
	svc.DefineSlots(ctx, slots.DefineRequest{Campaign: c, Slots: []slots.Slot{{ID: "a", Capacity: 1}}, Key: "d"})
	hd, _ := svc.Hold(ctx, slots.HoldRequest{Campaign: c, Slot: "a", Person: person, Key: "h1"})
	svc.Hold(ctx, slots.HoldRequest{Campaign: c, Slot: "a", Person: "bob", Key: "h2"})
	svc.Hold(ctx, slots.HoldRequest{Campaign: c, Slot: "a", Person: person, Key: "h3"})
	svc.Hold(ctx, slots.HoldRequest{Campaign: c, Slot: "a", Person: person, Key: ""})
	svc.Confirm(ctx, slots.ConfirmRequest{Campaign: c, HoldID: hd.ID, Person: person, Key: "c1"})
	svc.Confirm(ctx, slots.ConfirmRequest{Campaign: c, HoldID: hd.ID, Person: person, Key: "h1"})
	svc.Lookup(ctx, c, person)
	svc.Availability(ctx, c, "zz")
	svc.Cancel(ctx, slots.CancelRequest{Campaign: c, ID: hd.ID, Person: person, Key: "k1"})

	want := map[string]int{
		"define/ok": 1, "hold/ok": 1, "hold/full": 1, "hold/already_booked": 1, "hold/invalid": 1,
		"confirm/ok": 1, "confirm/conflict": 1, "lookup/ok": 1, "availability/not_found": 1, "cancel/ok": 1,
	}
	if fmt.Sprint(events) != fmt.Sprint(want) {
		t.Fatalf("events = %v\nwant %v", events, want)
	}
	logs := buf.String()
	if strings.Contains(logs, "alice") || strings.Contains(logs, "bob") {
		t.Fatalf("a person identifier was logged in clear:\n%s", logs)
	}
	if n := strings.Count(logs, "\n"); n != 10 {
		t.Fatalf("%d log records, want one per call (10):\n%s", n, logs)
	}
	// The same person gets the same tag in every record.
	tags := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		if i := strings.Index(line, `"person":"`); i >= 0 {
			tags[line[i+10:i+22]] = true
		}
	}
	if len(tags) != 2 {
		t.Fatalf("person tags = %v, want one for each of the two persons", tags)
	}

	// An unavailable store: ErrUnavailable, logged at Warn, observed.
	buf.Reset()
	clear(events)
	svc = newService(t, &failingStore{err: fmt.Errorf("%w: boom", slots.ErrUnavailable)}, slots.ServiceOptions{Clock: clk, Logger: log, Observer: obs})
	if _, err := svc.Hold(ctx, slots.HoldRequest{Campaign: c, Slot: "a", Person: person, Key: "h"}); !errors.Is(err, slots.ErrUnavailable) {
		t.Fatalf("Hold on a failing store: %v", err)
	}
	if events["hold/unavailable"] != 1 || !strings.Contains(buf.String(), `"level":"WARN"`) {
		t.Fatalf("events %v, logs %s", events, buf.String())
	}
}

// TestServiceValidatesBeforeTheStore checks that bad input and a closed gate
// never reach the store.
func TestServiceValidatesBeforeTheStore(t *testing.T) {
	ctx := context.Background()
	st := &failingStore{err: errors.New("the store must not be called")}
	closed := slots.GateFunc(func(context.Context, time.Time, slots.Attempt) error { return errors.New("closed") })
	svc := newService(t, st, slots.ServiceOptions{Gate: closed})
	long := strings.Repeat("x", slots.MaxIDLen+1)
	errs := []error{
		svc.DefineSlots(ctx, slots.DefineRequest{Campaign: "{c}", Slots: []slots.Slot{{ID: "a", Capacity: 1}}, Key: "k"}),
		svc.Cancel(ctx, slots.CancelRequest{Campaign: "c", ID: "id", Person: long, Key: "k"}),
	}
	_, err := svc.Hold(ctx, slots.HoldRequest{Campaign: "c", Slot: "", Person: "p", Key: "k"})
	errs = append(errs, err)
	_, err = svc.Hold(ctx, slots.HoldRequest{Campaign: "c", Slot: "a", Person: "p", Key: "k", TTL: -time.Second})
	errs = append(errs, err)
	_, err = svc.Confirm(ctx, slots.ConfirmRequest{Campaign: "c", HoldID: "a:b", Person: "p", Key: "k"})
	errs = append(errs, err)
	_, err = svc.Move(ctx, slots.MoveRequest{Campaign: "c", ID: "id", Person: "p", To: long, Key: "k"})
	errs = append(errs, err)
	_, err = svc.Lookup(ctx, "c", "")
	errs = append(errs, err)
	_, err = svc.Availability(ctx, "c", "")
	errs = append(errs, err)
	for i, err := range errs {
		if !errors.Is(err, slots.ErrInvalid) {
			t.Errorf("call %d: %v, want ErrInvalid", i, err)
		}
	}
	_, err = svc.Hold(ctx, slots.HoldRequest{Campaign: "c", Slot: "a", Person: "p", Key: "k"})
	if !errors.Is(err, slots.ErrClosed) {
		t.Errorf("Hold with a closed gate: %v, want ErrClosed", err)
	}
	if st.calls != 0 {
		t.Fatalf("the store was called %d times", st.calls)
	}
}

func TestNewServiceOptions(t *testing.T) {
	if _, err := slots.NewService(nil, slots.ServiceOptions{}); !errors.Is(err, slots.ErrInvalid) {
		t.Errorf("NewService(nil): %v, want ErrInvalid", err)
	}
	for _, o := range []slots.ServiceOptions{
		{HoldTTL: -time.Second},
		{HoldTTL: slots.MaxHoldTTL + 1},
	} {
		if _, err := slots.NewService(slots.NewMemoryStore(), o); !errors.Is(err, slots.ErrInvalid) {
			t.Errorf("NewService(%+v): %v, want ErrInvalid", o, err)
		}
	}
}

func TestOutcomeOf(t *testing.T) {
	for err, want := range map[error]string{
		nil:                                slots.OutcomeOK,
		fmt.Errorf("x: %w", slots.ErrFull): slots.OutcomeFull,
		fmt.Errorf("%w: %w", slots.ErrClosed, window.ErrMaintenance):       slots.OutcomeClosed,
		fmt.Errorf("%w: %w", slots.ErrUnavailable, slots.ErrNotReplicated): slots.OutcomeNotReplicated,
		slots.ErrUnavailable:                        slots.OutcomeUnavailable,
		slots.ErrInUse:                              slots.OutcomeInUse,
		slots.ErrHoldExpired:                        slots.OutcomeHoldExpired,
		slots.ErrAlreadyBooked:                      slots.OutcomeAlreadyBooked,
		fmt.Errorf("x: %w", slots.ErrMisconfigured): slots.OutcomeMisconfigured,
		errors.New("other"):                         slots.OutcomeInternalError,
	} {
		if got := slots.OutcomeOf(err); got != want {
			t.Errorf("OutcomeOf(%v) = %q, want %q", err, got, want)
		}
	}
}

// TestPersonNeverEncoded: a Booking or a Hold written as JSON (to a
// client, a log) carries no identifier of the person.
func TestPersonNeverEncoded(t *testing.T) {
	b, _ := json.Marshal(slots.Booking{ID: "h1", Slot: "a", Person: "alice@example.com"})
	h, _ := json.Marshal(slots.Hold{ID: "h1", Slot: "a", Person: "alice@example.com"})
	if strings.Contains(string(b)+string(h), "alice") {
		t.Fatalf("person encoded: %s %s", b, h)
	}
}
