package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"
)

// openingInstant is the simulated opening: 12 July 2021, 20:00 in Seoul,
// the night 1.85 million people aged 55-59 tried to book.
var openingInstant = time.Date(2021, 7, 12, 20, 0, 0, 0, time.FixedZone("KST", 9*3600))

// faultControl is what the simulator needs to inject a store fault; the
// Redis process manager (or a test's redistest server) provides it.
type faultControl interface {
	// Kill stops the store as a crash would (SIGKILL).
	Kill() error
	// Restart starts it again on the same address and data, and returns
	// once it answers.
	Restart() error
}

// sim is one run: the crowd, the target, the calendar and the books.
type sim struct {
	cfg *config
	ctx context.Context
	tgt target
	// indexed is tgt when it answers polls by crowd index, else nil.
	indexed indexedTarget
	cr      *crowd
	led     *ledger
	slots   *slotPool
	// pools are the slot pools by partition, for a target whose people
	// each book in one partition (partitionedTarget); nil otherwise.
	pools  map[string]*slotPool
	passes passPool
	ser    *series
	cal    *calendar
	pool   *pool
	lanes  []*pool // pool, and with -overlap more lanes
	late   int64   // follow-ups run a tick late (-overlap)
	// maxLead is the most the clock was past a call's own instant when
	// it returned (ns), and pastOpening the calls of a tick before the
	// opening that returned with the clock at or past it (-overlap): the
	// call's lane's clock when the target gives each lane its own
	// (laneClks), else the shared one.
	maxLead     atomic.Int64
	pastOpening atomic.Int64
	faults      faultControl
	progress    progressSink

	clk      clock.Clock // what the library was given
	sclk     *simClock   // non-nil in simulated time
	laneClks []*simClock // each lane's own clock, when the target has them (laneClocker)
	start    time.Time   // instant of tick 0
	open     time.Time
	openOff  time.Duration
	endTick  int64
	wall0    time.Time
	lastTick int64

	waiting  atomic.Int64
	finished atomic.Int64
	fates    [numFates]atomic.Int64
	storms   atomic.Int64
	// tricks[trick][0 tried, 1 refused, 2 succeeded]
	tricks   [numTricks][3]atomic.Int64
	backdoor [3]atomic.Int64
	doubles  [3]atomic.Int64 // second holds tried, refused, succeeded
	retries  atomic.Int64    // timed-out calls retried with the same key
	// booked counts the bookings made, each at the first confirm the
	// store answered "ok" (a person who then retries it, as if the answer
	// had been lost, hears of it only seconds later); lastMade is the
	// latest tick offset (+1) among them, and soldOut that offset once
	// they reached the places (0: never): with ticks overlapping, the
	// last booking to return is not always of the latest tick.
	booked   atomic.Int64
	lastMade atomic.Int64
	soldOut  atomic.Int64
	stopped  string // why the loop stopped early, "" if it ran out of events
	faultLog []faultRecord

	events atomic.Int64
	// cpuSeconds is this process's CPU over the main loop (run);
	// machineBusy the machine's share of CPU time not idle over it (0: not
	// known).
	cpuSeconds  float64
	machineBusy float64
	// tickLog, with -ticklog, gets a line per tick run (see run).
	tickLog *bufio.Writer
}

// faultRecord is a fault as it happened.
type faultRecord struct {
	Kind        string  `json:"kind"`
	At          string  `json:"at"`
	For         string  `json:"for"`
	WallSeconds float64 `json:"wall_seconds"`
	Error       string  `json:"error,omitempty"`
}

// progressSink receives progress updates; nil-safe implementations.
type progressSink interface {
	update(done, total int64, desc string)
	finish()
}

type noProgress struct{}

func (noProgress) update(int64, int64, string) {}
func (noProgress) finish()                     {}

// newSim prepares a run. clk is the clock the target was built with: a
// *simClock in simulated time, the real clock with -realtime.
func newSim(ctx context.Context, cfg *config, cr *crowd, tgt target, clk clock.Clock, start time.Time) *sim {
	s := &sim{
		cfg:     cfg,
		ctx:     ctx,
		tgt:     tgt,
		cr:      cr,
		clk:     clk,
		start:   start,
		openOff: cfg.openAt(),
		slots:   newSlotPool(len(cr.slotIDs)),
	}
	if sc, ok := clk.(*simClock); ok {
		s.sclk = sc
	}
	s.indexed, _ = tgt.(indexedTarget)
	s.open = start.Add(s.openOff)
	s.led = newLedger(cr, s.open)
	s.endTick = s.tickOf(s.openOff + cfg.MaxSim)
	s.cal = newCalendar(s.endTick)
	s.ser = newSeries(int((s.openOff+cfg.MaxSim)/time.Second) + 2)
	s.progress = noProgress{}
	s.pools = partitionPools(tgt, len(cr.slotIDs))
	return s
}

// simStartFor returns the instant of tick 0 for a run whose room opens at
// open: Prequeue earlier.
func simStartFor(cfg *config, open time.Time) time.Time { return open.Add(-cfg.openAt()) }

func (s *sim) tickOf(off time.Duration) int64 { return int64(off / s.cfg.Tick) }

func (s *sim) tickOffset(t int64) time.Duration { return time.Duration(t) * s.cfg.Tick }

// instant is the time of offset off.
func (s *sim) instant(off time.Duration) time.Time { return s.start.Add(off) }

// controlEvent is a fault step run by the main loop between ticks.
type controlEvent struct {
	tick int64
	run  func(now time.Time)
}

// flight is a tick running on one of the lanes.
type flight struct {
	p     *pool
	tick  int64
	batch []event
	t0    time.Time
	calls int
	done  chan struct{}
}

// run drives the simulation to its end and returns the wall time taken.
//
// With N lanes above 1 (simulated time only; N is -overlap, 10 by
// default, but no more ticks than lie within -overlap-for, 1 s by
// default: config.lanes), a tick starts while the ticks before it still
// have round trips out, up to N ticks at once, each on its own lane of
// -workers callers: the store then works on one tick's calls while the
// simulator prepares the next one's, where it would otherwise wait for
// the slowest call of each tick. Ticks overlap only while those running
// lie within N ticks of simulated time (the ticks between them may be
// empty), no fault step is due between them and none is before the
// opening while the other is at or after it; else the loop first waits
// for those running. A follow-up that a tick plans for a tick already
// started runs in the first tick not yet started, up to N-1 ticks late
// (the report counts them). A target that gives each lane a clock of its
// own (laneClocker: the in-process library with -lane-rooms, one
// composition per lane) has each call read its own tick's instant.
// Otherwise the clock is the latest tick's instant, so a call of an
// earlier tick may read a clock up to N-1 ticks ahead of its own instant,
// as a request that took that long to arrive would: never a clock past
// the opening while its tick is before it, nor past a fault step.
func (s *sim) run() time.Duration {
	s.pool = newPool(s, 0, s.cfg.Workers, s.cfg.Seed, s.handle)
	s.lanes = []*pool{s.pool}
	for s.sclk != nil && len(s.lanes) < s.cfg.lanes() {
		s.lanes = append(s.lanes, newPool(s, len(s.lanes), s.cfg.Workers, s.cfg.Seed, s.handle))
	}
	if lc, ok := s.tgt.(laneClocker); ok {
		if cs := lc.laneClocks(); len(cs) == len(s.lanes) {
			s.laneClks = cs
		}
	}
	defer func() {
		for _, p := range s.lanes {
			p.stop()
		}
	}()
	for i := range s.cr.people {
		p := s.cr.people[i]
		s.cal.add(s.tickOf(p.arrival), event{p: int32(i), act: actArrive})
	}
	controls := s.controls()
	// The main loop runs worker 0's events on this goroutine (with one
	// lane; with more, each tick's on a goroutine of its own): the crowd's
	// part, until the loop ends.
	s.label(partCrowd)
	defer s.label(context.Background())
	s.wall0 = time.Now()
	cpu0 := procCPUSeconds(os.Getpid())
	busy0, total0 := machineCPU()
	defer func() {
		s.cpuSeconds = max(0, procCPUSeconds(os.Getpid())-cpu0)
		if busy1, total1 := machineCPU(); total1 > total0 {
			s.machineBusy = (busy1 - busy0) / (total1 - total0)
		}
	}()
	lastProgress := time.Time{}
	var nextLine time.Duration
	// flights are the ticks running, oldest first, within N ticks.
	var flights []*flight
	// settle waits for the oldest flight and files its follow-ups, none
	// before the tick after the last one started.
	settle := func() {
		f := flights[0]
		<-f.done
		s.land(f, flights[len(flights)-1].tick+1)
		flights = flights[1:]
	}
	lane := 0
	for {
		tick, ok := s.cal.peek()
		if n := len(flights); n > 0 {
			last := flights[n-1].tick
			if n == len(s.lanes) || !ok || tick-flights[0].tick >= int64(len(s.lanes)) || (len(controls) > 0 && controls[0].tick <= tick) ||
				(s.tickOffset(last) < s.openOff && s.tickOffset(tick) >= s.openOff) ||
				s.finished.Load() == int64(len(s.cr.people)) {
				settle()
				continue
			}
		}
		if !ok || s.finished.Load() == int64(len(s.cr.people)) {
			// Everyone's night is over: what is left in the calendar
			// (a poll or a storm join planned before the person
			// finished) would do nothing.
			break
		}
		if tick > s.endTick {
			s.stopped = fmt.Sprintf("reached -max-sim %v after the opening", s.cfg.MaxSim)
			break
		}
		if err := s.ctx.Err(); err != nil {
			s.stopped = "interrupted: " + err.Error()
			break
		}
		if time.Since(s.wall0) > s.cfg.MaxWall {
			s.stopped = fmt.Sprintf("reached -max-wall %v", s.cfg.MaxWall)
			break
		}
		// Faults due by this tick run first, at their own instants.
		for len(controls) > 0 && controls[0].tick <= tick {
			c := controls[0]
			controls = controls[1:]
			at := s.instant(s.tickOffset(c.tick))
			s.moveClock(at)
			c.run(at)
		}
		off := s.tickOffset(tick)
		now := s.instant(off)
		s.moveClock(now)
		tick, batch := s.cal.pop()
		s.lastTick = tick
		s.events.Add(int64(len(batch)))
		f := &flight{p: s.lanes[lane], tick: tick, batch: batch, t0: time.Now()}
		if len(s.lanes) == 1 {
			f.calls = f.p.runTick(batch, tick, now, off)
			s.land(f, 0)
		} else {
			if s.laneClks != nil {
				s.laneClks[lane].advance(now)
			}
			lane = (lane + 1) % len(s.lanes)
			f.done = make(chan struct{})
			go func() {
				s.label(partCrowd)
				f.calls = f.p.runTick(batch, tick, now, off)
				close(f.done)
			}()
			flights = append(flights, f)
		}
		s.ser.waiting[s.ser.at(off)].Store(s.waiting.Load())
		if lr, ok := s.tgt.(lineReader); ok && off >= nextLine {
			nextLine = off + time.Second
			if n, err := lr.line(s.ctx); err == nil {
				s.ser.line[s.ser.at(off)].Store(n)
			}
			if rr, ok := s.tgt.(rateReader); ok && s.cr.backend != nil {
				if r, err := rr.rate(s.ctx); err == nil {
					s.cr.backend.sampleRate(now, r)
				}
			}
		}
		if t := time.Now(); t.Sub(lastProgress) > 200*time.Millisecond {
			lastProgress = t
			s.progress.update(s.finished.Load(), int64(len(s.cr.people)), s.describe(off))
		}
	}
	for len(flights) > 0 {
		settle()
	}
	// Faults still pending at the end (a restart after the last event)
	// run now so that the store is up for the audit.
	for _, c := range controls {
		if c.tick >= 0 {
			c.run(s.instant(s.tickOffset(max(c.tick, s.lastTick))))
		}
	}
	s.progress.update(s.finished.Load(), int64(len(s.cr.people)), s.describe(s.tickOffset(s.lastTick)))
	s.progress.finish()
	return time.Since(s.wall0)
}

// workers returns the workers of every lane.
func (s *sim) workers() []*worker {
	var ws []*worker
	for _, p := range s.lanes {
		ws = append(ws, p.workers...)
	}
	return ws
}

// land files the follow-ups of a finished tick in the calendar, none
// before floor (the tick after one already started), and gives its batch
// back.
func (s *sim) land(f *flight, floor int64) {
	if s.tickLog != nil {
		fmt.Fprintf(s.tickLog, "%d %d %d %d %d\n", f.tick, len(f.batch), f.calls, time.Since(f.t0).Microseconds(), f.t0.Sub(s.wall0).Microseconds())
	}
	s.cal.recycle(f.batch)
	for _, w := range f.p.workers {
		for _, sc := range w.out {
			if sc.tick < floor {
				s.late++
				sc.tick = floor
			}
			s.cal.add(sc.tick, sc.ev)
		}
		w.out = w.out[:0]
	}
}

// moveClock sets the simulated clock, or waits for the wall clock to get
// there with -realtime.
func (s *sim) moveClock(t time.Time) {
	if s.sclk != nil {
		s.sclk.advance(t)
		return
	}
	if d := t.Sub(s.clk.Now()); d > 0 {
		select {
		case <-time.After(d):
		case <-s.ctx.Done():
		}
	}
}

// deadline is the last instant the run may reach: -max-sim past the
// opening, and with -realtime also -max-wall from the start.
func (s *sim) deadline() time.Time {
	d := s.instant(s.tickOffset(s.endTick))
	if s.sclk == nil {
		d = minTime(d, s.wall0.Add(s.cfg.MaxWall))
	}
	return d
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// now is the instant a handler acts at: the tick's instant in simulated
// time, the wall clock with -realtime.
func (s *sim) now(w *worker) time.Time {
	if s.sclk != nil {
		return w.now
	}
	return s.clk.Now()
}

func (s *sim) describe(off time.Duration) string {
	rel := off - s.openOff
	sign := "+"
	if rel < 0 {
		sign, rel = "-", -rel
	}
	return fmt.Sprintf("T%s%-8s waiting %-8d booked %-8d", sign, rel.Truncate(time.Second), s.waiting.Load(), s.fates[fBooked].Load())
}

// controls turns the configured faults into main-loop steps.
func (s *sim) controls() []controlEvent {
	var cs []controlEvent
	for _, f := range s.cfg.Faults {
		from := s.tickOf(s.openOff + f.At)
		switch f.Kind {
		case "maintenance":
			to := s.tickOf(s.openOff + f.At + f.For)
			rec := &faultRecord{Kind: f.Kind, At: f.At.String(), For: f.For.String()}
			cs = append(cs,
				controlEvent{from, func(now time.Time) {
					t0 := time.Now()
					// The ledger counts the window from before the switch
					// is thrown: a success reported once it is on is a
					// violation.
					s.led.startWindow(false, now)
					if err := s.tgt.Maintenance(s.ctx, true); err != nil {
						rec.Error = "on: " + err.Error()
					}
					rec.WallSeconds += time.Since(t0).Seconds()
				}},
				controlEvent{to, func(now time.Time) {
					t0 := time.Now()
					if err := s.tgt.Maintenance(s.ctx, false); err != nil {
						rec.Error += " off: " + err.Error()
					}
					s.led.endWindow(false, now)
					rec.WallSeconds += time.Since(t0).Seconds()
					s.faultLog = append(s.faultLog, *rec)
				}})
		case "backend-slow":
			// The backend model divides its capacity by itself over the
			// window; the log records it.
			s.faultLog = append(s.faultLog, faultRecord{Kind: f.Kind, At: f.At.String(), For: f.For.String()})
		case "redis-restart":
			down := f.For
			if down == 0 {
				down = defaultOutage
			}
			to := s.tickOf(s.openOff + f.At + down)
			rec := &faultRecord{Kind: f.Kind, At: f.At.String(), For: down.String()}
			cs = append(cs,
				controlEvent{from, func(now time.Time) {
					t0 := time.Now()
					s.led.startWindow(true, now)
					if s.faults == nil {
						rec.Error = "no fault control"
					} else if err := s.faults.Kill(); err != nil {
						rec.Error = "kill: " + err.Error()
					}
					rec.WallSeconds += time.Since(t0).Seconds()
				}},
				controlEvent{to, func(now time.Time) {
					t0 := time.Now()
					if s.faults != nil {
						if err := s.faults.Restart(); err != nil {
							rec.Error += " restart: " + err.Error()
						}
					}
					s.led.endWindow(true, now)
					rec.WallSeconds += time.Since(t0).Seconds()
					s.faultLog = append(s.faultLog, *rec)
				}})
		}
	}
	// Stable sort by tick: faults given in order stay in order.
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && cs[j].tick < cs[j-1].tick; j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
	return cs
}

// defaultOutage is how long a redis-restart fault keeps the server down
// (simulated) when no +FOR is given.
const defaultOutage = 10 * time.Second
