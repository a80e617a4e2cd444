package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/benbjohnson/clock"
)

// fakeTarget is a small model of the system under test, independent of the
// library: a first-come room with a shuffled early crowd, signed passes,
// and slots. It lets the simulator's own machinery be tested, and with
// broken set it overbooks and double-books on purpose, so that the
// simulator's checks can be seen to fail.
type fakeTarget struct {
	clk        clock.Clock
	open       time.Time
	rate       float64 // per second
	session    time.Duration
	secret     []byte
	broken     bool // ignore capacity and the one-booking rule
	admitEarly bool // admit people before the opening
	noMaint    bool // book during maintenance
	loseEvery  int  // the audit misses every n-th booking (lost on a "crash")
	phantom    bool // the audit shows a booking nobody was told of
	badIdem    bool // a retried request runs again instead of repeating
	movePlace  bool // joining again moves you back a place

	mu         sync.Mutex
	people     map[string]*fakePerson
	byPlace    []*fakePerson
	joined     int
	early      int // -1 until fixed
	served     int
	tokens     float64
	last       time.Time
	capacity   map[string]int
	booked     map[string]int
	held       map[string]int
	holds      map[string]*fakeHold
	personHold map[string]string
	idem       map[string]string
	seq        int
	maint      bool
}

type fakePerson struct {
	name     string
	index    int
	place    int
	admitted time.Time
	deadline time.Time
	done     bool
}

type fakeHold struct {
	id, person, slot string
	expires          time.Time
	confirmed        bool
	cancelled        bool
}

func newFakeTarget(cfg *config, clk clock.Clock, open time.Time, cr *crowd) *fakeTarget {
	f := &fakeTarget{
		clk: clk, open: open, rate: float64(cfg.Rate) / 60, session: cfg.SessionTTL,
		secret: []byte("fake-secret-fake-secret-fake-sec"),
		people: map[string]*fakePerson{}, early: -1,
		capacity: map[string]int{}, booked: map[string]int{}, held: map[string]int{},
		holds: map[string]*fakeHold{}, personHold: map[string]string{}, idem: map[string]string{},
	}
	for i, id := range cr.slotIDs {
		f.capacity[id] = cr.slotCap[i]
	}
	return f
}

func fakeFactory(broken bool) targetFactory {
	return fakeWith(func(f *fakeTarget) { f.broken = broken })
}

func fakeWith(set func(*fakeTarget)) targetFactory {
	return func(ctx context.Context, cfg *config, clk clock.Clock, open time.Time, cr *crowd) (target, faultControl, func(), error) {
		f := newFakeTarget(cfg, clk, open, cr)
		set(f)
		return f, nil, nil, nil
	}
}

// advance moves the line: fix the early crowd at the opening, then admit
// by the rate. Caller holds mu.
func (f *fakeTarget) advance(now time.Time) {
	if now.Before(f.open) && !f.admitEarly {
		return
	}
	if f.early < 0 {
		f.early = f.joined
		r := rand.New(rand.NewPCG(7, 7))
		perm := r.Perm(f.early)
		early := make([]*fakePerson, f.early)
		for _, p := range f.people {
			if p.index < f.early {
				p.place = perm[p.index]
				early[p.place] = p
			}
		}
		f.byPlace = append(early, f.byPlace...)
		f.last = now
		f.tokens = 1
	}
	f.tokens = min(f.tokens+now.Sub(f.last).Seconds()*f.rate, max(1, f.rate))
	f.last = now
	for f.tokens >= 1 && f.served < len(f.byPlace) {
		f.byPlace[f.served].admitted = now
		f.served++
		f.tokens--
	}
}

func (f *fakeTarget) standing(p *fakePerson, now time.Time) standing {
	st := standing{State: stWaiting, Ahead: -1, Place: int64(p.place), Line: int64(len(f.byPlace) - f.served)}
	if p.done || (!p.deadline.IsZero() && !now.Before(p.deadline)) {
		st.State = stDone
		return st
	}
	if !p.admitted.IsZero() {
		if p.deadline.IsZero() {
			p.deadline = now.Add(f.session)
		}
		st.State, st.Admitted = stAdmitted, p.admitted
		st.Pass, st.PassExpires = f.sign(p.name, p.deadline), p.deadline
		return st
	}
	if p.place >= 0 {
		st.Ahead = int64(p.place - f.served)
		if now.Sub(f.open) >= time.Minute {
			wait := time.Duration(float64(st.Ahead) / f.rate * float64(time.Second))
			st.ETAKnown, st.ETALow, st.ETAHigh = true, wait*9/10, wait*12/10+5*time.Second
		}
	}
	return st
}

func (f *fakeTarget) sign(name string, exp time.Time) string {
	msg := name + "|" + strconv.FormatInt(exp.UnixMilli(), 10)
	m := hmac.New(sha256.New, f.secret)
	m.Write([]byte(msg))
	return msg + "|" + hex.EncodeToString(m.Sum(nil))
}

func (f *fakeTarget) verify(name, tok string, now time.Time) bool {
	parts := strings.Split(tok, "|")
	if len(parts) != 3 || parts[0] != name {
		return false
	}
	ms, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || !now.Before(time.UnixMilli(ms)) {
		return false
	}
	return hmac.Equal([]byte(f.sign(name, time.UnixMilli(ms))), []byte(tok))
}

// Rejoin is Join: the fake keeps no tickets.
func (f *fakeTarget) Rejoin(ctx context.Context, name string) (standing, error) {
	return f.Join(ctx, name)
}

func (f *fakeTarget) Join(ctx context.Context, name string) (standing, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.clk.Now()
	p, ok := f.people[name]
	if ok && f.movePlace && p.place >= 0 && p.admitted.IsZero() && p.place > f.served {
		// Broken: a reconnect swaps you with the person behind.
		if next := p.place + 1; next < len(f.byPlace) && f.byPlace[next].admitted.IsZero() {
			q := f.byPlace[next]
			f.byPlace[p.place], f.byPlace[next] = q, p
			q.place, p.place = p.place, next
		}
	}
	if !ok {
		p = &fakePerson{name: name, index: f.joined, place: -1}
		f.joined++
		f.people[name] = p
		if f.early >= 0 {
			p.place = len(f.byPlace)
			f.byPlace = append(f.byPlace, p)
		}
	}
	f.advance(now)
	return f.standing(p, now), nil
}

func (f *fakeTarget) Status(ctx context.Context, name string) (standing, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.clk.Now()
	p, ok := f.people[name]
	if !ok {
		return standing{}, terr(kNotFound, nil)
	}
	f.advance(now)
	return f.standing(p, now), nil
}

func (f *fakeTarget) Done(ctx context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p, ok := f.people[name]; ok {
		p.done = true
	}
	return nil
}

func (f *fakeTarget) gate(name, pass string, now time.Time) error {
	switch {
	case f.maint && !f.noMaint:
		return terr(kMaintenance, nil)
	case now.Before(f.open) && !f.admitEarly:
		return terr(kNotOpen, nil)
	case !f.verify(name, pass, now):
		return terr(kInvalidPass, nil)
	}
	return nil
}

func (f *fakeTarget) expire(now time.Time) {
	for id, h := range f.holds {
		if !h.confirmed && !h.cancelled && !now.Before(h.expires) {
			h.cancelled = true
			f.held[h.slot]--
			if f.personHold[h.person] == id {
				delete(f.personHold, h.person)
			}
		}
	}
}

func (f *fakeTarget) Hold(ctx context.Context, name, pass, slot, key string) (hold, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.clk.Now()
	if err := f.gate(name, pass, now); err != nil {
		return hold{}, err
	}
	ikey := "h:" + key
	if r, ok := f.idem[ikey]; ok && !f.badIdem {
		if h, ok := f.holds[r]; ok {
			return hold{ID: h.id, Slot: h.slot, Expires: h.expires}, nil
		}
		return hold{}, terr(kindFromName(r), nil)
	}
	f.expire(now)
	c, ok := f.capacity[slot]
	switch {
	case !ok:
		f.idem[ikey] = "not_found"
		return hold{}, terr(kNotFound, nil)
	case !f.broken && f.personHold[name] != "":
		f.idem[ikey] = "already_booked"
		return hold{}, terr(kAlreadyBooked, nil)
	case !f.broken && f.booked[slot]+f.held[slot] >= c:
		f.idem[ikey] = "full"
		return hold{}, terr(kFull, nil)
	}
	f.seq++
	h := &fakeHold{id: fmt.Sprintf("h%d", f.seq), person: name, slot: slot, expires: now.Add(5 * time.Minute)}
	f.holds[h.id] = h
	f.held[slot]++
	f.personHold[name] = h.id
	f.idem[ikey] = h.id
	return hold{ID: h.id, Slot: slot, Expires: h.expires}, nil
}

func kindFromName(s string) kind {
	for k := kind(0); k < numKinds; k++ {
		if k.String() == s {
			return k
		}
	}
	return kOther
}

func (f *fakeTarget) Confirm(ctx context.Context, name, pass, holdID, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.clk.Now()
	if err := f.gate(name, pass, now); err != nil {
		return err
	}
	ikey := "c:" + key
	if r, ok := f.idem[ikey]; ok && !f.badIdem {
		if r == "ok" {
			return nil
		}
		return terr(kindFromName(r), nil)
	}
	f.expire(now)
	h, ok := f.holds[holdID]
	switch {
	case !ok || h.person != name:
		f.idem[ikey] = "not_found"
		return terr(kNotFound, nil)
	case h.confirmed:
		f.idem[ikey] = "ok"
		return nil
	case h.cancelled:
		f.idem[ikey] = "hold_expired"
		return terr(kHoldExpired, nil)
	}
	h.confirmed = true
	f.held[h.slot]--
	f.booked[h.slot]++
	f.idem[ikey] = "ok"
	return nil
}

func (f *fakeTarget) Maintenance(ctx context.Context, on bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.maint = on
	return nil
}

func (f *fakeTarget) Audit(ctx context.Context) (auditData, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := auditData{Booked: map[string]int{}, Capacity: map[string]int{}}
	for id, c := range f.capacity {
		d.Capacity[id] = c
		d.Booked[id] = f.booked[id]
	}
	n := 0
	for _, h := range f.holds {
		if h.confirmed {
			n++
			if f.loseEvery > 0 && n%f.loseEvery == 0 {
				d.Booked[h.slot]--
				continue
			}
			d.Bookings = append(d.Bookings, auditBooking{Person: h.person, Slot: h.slot, ID: h.id})
		}
	}
	if f.phantom {
		for id := range f.capacity {
			d.Bookings = append(d.Bookings, auditBooking{Person: "p0000000", Slot: id, ID: "phantom"})
			d.Booked[id]++
			break
		}
	}
	return d, nil
}

func (f *fakeTarget) Close() error { return nil }

var _ = errors.New
