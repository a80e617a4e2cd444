package main

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Violation counters. Every one must stay at zero; the program exits
// non-zero otherwise. They are the simulator's own judgement, from its
// ledger of what it was told and what it sent, and from the final audit of
// the store: never from the target's error codes alone.
type violations struct {
	// OverbookedSlots counts slots whose confirmed bookings exceeded their
	// capacity (ledger or audit, whichever saw more).
	OverbookedSlots int64 `json:"overbooked_slots"`
	// OverbookedPlaces is the total excess over capacity.
	OverbookedPlaces int64 `json:"overbooked_places"`
	// DoubleBookings counts people with more than one confirmed booking.
	DoubleBookings int64 `json:"double_bookings"`
	// AdmittedBeforeOpening counts admissions (a status that says
	// admitted, or an admission instant) before the opening.
	AdmittedBeforeOpening int64 `json:"admitted_before_opening"`
	// BookedBeforeOpening counts holds or confirmations that succeeded
	// before the opening.
	BookedBeforeOpening int64 `json:"booked_before_opening"`
	// BookedWithoutValidPass counts holds or confirmations that succeeded
	// with no pass, a forged one, someone else's, or one past its expiry.
	BookedWithoutValidPass int64 `json:"booked_without_valid_pass"`
	// BookedDuringMaintenance counts successes while maintenance was on.
	BookedDuringMaintenance int64 `json:"booked_during_maintenance"`
	// BookedDuringOutage counts successes while the store was down.
	BookedDuringOutage int64 `json:"booked_during_outage"`
	// LostBookings counts bookings confirmed to a person but missing from
	// the store at the audit (after a crash, say).
	LostBookings int64 `json:"lost_bookings"`
	// PhantomBookings counts bookings in the store that nobody was told
	// of (a refused or unknown request that booked anyway), excluding
	// people whose last request's outcome stayed unknown.
	PhantomBookings int64 `json:"phantom_bookings"`
	// IdempotencyMismatches counts retries with the same key that got a
	// different definitive answer than the first call.
	IdempotencyMismatches int64 `json:"idempotency_mismatches"`
	// ReconnectMovedPlace counts re-joins that reported a different place
	// in line than the person had.
	ReconnectMovedPlace int64 `json:"reconnect_moved_place"`
	// PacingExceeded counts waiting rooms whose reported admissions
	// exceeded rate x T + burst over some interval (HTTP runs: the multi
	// block's pacing check, across instances).
	PacingExceeded int64 `json:"pacing_exceeded"`
	// AuditMismatch counts slots whose booked count in the store differs
	// from the bookings the people's own lookups found, and bookings of
	// unknown people or slots (HTTP runs): a booking no lookup finds.
	AuditMismatch int64 `json:"audit_mismatch"`
	// Total is the sum of the above (OverbookedPlaces excluded).
	Total int64 `json:"total"`
}

func (v *violations) sum() {
	v.Total = v.OverbookedSlots + v.DoubleBookings + v.AdmittedBeforeOpening +
		v.BookedBeforeOpening + v.BookedWithoutValidPass + v.BookedDuringMaintenance +
		v.BookedDuringOutage + v.LostBookings + v.PhantomBookings +
		v.IdempotencyMismatches + v.ReconnectMovedPlace + v.PacingExceeded + v.AuditMismatch
}

// interval is [from, to) in simulated time.
type interval struct{ from, to time.Time }

// ledger is the simulator's independent record of every success the target
// reported, with the checks that need no store.
type ledger struct {
	cr   *crowd
	open time.Time

	slotBooked []atomic.Int32
	overSlot   []atomic.Bool

	mu       sync.Mutex
	confirms map[int32][]string // person -> distinct confirmed hold IDs
	slotOf   map[string]int32   // hold ID -> slot

	admittedBeforeOpening   atomic.Int64
	bookedBeforeOpening     atomic.Int64
	bookedWithoutValidPass  atomic.Int64
	bookedDuringMaintenance atomic.Int64
	bookedDuringOutage      atomic.Int64
	idempotencyMismatches   atomic.Int64
	reconnectMovedPlace     atomic.Int64
	overbookedPlaces        atomic.Int64
	doubleBookings          atomic.Int64

	// Windows are appended by the main loop between ticks, while no
	// worker runs, and read by workers during ticks.
	wmu         sync.RWMutex
	maintenance []interval
	outage      []interval
}

func newLedger(cr *crowd, open time.Time) *ledger {
	return &ledger{
		cr:         cr,
		open:       open,
		slotBooked: make([]atomic.Int32, len(cr.slotIDs)),
		overSlot:   make([]atomic.Bool, len(cr.slotIDs)),
		confirms:   make(map[int32][]string),
		slotOf:     make(map[string]int32),
	}
}

func within(ws []interval, t time.Time) bool {
	for _, w := range ws {
		if !t.Before(w.from) && (w.to.IsZero() || t.Before(w.to)) {
			return true
		}
	}
	return false
}

// withinOne reports whether [t0, t1] lies inside one window of ws.
func withinOne(ws []interval, t0, t1 time.Time) bool {
	for _, w := range ws {
		if within([]interval{w}, t0) && within([]interval{w}, t1) {
			return true
		}
	}
	return false
}

// startWindow and endWindow record maintenance ("m") or outage ("o").
func (l *ledger) startWindow(outage bool, t time.Time) {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if outage {
		l.outage = append(l.outage, interval{from: t})
	} else {
		l.maintenance = append(l.maintenance, interval{from: t})
	}
}

func (l *ledger) endWindow(outage bool, t time.Time) {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	ws := l.maintenance
	if outage {
		ws = l.outage
	}
	if n := len(ws); n > 0 && ws[n-1].to.IsZero() {
		ws[n-1].to = t
	}
}

// validPass reports whether tok is a genuine pass of p, unexpired at now.
// The caller holds p.mu.
func validPass(p *person, tok string, now time.Time) bool {
	if tok == "" {
		return false
	}
	for _, r := range p.passes {
		if r.token == tok {
			return r.expires.IsZero() || now.Before(r.expires)
		}
	}
	return false
}

// bookingSuccess checks a successful hold or confirm by person p, sent at
// t0 and answered at t1 (the same instant in simulated time), presenting
// tok. Each check counts only what is certain whenever in [t0, t1] the
// system decided: answered before the opening; a pass already invalid when
// sent; sent and answered within one maintenance or outage window. The
// caller holds p.mu.
func (l *ledger) bookingSuccess(p *person, tok string, t0, t1 time.Time) {
	if t1.Before(l.open) {
		l.bookedBeforeOpening.Add(1)
	}
	if !validPass(p, tok, t0) {
		l.bookedWithoutValidPass.Add(1)
	}
	l.wmu.RLock()
	m := withinOne(l.maintenance, t0, t1)
	o := withinOne(l.outage, t0, t1)
	l.wmu.RUnlock()
	if m {
		l.bookedDuringMaintenance.Add(1)
	}
	if o {
		l.bookedDuringOutage.Add(1)
	}
}

// admission checks a status that says admitted at now, with the library's
// admission instant at (zero if not reported).
func (l *ledger) admission(now, at time.Time) {
	if now.Before(l.open) || (!at.IsZero() && at.Before(l.open)) {
		l.admittedBeforeOpening.Add(1)
	}
}

// confirmed records a confirmed booking of hold holdID in slot by person
// pi; a repeat of the same hold (an idempotent retry) counts once.
func (l *ledger) confirmed(pi int, slot int, holdID string) {
	l.mu.Lock()
	ids := l.confirms[int32(pi)]
	if slices.Contains(ids, holdID) {
		l.mu.Unlock()
		return
	}
	ids = append(ids, holdID)
	l.confirms[int32(pi)] = ids
	l.slotOf[holdID] = int32(slot)
	l.mu.Unlock()
	if len(ids) == 2 {
		l.doubleBookings.Add(1)
	}
	if n := l.slotBooked[slot].Add(1); int(n) > l.cr.slotCap[slot] {
		l.overbookedPlaces.Add(1)
		l.overSlot[slot].Store(true)
	}
}

// hasRoom reports whether the ledger counts fewer confirmed bookings than
// the slot's capacity.
func (l *ledger) hasRoom(slot int) bool {
	return int(l.slotBooked[slot].Load()) < l.cr.slotCap[slot]
}

// bookedPlaces is the number of confirmed bookings in the ledger.
func (l *ledger) bookedPlaces() int64 {
	var n int64
	for i := range l.slotBooked {
		n += int64(l.slotBooked[i].Load())
	}
	return n
}

// auditResult is what the final audit found.
type auditResult struct {
	Performed        bool   `json:"performed"`
	Method           string `json:"method,omitempty"`
	Error            string `json:"error,omitempty"`
	Slots            int    `json:"slots"`
	Capacity         int64  `json:"capacity"`
	Booked           int64  `json:"booked"`
	PeopleWithBook   int64  `json:"people_with_booking"`
	LedgerBooked     int64  `json:"ledger_booked"`
	OverbookedSlots  int64  `json:"overbooked_slots"`
	DoubleBookings   int64  `json:"double_bookings"`
	LostBookings     int64  `json:"lost_bookings"`
	PhantomBookings  int64  `json:"phantom_bookings"`
	CountsDisagree   int64  `json:"slot_counts_disagreeing"`
	UnknownInStore   int64  `json:"unknown_people_or_slots"`
	CapacityMismatch int64  `json:"capacity_mismatches"`
}

// audit checks the store's contents against capacity, the one-booking
// rule and the ledger. uncertain(pi) reports people whose last mutating
// request's outcome stayed unknown.
func (l *ledger) audit(d auditData, uncertain func(int) bool) auditResult {
	res := auditResult{Performed: true, Method: d.Method, Slots: len(l.cr.slotIDs), LedgerBooked: l.bookedPlaces()}
	for _, c := range l.cr.slotCap {
		res.Capacity += int64(c)
	}
	// Per slot, from the store's own counts and from its list.
	listed := make([]int, len(l.cr.slotIDs))
	perPerson := make(map[int32]int)
	inStore := make(map[string]bool, len(d.Bookings))
	for _, b := range d.Bookings {
		si, pi := l.cr.slotIndex(b.Slot), l.cr.personIndex(b.Person)
		if si < 0 || pi < 0 {
			res.UnknownInStore++
			continue
		}
		listed[si]++
		perPerson[int32(pi)]++
		inStore[b.ID] = true
		l.mu.Lock()
		known := slices.Contains(l.confirms[int32(pi)], b.ID)
		l.mu.Unlock()
		if !known && !uncertain(pi) {
			res.PhantomBookings++
		}
	}
	for si, id := range l.cr.slotIDs {
		booked := listed[si]
		if n, ok := d.Booked[id]; ok {
			if n != listed[si] {
				res.CountsDisagree++
			}
			booked = max(booked, n)
		}
		if c, ok := d.Capacity[id]; ok && c != l.cr.slotCap[si] {
			res.CapacityMismatch++
		}
		res.Booked += int64(booked)
		if booked > l.cr.slotCap[si] {
			res.OverbookedSlots++
		}
	}
	for _, n := range perPerson {
		res.PeopleWithBook++
		if n > 1 {
			res.DoubleBookings++
		}
	}
	l.mu.Lock()
	for _, ids := range l.confirms {
		for _, id := range ids {
			if !inStore[id] {
				res.LostBookings++
			}
		}
	}
	l.mu.Unlock()
	return res
}

// violations sums the ledger's counters and the audit's findings.
func (l *ledger) violations(a auditResult) violations {
	var ledgerOver int64
	for i := range l.overSlot {
		if l.overSlot[i].Load() {
			ledgerOver++
		}
	}
	v := violations{
		OverbookedSlots:         max(ledgerOver, a.OverbookedSlots),
		OverbookedPlaces:        l.overbookedPlaces.Load(),
		DoubleBookings:          max(l.doubleBookings.Load(), a.DoubleBookings),
		AdmittedBeforeOpening:   l.admittedBeforeOpening.Load(),
		BookedBeforeOpening:     l.bookedBeforeOpening.Load(),
		BookedWithoutValidPass:  l.bookedWithoutValidPass.Load(),
		BookedDuringMaintenance: l.bookedDuringMaintenance.Load(),
		BookedDuringOutage:      l.bookedDuringOutage.Load(),
		LostBookings:            a.LostBookings,
		PhantomBookings:         a.PhantomBookings,
		IdempotencyMismatches:   l.idempotencyMismatches.Load(),
		ReconnectMovedPlace:     l.reconnectMovedPlace.Load(),
	}
	v.sum()
	return v
}
