package slots

import (
	"container/heap"
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// NewMemoryStore returns a Store that keeps everything in this process's
// memory, behind one mutex: for tests, examples and single-instance
// deployments. It keeps idempotency records for DefaultRetention. It also
// implements Snapshotter.
//
// Like the Redis store it does nothing in the background: expired holds and
// records past their retention are cleared by the next call on the campaign.
func NewMemoryStore() Store {
	return &memoryStore{retention: durMs(DefaultRetention), campaigns: make(map[Campaign]*memCampaign)}
}

var (
	_ Store       = (*memoryStore)(nil)
	_ Snapshotter = (*memoryStore)(nil)
)

type memoryStore struct {
	mu        sync.Mutex
	retention int64 // ms
	campaigns map[Campaign]*memCampaign
}

type memSlot struct{ capacity, booked, held int }

type memIdem struct {
	expires int64
	fp      string
	out     outcome
}

// timer is an entry of a lazily cleaned min-heap: an instant and what it
// concerns. Entries are checked against the current state when they come
// due, so stale ones are harmless.
type timer struct {
	at   int64
	kind byte   // 'h' hold expiry, 'p' expired-hold trace, 'k' idempotency record
	name string // the person, or the idempotency key
	id   string // the hold, for 'h' and 'p'
}

// memRec is a person's hold, booking or expired-hold trace.
type memRec struct {
	id string
	record
}

type timerHeap []timer

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h timerHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)        { *h = append(*h, x.(timer)) }
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}

// memCampaign mirrors the Redis layout: records are kept by person, so a
// person's new hold replaces the trace of their expired one.
type memCampaign struct {
	slots  map[string]*memSlot
	people map[string]*memRec
	hx     timerHeap // hold expiries
	gx     timerHeap // traces and idempotency records to drop
	idem   map[string]*memIdem
}

func newMemCampaign() *memCampaign {
	return &memCampaign{
		slots:  make(map[string]*memSlot),
		people: make(map[string]*memRec),
		idem:   make(map[string]*memIdem),
	}
}

// begin checks the context and now, locks the store, and returns the
// campaign (created if create is set; nil if absent otherwise) with its
// expired holds and stale records cleared. The caller must call s.mu.Unlock.
func (s *memoryStore) begin(ctx context.Context, now time.Time, c Campaign, create bool) (*memCampaign, int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	ms, err := nowMs(now)
	if err != nil {
		return nil, 0, err
	}
	s.mu.Lock()
	mc := s.campaigns[c]
	if mc == nil && create {
		mc = newMemCampaign()
		s.campaigns[c] = mc
	}
	if mc != nil {
		mc.purge(ms, s.retention)
	}
	return mc, ms, nil
}

// purge expires every hold due at now and drops traces and idempotency
// records past their retention.
func (c *memCampaign) purge(now, retention int64) {
	for len(c.hx) > 0 && c.hx[0].at <= now {
		t := heap.Pop(&c.hx).(timer)
		r := c.people[t.name]
		if r == nil || r.id != t.id || r.state != stateHeld || r.expires > now {
			continue
		}
		c.slots[r.slot].held--
		r.state = stateExpired
		// The trace is kept for the retention from the hold's expiry, not
		// from whichever call noticed it: every store then answers a late
		// Confirm alike.
		heap.Push(&c.gx, timer{at: r.expires + retention, kind: 'p', name: t.name, id: t.id})
	}
	for len(c.gx) > 0 && c.gx[0].at <= now {
		t := heap.Pop(&c.gx).(timer)
		switch t.kind {
		case 'p':
			if r := c.people[t.name]; r != nil && r.id == t.id && r.state == stateExpired {
				delete(c.people, t.name)
			}
		case 'k':
			if r := c.idem[t.name]; r != nil && r.expires <= now {
				delete(c.idem, t.name)
			}
		}
	}
}

// own returns the person's record if it is the hold or booking id.
func (c *memCampaign) own(person, id string) *memRec {
	if r := c.people[person]; r != nil && r.id == id {
		return r
	}
	return nil
}

// idempotent runs op unless key already has a live record, recording its
// outcome for the retention.
func (c *memCampaign) idempotent(now, retention int64, key, fp string, op func() outcome) outcome {
	if r := c.idem[key]; r != nil && r.expires > now {
		if r.fp != fp {
			return fail(codeConflict, "")
		}
		return r.out
	}
	out := op()
	c.idem[key] = &memIdem{expires: now + retention, fp: fp, out: out}
	heap.Push(&c.gx, timer{at: now + retention, kind: 'k', name: key})
	return out
}

func (s *memoryStore) DefineSlots(ctx context.Context, now time.Time, req DefineRequest) error {
	if err := req.Validate(); err != nil {
		return err
	}
	c, ms, err := s.begin(ctx, now, req.Campaign, true)
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	return c.idempotent(ms, s.retention, req.Key, req.fingerprint(), func() outcome {
		for _, sl := range req.Slots {
			if cur := c.slots[sl.ID]; cur != nil && sl.Capacity < cur.booked+cur.held {
				return fail(codeInUse, sl.ID)
			}
		}
		for _, sl := range req.Slots {
			if cur := c.slots[sl.ID]; cur != nil {
				cur.capacity = sl.Capacity
			} else {
				c.slots[sl.ID] = &memSlot{capacity: sl.Capacity}
			}
		}
		return outcome{}
	}).err()
}

func (s *memoryStore) Hold(ctx context.Context, now time.Time, req HoldRequest) (Hold, error) {
	if err := req.Validate(); err != nil {
		return Hold{}, err
	}
	c, ms, err := s.begin(ctx, now, req.Campaign, true)
	if err != nil {
		return Hold{}, err
	}
	defer s.mu.Unlock()
	o := c.idempotent(ms, s.retention, req.Key, req.fingerprint(), func() outcome {
		sl := c.slots[req.Slot]
		if sl == nil {
			return fail(codeNoSlot, req.Slot)
		}
		if r := c.people[req.Person]; r != nil && r.state != stateExpired {
			return fail(codeBooked, "")
		}
		if sl.booked+sl.held >= sl.capacity {
			return fail(codeFull, req.Slot)
		}
		id := newID()
		r := record{state: stateHeld, slot: req.Slot, person: req.Person, created: ms, expires: ms + durMs(req.TTL)}
		c.people[req.Person] = &memRec{id: id, record: r}
		sl.held++
		heap.Push(&c.hx, timer{at: r.expires, kind: 'h', name: req.Person, id: id})
		return outcome{id: id, rec: r}
	})
	if err := o.err(); err != nil {
		return Hold{}, err
	}
	return o.hold(req.Campaign), nil
}

func (s *memoryStore) Confirm(ctx context.Context, now time.Time, req ConfirmRequest) (Booking, error) {
	if err := req.Validate(); err != nil {
		return Booking{}, err
	}
	c, ms, err := s.begin(ctx, now, req.Campaign, true)
	if err != nil {
		return Booking{}, err
	}
	defer s.mu.Unlock()
	o := c.idempotent(ms, s.retention, req.Key, req.fingerprint(), func() outcome {
		r := c.own(req.Person, req.HoldID)
		if r == nil {
			return fail(codeNotFound, "")
		}
		switch r.state {
		case stateExpired:
			return fail(codeExpired, "")
		case stateHeld:
			sl := c.slots[r.slot]
			sl.held--
			sl.booked++
			r.state = stateBooked
			r.confirmed = ms
		}
		return outcome{id: r.id, rec: r.record}
	})
	if err := o.err(); err != nil {
		return Booking{}, err
	}
	return o.booking(req.Campaign), nil
}

func (s *memoryStore) Cancel(ctx context.Context, now time.Time, req CancelRequest) error {
	if err := req.Validate(); err != nil {
		return err
	}
	c, ms, err := s.begin(ctx, now, req.Campaign, true)
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	return c.idempotent(ms, s.retention, req.Key, req.fingerprint(), func() outcome {
		r := c.own(req.Person, req.ID)
		if r == nil {
			return fail(codeNotFound, "")
		}
		sl := c.slots[r.slot]
		switch r.state {
		case stateExpired:
			return fail(codeExpired, "")
		case stateHeld:
			sl.held--
		case stateBooked:
			sl.booked--
		}
		delete(c.people, req.Person)
		return outcome{id: r.id, rec: r.record}
	}).err()
}

func (s *memoryStore) Move(ctx context.Context, now time.Time, req MoveRequest) (Booking, error) {
	if err := req.Validate(); err != nil {
		return Booking{}, err
	}
	c, ms, err := s.begin(ctx, now, req.Campaign, true)
	if err != nil {
		return Booking{}, err
	}
	defer s.mu.Unlock()
	o := c.idempotent(ms, s.retention, req.Key, req.fingerprint(), func() outcome {
		r := c.own(req.Person, req.ID)
		if r == nil || r.state != stateBooked {
			return fail(codeNotBooking, "")
		}
		if r.slot == req.To {
			return outcome{id: r.id, rec: r.record}
		}
		to := c.slots[req.To]
		if to == nil {
			return fail(codeNoSlot, req.To)
		}
		if to.booked+to.held >= to.capacity {
			return fail(codeFull, req.To)
		}
		c.slots[r.slot].booked--
		to.booked++
		r.slot = req.To
		return outcome{id: r.id, rec: r.record}
	})
	if err := o.err(); err != nil {
		return Booking{}, err
	}
	return o.booking(req.Campaign), nil
}

func (s *memoryStore) Lookup(ctx context.Context, now time.Time, campaign Campaign, person string) (Entry, error) {
	if err := validLookup(campaign, person); err != nil {
		return Entry{}, err
	}
	c, _, err := s.begin(ctx, now, campaign, false)
	if err != nil {
		return Entry{}, err
	}
	defer s.mu.Unlock()
	if c == nil {
		return Entry{}, fail(codeNotFound, "").err()
	}
	r := c.people[person]
	if r == nil || r.state == stateExpired {
		return Entry{}, fail(codeNotFound, "").err()
	}
	return outcome{id: r.id, rec: r.record}.entry(campaign), nil
}

func (s *memoryStore) Availability(ctx context.Context, now time.Time, campaign Campaign, ids []string) ([]Availability, error) {
	if err := validAvailability(campaign, ids); err != nil {
		return nil, err
	}
	c, _, err := s.begin(ctx, now, campaign, false)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	if c == nil {
		if len(ids) > 0 {
			return nil, fail(codeNoSlot, ids[0]).err()
		}
		return []Availability{}, nil
	}
	if len(ids) == 0 {
		return c.all(), nil
	}
	out := make([]Availability, len(ids))
	for i, id := range ids {
		sl := c.slots[id]
		if sl == nil {
			return nil, fail(codeNoSlot, id).err()
		}
		out[i] = availability(id, sl.capacity, sl.booked, sl.held)
	}
	return out, nil
}

// Totals sums the counts of every slot: the memory store reads them in
// process, so it needs no running totals.
func (s *memoryStore) Totals(ctx context.Context, now time.Time, campaign Campaign) (Totals, error) {
	if err := campaign.Validate(); err != nil {
		return Totals{}, err
	}
	c, _, err := s.begin(ctx, now, campaign, false)
	if err != nil {
		return Totals{}, err
	}
	defer s.mu.Unlock()
	var t Totals
	if c != nil {
		for id, sl := range c.slots {
			t.Add(availability(id, sl.capacity, sl.booked, sl.held))
		}
	}
	return t, nil
}

func availability(id string, capacity, booked, held int) Availability {
	return Availability{Slot: id, Capacity: capacity, Booked: booked, Held: held, Free: max(0, capacity-booked-held)}
}

func (c *memCampaign) all() []Availability {
	out := make([]Availability, 0, len(c.slots))
	for id, sl := range c.slots {
		out = append(out, availability(id, sl.capacity, sl.booked, sl.held))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Slot < out[j].Slot })
	return out
}

func (s *memoryStore) Snapshot(ctx context.Context, now time.Time, campaign Campaign) (Snapshot, error) {
	if err := campaign.Validate(); err != nil {
		return Snapshot{}, err
	}
	c, _, err := s.begin(ctx, now, campaign, false)
	if err != nil {
		return Snapshot{}, err
	}
	defer s.mu.Unlock()
	snap := Snapshot{Campaign: campaign, At: now, Slots: []Availability{}, Holds: []Hold{}, Bookings: []Booking{}}
	if c == nil {
		return snap, nil
	}
	snap.Slots = c.all()
	for _, r := range c.people {
		o := outcome{id: r.id, rec: r.record}
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

func sortSnapshot(s *Snapshot) {
	sort.Slice(s.Holds, func(i, j int) bool { return strings.Compare(s.Holds[i].ID, s.Holds[j].ID) < 0 })
	sort.Slice(s.Bookings, func(i, j int) bool { return strings.Compare(s.Bookings[i].ID, s.Bookings[j].ID) < 0 })
}
