package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// maxErrors is how many consecutive errors a person puts up with before
// giving up (fFailed).
const maxErrors = 60

// handle runs one event. It is called on the worker goroutines.
func (s *sim) handle(w *worker, e event) {
	p := s.cr.people[e.p]
	pi := int(e.p)
	switch e.act {
	case actArrive:
		s.arrive(w, pi, p)
	case actJoin2:
		s.join(w, pi, p, 1)
	case actPoll:
		s.poll(w, pi, p)
	case actStorm:
		s.storm(w, pi, p, int(e.n))
	case actSkip:
		s.skip(w, pi, p)
	case actExpiredTry:
		s.expiredTry(w, pi, p)
	case actReturn:
		p.mu.Lock()
		p.away = false
		p.returnedAt = w.off
		p.mu.Unlock()
		s.poll(w, pi, p)
	case actHold:
		s.hold(w, pi, p, int(e.dev), false)
	case actHoldRetry:
		s.hold(w, pi, p, int(e.dev), true)
	case actConfirm:
		s.confirm(w, pi, p, int(e.dev), false)
	case actConfirmRetry:
		s.confirm(w, pi, p, int(e.dev), true)
	}
}

// call runs one request with the per-request timeout, measuring its wall
// latency under o, and returns the start and end instants (simulated time:
// both the tick's instant).
func (s *sim) call(w *worker, o op, f func(ctx context.Context) error) (k kind, t0, t1 time.Time) {
	start := time.Now()
	ctx := w.req(s.ctx, start.Add(s.cfg.Timeout))
	t0 = s.now(w)
	s.label(partTarget)
	err := f(ctx)
	s.label(partCrowd)
	d := time.Since(start)
	if len(s.lanes) > 1 {
		s.noteLead(w)
	}
	ctx.release()
	t1 = s.now(w)
	k = kindOf(err)
	w.st.lat[o].add(d)
	w.st.outcomes[o][k]++
	return k, t0, t1
}

// noteLead records how far past the call's own instant the clock was
// when the call returned (ticks running at once, -overlap): the most a
// call could have read. One before the opening that could have read a
// clock at or past it is counted: the main loop's rule makes that never
// happen.
func (s *sim) noteLead(w *worker) {
	clk := s.sclk
	if s.laneClks != nil {
		clk = s.laneClks[w.lane]
	}
	c := clk.Now()
	raiseTo(&s.maxLead, int64(c.Sub(w.now)))
	if w.now.Before(s.open) && !c.Before(s.open) {
		s.pastOpening.Add(1)
	}
}

// raiseTo sets a to v if v is greater, safely with other writers.
func raiseTo(a *atomic.Int64, v int64) {
	for {
		m := a.Load()
		if v <= m || a.CompareAndSwap(m, v) {
			return
		}
	}
}

// jitter returns d scaled by a factor in [0.8, 1.2).
func jitter(w *worker, d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*w.rng.Float64()))
}

// expDur draws an exponential duration of mean m.
func expDur(w *worker, m time.Duration) time.Duration {
	return time.Duration(w.rng.ExpFloat64() * float64(m))
}

// backoff is the wait before the n-th retry after an error.
func (s *sim) backoff(w *worker, n int) time.Duration {
	d := s.cfg.PollMin << min(n, 5)
	return jitter(w, min(d, s.cfg.PollMax))
}

// errored counts a consecutive error for p and reports whether p gives up.
func (s *sim) errored(pi int, p *person) bool {
	p.mu.Lock()
	p.errs++
	n := p.errs
	p.mu.Unlock()
	if n > maxErrors {
		s.finish(nil, pi, p, fFailed)
		return true
	}
	return false
}

func (p *person) errCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.errs
}

// finish ends p's night with fate f (first fate wins). Booked, sold-out
// and failed people tell the room they are done (w non-nil).
func (s *sim) finish(w *worker, pi int, p *person, f fate) {
	p.mu.Lock()
	if p.fate != fActive {
		p.mu.Unlock()
		return
	}
	p.fate = f
	wasWaiting := p.joined && !p.admitted
	p.mu.Unlock()
	if wasWaiting {
		s.waiting.Add(-1)
	}
	s.fates[f].Add(1)
	s.finished.Add(1)
	if w != nil && f != fAbandoned {
		s.call(w, opDone, func(ctx context.Context) error { return s.tgt.Done(ctx, p.name) })
	}
}

// arrive is a person's first step: the back-door try, then the join.
func (s *sim) arrive(w *worker, pi int, p *person) {
	if p.beh&bBackdoor != 0 && s.now(w).Before(s.open) {
		s.backdoorTry(w, pi, p)
	}
	s.join(w, pi, p, 0)
}

// join joins (device dev) and, the first time, plans the person's
// behaviours.
func (s *sim) join(w *worker, pi int, p *person, dev int) {
	var st standing
	k, _, _ := s.call(w, opJoin, func(ctx context.Context) (err error) {
		st, err = s.tgt.Join(ctx, p.name)
		return err
	})
	if k != kOK {
		if s.errored(pi, p) {
			return
		}
		act := actArrive
		if dev == 1 {
			act = actJoin2
		}
		w.after(s.backoff(w, p.errCount()), event{p: int32(pi), act: act, dev: uint8(dev)})
		return
	}
	p.mu.Lock()
	p.errs = 0
	first := !p.joined
	if first {
		p.joined = true
		p.joinedAt = w.off
		p.lastPoll = w.off
		if st.ETAKnown {
			p.etaKnown, p.etaLo, p.etaHi = true, st.ETALow, st.ETAHigh
		}
	}
	p.mu.Unlock()
	if first {
		s.waiting.Add(1)
		s.ser.arrivals[s.ser.at(w.off)].Add(1)
	}
	s.observe(w, pi, p, st, dev == 0 && first)
	if !first || dev != 0 {
		return
	}
	if st.State == stWaiting {
		w.after(s.pollInterval(w, st), event{p: int32(pi), act: actPoll})
	}
	if p.beh&bDouble != 0 {
		w.after(time.Duration(w.rng.Int64N(int64(3*time.Second))), event{p: int32(pi), act: actJoin2, dev: 1})
	}
	if p.beh&bReconnect != 0 {
		w.after(5*time.Second+time.Duration(w.rng.Int64N(int64(55*time.Second))),
			event{p: int32(pi), act: actStorm, n: uint16(s.cfg.ReconnectJoins)})
	}
	if p.beh&bSkipper != 0 && p.trick != trickExpired {
		w.after(500*time.Millisecond+time.Duration(w.rng.Int64N(int64(2500*time.Millisecond))), event{p: int32(pi), act: actSkip})
	}
}

// pollInterval is how long a client waits before asking again: what the
// room asks for (PollAfter) if it says, else half the low end of the ETA,
// within [PollMin, PollMax]; before the opening, until just after it; with
// no estimate, a quarter of PollMax.
func (s *sim) pollInterval(w *worker, st standing) time.Duration {
	var d time.Duration
	switch {
	case s.now(w).Before(s.open):
		// Pages that know the opening refresh just after it.
		d = min(s.cfg.PollMax, s.open.Sub(s.now(w)))
		if d < s.cfg.PollMax {
			return d + time.Duration(w.rng.Int64N(int64(5*time.Second)))
		}
	case st.PollAfter > 0:
		d = st.PollAfter
	case st.ETAKnown:
		d = st.ETALow / 2
	default:
		d = s.cfg.PollMax / 4
	}
	return jitter(w, max(s.cfg.PollMin, min(d, s.cfg.PollMax)))
}

// observe records what a Join or Status said: admission checks, passes,
// place changes; and starts the booking once admitted. plan is false for
// answers that must not start anything (the second device's join).
func (s *sim) observe(w *worker, pi int, p *person, st standing, plan bool) {
	now := s.now(w)
	if st.Line >= 0 {
		s.ser.line[s.ser.at(w.off)].Store(st.Line)
	}
	switch st.State {
	case stAdmitted:
		s.led.admission(now, st.Admitted)
		p.mu.Lock()
		if st.Admitted.After(p.lastAdmitted) {
			p.lastAdmitted = st.Admitted
		}
		if st.Pass != "" {
			if !hasPass(p, st.Pass) {
				p.passes = append(p.passes, passRec{token: st.Pass, expires: st.PassExpires})
				defer s.passes.add(pi, st.Pass)
			}
			p.pass, p.passExp = st.Pass, st.PassExpires
		}
		newly := !p.admitted
		if newly {
			p.admitted = true
			p.admittedAt = w.off
			p.prevPoll = p.lastPoll
			p.reported = st.Admitted
			if p.wentAway {
				p.calledAway = true
			}
		}
		start := plan && !p.admitting && !p.booked && p.fate == fActive && p.pass != ""
		if start {
			p.admitting = true
		}
		expiredTrick := p.beh&bSkipper != 0 && p.trick == trickExpired && !p.expiredDone
		passExp := p.passExp
		holding := p.holding[0]
		p.mu.Unlock()
		if newly {
			s.waiting.Add(-1)
			s.ser.admissions[s.ser.at(w.off)].Add(1)
		}
		if !start {
			return
		}
		if expiredTrick && !passExp.IsZero() && passExp.After(s.deadline()) {
			// The pass would expire after the run is over: book instead.
			expiredTrick = false
		}
		switch {
		case expiredTrick:
			// Wait for the pass to lapse, then try it.
			at := passExp
			if at.IsZero() {
				at = now.Add(s.cfg.SessionTTL)
			}
			w.after(at.Sub(now)+time.Second, event{p: int32(pi), act: actExpiredTry})
		case holding:
			// Back with a fresh pass and a live hold: confirm it.
			w.after(0, event{p: int32(pi), act: actConfirm})
		default:
			think := expDur(w, s.cfg.Think)
			w.after(think, event{p: int32(pi), act: actHold})
			if p.beh&bDouble != 0 {
				// The second device books at the same moment.
				w.after(think, event{p: int32(pi), act: actHold, dev: 1})
			}
		}
	case stSoldOut:
		// Told there is no place left: the person goes home.
		p.mu.Lock()
		if !p.toldSoldOut {
			p.toldSoldOut, p.toldAt = true, w.off
		}
		p.mu.Unlock()
		if plan {
			s.finish(w, pi, p, fSoldOut)
		}
	case stWaiting:
		if st.ETAKnown {
			p.mu.Lock()
			p.timeShown, p.timeShownAt = true, w.off
			p.lastLo, p.lastHi = st.ETALow, st.ETAHigh
			p.mu.Unlock()
		}
		if st.Place >= 0 {
			p.mu.Lock()
			moved := p.place >= 0 && p.place != st.Place && !st.Returning
			p.place = st.Place
			p.mu.Unlock()
			if moved {
				s.led.reconnectMovedPlace.Add(1)
			}
		}
	}
}

func hasPass(p *person, tok string) bool {
	for _, r := range p.passes {
		if r.token == tok {
			return true
		}
	}
	return false
}

// poll asks for the person's status and plans the next step.
func (s *sim) poll(w *worker, pi int, p *person) {
	p.mu.Lock()
	if p.fate != fActive || p.away {
		p.mu.Unlock()
		return
	}
	if p.beh&bAbandon != 0 && w.off >= p.joinedAt+p.quitAt && !p.admitting {
		p.mu.Unlock()
		s.finish(nil, pi, p, fAbandoned)
		return
	}
	p.mu.Unlock()
	var st standing
	k, _, _ := s.call(w, opStatus, func(ctx context.Context) (err error) {
		if s.indexed != nil {
			st, err = s.indexed.statusOf(ctx, pi, p.name, &p.ticket)
		} else {
			st, err = s.tgt.Status(ctx, p.name)
		}
		return err
	})
	if k != kOK {
		if !s.errored(pi, p) {
			w.after(s.backoff(w, p.errCount()), event{p: int32(pi), act: actPoll})
		}
		return
	}
	s.observe(w, pi, p, st, true)
	p.mu.Lock()
	p.errs = 0
	p.lastPoll = w.off
	goAway := p.beh&bComeback != 0 && !p.wentAway && st.State == stWaiting &&
		st.Ahead >= 0 && st.Ahead <= int64(s.cfg.Rate/2)
	if goAway {
		p.wentAway, p.away = true, true
	}
	p.mu.Unlock()
	switch {
	case st.State == stDone:
		s.finish(w, pi, p, fSessionLost)
	case goAway:
		// Away just before being called: back after Away.
		w.after(s.cfg.Away, event{p: int32(pi), act: actReturn})
	case st.State == stWaiting:
		w.after(s.pollInterval(w, st), event{p: int32(pi), act: actPoll})
	}
}

// storm is one re-join of a reconnect storm; n joins are left.
func (s *sim) storm(w *worker, pi int, p *person, n int) {
	p.mu.Lock()
	stop := p.fate != fActive || p.admitted
	p.mu.Unlock()
	if stop || n <= 0 {
		return
	}
	s.storms.Add(1)
	var st standing
	k, _, _ := s.call(w, opJoin, func(ctx context.Context) (err error) {
		st, err = s.tgt.Rejoin(ctx, p.name)
		return err
	})
	if k == kOK {
		s.observe(w, pi, p, st, true)
	}
	if n > 1 {
		w.after(100*time.Millisecond+time.Duration(w.rng.Int64N(int64(900*time.Millisecond))),
			event{p: int32(pi), act: actStorm, n: uint16(n - 1)})
	}
}

// randomSlot picks any slot.
func (s *sim) randomSlot(w *worker) int { return w.rng.IntN(len(s.cr.slotIDs)) }

// attack makes one booking attempt that should be refused, and counts it
// in c[0] tried, c[1] refused, c[2] succeeded. A success is judged by the
// ledger (the pass is not the person's own) and followed through.
func (s *sim) attack(w *worker, pi int, p *person, tok, key string, c *[3]atomic.Int64) {
	slot := s.randomSlot(w)
	var h hold
	k, t0, t1 := s.call(w, opHold, func(ctx context.Context) (err error) {
		h, err = s.tgt.Hold(ctx, p.name, tok, s.cr.slotIDs[slot], key)
		return err
	})
	c[0].Add(1)
	if k != kOK {
		c[1].Add(1)
		return
	}
	c[2].Add(1)
	p.mu.Lock()
	s.led.bookingSuccess(p, tok, t0, t1)
	// Let through: go on and confirm with the same pass, as an attacker
	// would.
	p.holds[0], p.holding[0] = h, true
	p.pass = tok
	p.admitting = true
	p.mu.Unlock()
	w.after(expDur(w, s.cfg.ConfirmThink), event{p: int32(pi), act: actConfirm})
}

// backdoorTry books before the opening with no pass, then with a forged one.
func (s *sim) backdoorTry(w *worker, pi int, p *person) {
	s.attack(w, pi, p, "", p.name+"-backdoor", &s.backdoor)
}

// skip is a skipper's trick, tried soon after joining (in line, or
// already admitted: a pass that is not one's own is refused either way).
func (s *sim) skip(w *worker, pi int, p *person) {
	p.mu.Lock()
	stop := p.fate != fActive || p.skipped
	p.skipped = true
	p.mu.Unlock()
	if stop {
		return
	}
	var tok string
	switch p.trick {
	case trickNoPass:
	case trickForged:
		tok = forge(w.rng, s.passes.someoneElse(w.rng, pi))
	case trickBorrowed:
		tok = s.passes.someoneElse(w.rng, pi)
		if tok == "" {
			tok = forge(w.rng, "")
		}
	}
	s.attack(w, pi, p, tok, fmt.Sprintf("%s-skip", p.name), &s.tricks[p.trick])
}

// expiredTry books with the pass that has just expired, then asks the room
// again.
func (s *sim) expiredTry(w *worker, pi int, p *person) {
	p.mu.Lock()
	p.expiredDone = true
	p.admitting = false
	tok := p.pass
	stop := p.fate != fActive
	p.mu.Unlock()
	if stop {
		return
	}
	s.attack(w, pi, p, tok, fmt.Sprintf("%s-expired", p.name), &s.tricks[trickExpired])
	p.mu.Lock()
	let := p.holding[0]
	p.mu.Unlock()
	if !let {
		w.after(0, event{p: int32(pi), act: actPoll})
	}
}

// definitive reports whether k is a store's recorded answer, the kind an
// idempotent retry must repeat.
func definitive(k kind) bool {
	switch k {
	case kOK, kFull, kAlreadyBooked, kHoldExpired, kNotFound:
		return true
	}
	return false
}

// hold asks for a place for device dev; retry repeats the pending request
// with the same key.
func (s *sim) hold(w *worker, pi int, p *person, dev int, retry bool) {
	p.mu.Lock()
	if (p.fate != fActive && dev == 0) || p.booked || p.holding[dev] {
		p.mu.Unlock()
		return
	}
	tok := p.pass
	rec := p.retryFirst[dev]
	if !retry || !rec.set {
		p.seq++
		rec = retryRec{key: fmt.Sprintf("%s-%d-h%d", p.name, dev, p.seq), slot: -1}
	}
	p.mu.Unlock()
	if rec.slot < 0 {
		rec.slot = s.slotsFor(p).pick(w.rng, s.led.hasRoom)
		if rec.slot < 0 {
			if dev == 0 {
				s.finish(w, pi, p, fSoldOut)
			}
			return
		}
	}
	var h hold
	k, t0, t1 := s.call(w, opHold, func(ctx context.Context) (err error) {
		h, err = s.tgt.Hold(ctx, p.name, tok, s.cr.slotIDs[rec.slot], rec.key)
		return err
	})
	if k == kOK {
		p.mu.Lock()
		s.led.bookingSuccess(p, tok, t0, t1)
		p.mu.Unlock()
	}
	if retry && rec.set && definitive(rec.kind) && definitive(k) && (rec.kind != k || rec.id != h.ID) {
		s.led.idempotencyMismatches.Add(1)
	}
	// A timed-out call: the client never sees this answer and retries.
	if !retry && p.beh&bRetry != 0 {
		rec.kind, rec.id, rec.set = k, h.ID, true
		p.mu.Lock()
		p.retryFirst[dev] = rec
		p.mu.Unlock()
		s.retries.Add(1)
		w.after(2*time.Second+time.Duration(w.rng.Int64N(int64(3*time.Second))),
			event{p: int32(pi), act: actHoldRetry, dev: uint8(dev)})
		return
	}
	if dev == 1 {
		s.doubles[0].Add(1)
		if k == kOK {
			s.doubles[2].Add(1)
		} else if !k.unknown() {
			s.doubles[1].Add(1)
		}
	}
	p.mu.Lock()
	p.settle(dev, rec, k)
	if k == kOK {
		p.holds[dev], p.holding[dev] = h, true
		p.errs = 0
	}
	p.mu.Unlock()
	switch k {
	case kOK:
		s.planConfirm(w, pi, p, dev)
	case kFull:
		s.slotsFor(p).full(rec.slot)
		p.mu.Lock()
		p.tries++
		give := p.tries >= s.cfg.Tries
		p.mu.Unlock()
		if give {
			if dev == 0 {
				s.finish(w, pi, p, fSoldOut)
			}
			return
		}
		w.after(0, event{p: int32(pi), act: actHold, dev: uint8(dev)})
	case kAlreadyBooked:
		// The other device holds (double booker), or an earlier request
		// whose answer was lost did: this device stops.
		if dev == 0 {
			p.mu.Lock()
			other := p.holding[1] || p.beh&bDouble != 0
			p.uncertain = p.uncertain || !other
			p.mu.Unlock()
			if !other {
				s.finish(w, pi, p, fFailed)
			}
		}
	case kInvalidPass, kNotAdmitted:
		if dev == 0 {
			s.refreshPass(w, pi, p)
		}
	case kNotOpen:
		if s.now(w).Before(s.open) {
			w.at(s.openOff+time.Duration(w.rng.Int64N(int64(5*time.Second))), event{p: int32(pi), act: actHold, dev: uint8(dev)})
		} else if dev == 0 {
			s.finish(w, pi, p, fFailed)
		}
	case kHoldExpired, kNotFound, kConflict:
		if !s.errored(pi, p) {
			w.after(0, event{p: int32(pi), act: actHold, dev: uint8(dev)})
		}
	default: // unavailable, timeout, maintenance, rate limited, other
		if !s.errored(pi, p) {
			w.after(s.backoff(w, p.errCount()), event{p: int32(pi), act: actHoldRetry, dev: uint8(dev)})
		}
	}
}

// refreshPass sends the person back to the room for a new pass.
func (s *sim) refreshPass(w *worker, pi int, p *person) {
	p.mu.Lock()
	p.admitting = false
	p.pass = ""
	p.mu.Unlock()
	w.after(time.Second, event{p: int32(pi), act: actPoll})
}

func (s *sim) planConfirm(w *worker, pi int, p *person, dev int) {
	w.after(expDur(w, s.cfg.ConfirmThink), event{p: int32(pi), act: actConfirm, dev: uint8(dev)})
}

// bookingMade counts a booking the store made in w's tick, and marks the
// sell-out when it is the last place: at the latest tick among the
// bookings, which are all made once the count reaches the places (the
// store never books more).
func (s *sim) bookingMade(w *worker) {
	raiseTo(&s.lastMade, int64(w.off)+1)
	if s.booked.Add(1) == int64(s.cfg.Slots) {
		s.soldOut.Store(s.lastMade.Load())
	}
}

// confirm turns device dev's hold into a booking.
func (s *sim) confirm(w *worker, pi int, p *person, dev int, retry bool) {
	p.mu.Lock()
	if !p.holding[dev] {
		p.mu.Unlock()
		return
	}
	tok := p.pass
	h := p.holds[dev]
	rec := p.retryFirst[dev]
	if !retry || !rec.set {
		p.seq++
		rec = retryRec{key: fmt.Sprintf("%s-%d-c%d", p.name, dev, p.seq), slot: s.cr.slotIndex(h.Slot)}
	}
	p.mu.Unlock()
	if rec.slot < 0 {
		rec.slot = s.cr.slotIndex(h.Slot)
	}
	k, t0, t1 := s.call(w, opConfirm, func(ctx context.Context) error {
		return s.tgt.Confirm(ctx, p.name, tok, h.ID, rec.key)
	})
	if k == kOK {
		p.mu.Lock()
		s.led.bookingSuccess(p, tok, t0, t1)
		p.mu.Unlock()
		if rec.slot >= 0 {
			s.led.confirmed(pi, rec.slot, h.ID)
		}
		if !retry || !rec.set || rec.kind != kOK {
			s.bookingMade(w)
		}
	}
	if retry && rec.set && definitive(rec.kind) && definitive(k) && rec.kind != k {
		s.led.idempotencyMismatches.Add(1)
	}
	if !retry && p.beh&bRetry != 0 {
		rec.kind, rec.set = k, true
		p.mu.Lock()
		p.retryFirst[dev] = rec
		p.mu.Unlock()
		s.retries.Add(1)
		w.after(2*time.Second+time.Duration(w.rng.Int64N(int64(3*time.Second))),
			event{p: int32(pi), act: actConfirmRetry, dev: uint8(dev)})
		return
	}
	p.mu.Lock()
	p.settle(dev, rec, k)
	if k == kOK {
		p.booked = true
		p.holding[dev] = false
		p.errs = 0
	}
	if k == kHoldExpired || k == kNotFound {
		p.holding[dev] = false
	}
	p.mu.Unlock()
	switch k {
	case kOK:
		s.ser.bookings[s.ser.at(w.off)].Add(1)
		s.finish(w, pi, p, fBooked)
	case kHoldExpired, kNotFound:
		if !s.errored(pi, p) {
			w.after(0, event{p: int32(pi), act: actHold, dev: uint8(dev)})
		}
	case kAlreadyBooked, kFull, kConflict:
		// Not expected from a confirm: count it as an error and stop.
		p.mu.Lock()
		p.holding[dev] = false
		p.mu.Unlock()
		if dev == 0 {
			s.finish(w, pi, p, fFailed)
		}
	case kInvalidPass, kNotAdmitted:
		if dev == 0 {
			s.refreshPass(w, pi, p)
		}
	case kNotOpen:
		if dev == 0 {
			s.finish(w, pi, p, fFailed)
		}
	default:
		if !s.errored(pi, p) {
			w.after(s.backoff(w, p.errCount()), event{p: int32(pi), act: actConfirmRetry, dev: uint8(dev)})
		}
	}
}

// settle records the outcome k of a call made from device dev with retry
// record rec; p.mu must be held. An unknown outcome, or a refusal before
// the store (maintenance, the client limit), keeps rec so that the retry
// sends the same idempotency key; any other outcome clears it.
func (p *person) settle(dev int, rec retryRec, k kind) {
	p.retryFirst[dev] = retryRec{}
	if k.unknown() || k == kMaintenance || k == kLimited {
		rec.set, rec.kind = true, kUnavailable
		p.retryFirst[dev] = rec
		p.uncertain = p.uncertain || k.unknown()
	} else {
		p.uncertain = false
	}
}
