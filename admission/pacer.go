package admission

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of [PacingOptions].
const (
	DefaultPacingInterval  = 5 * time.Second
	DefaultPacingMaxErrors = 0.01
	DefaultPacingBackoff   = 0.5
	DefaultPacingSlowShare = 0.1
)

// PacingOptions configure a [Pacer]. The zero value of each optional field
// means the documented default; Min, Max and Target are required.
type PacingOptions struct {
	// Min and Max bound the rate the pacer sets, people per minute,
	// 0 < Min <= Max. An operator may narrow or move them live, for every
	// instance, with Limits.MinRate and Limits.MaxRate ([Room.SetLimits]).
	Min, Max int

	// Target is the booking latency the backend should stay under: an
	// interval in which more than SlowShare of the booking calls took
	// longer is unhealthy. Required.
	Target time.Duration

	// SlowShare is the share of calls slower than Target that makes an
	// interval unhealthy (Target is then the (1-SlowShare) quantile's
	// bound). 0 means DefaultPacingSlowShare (0.1: the p90).
	SlowShare float64

	// MaxErrors is the share of failed booking calls (backend errors and
	// timeouts, not refusals such as "full") above which an interval is
	// unhealthy. 0 means DefaultPacingMaxErrors.
	MaxErrors float64

	// Interval is how often the rate is decided. 0 means
	// DefaultPacingInterval.
	Interval time.Duration

	// Step is the additive increase after a healthy interval, people per
	// minute. 0 means a twentieth of Max-Min, at least 1.
	Step int

	// Backoff multiplies the rate after an unhealthy interval, in (0, 1),
	// or Target over the interval's mean latency when that is smaller
	// (the further past the target, the deeper the cut: the gradient of
	// Netflix's limits). 0 means DefaultPacingBackoff.
	Backoff float64
}

func (o PacingOptions) withDefaults() (PacingOptions, error) {
	switch {
	case o.Min <= 0 || o.Max < o.Min:
		return o, fmt.Errorf("admission: pacing: Min %d, Max %d: want 0 < Min <= Max", o.Min, o.Max)
	case o.Target <= 0:
		return o, errors.New("admission: pacing: Target is required")
	case o.SlowShare < 0 || o.SlowShare >= 1:
		return o, fmt.Errorf("admission: pacing: SlowShare %v, want [0, 1)", o.SlowShare)
	case o.MaxErrors < 0 || o.MaxErrors >= 1:
		return o, fmt.Errorf("admission: pacing: MaxErrors %v, want [0, 1)", o.MaxErrors)
	case o.Interval < 0 || o.Interval%time.Millisecond != 0:
		return o, fmt.Errorf("admission: pacing: Interval %v, want whole milliseconds >= 0", o.Interval)
	case o.Step < 0:
		return o, fmt.Errorf("admission: pacing: Step %d, want >= 0", o.Step)
	case o.Backoff < 0 || o.Backoff >= 1:
		return o, fmt.Errorf("admission: pacing: Backoff %v, want (0, 1)", o.Backoff)
	}
	if o.SlowShare == 0 {
		o.SlowShare = DefaultPacingSlowShare
	}
	if o.MaxErrors == 0 {
		o.MaxErrors = DefaultPacingMaxErrors
	}
	if o.Interval == 0 {
		o.Interval = DefaultPacingInterval
	}
	if o.Step == 0 {
		o.Step = max(1, (o.Max-o.Min)/20)
	}
	if o.Backoff == 0 {
		o.Backoff = DefaultPacingBackoff
	}
	return o, nil
}

// Pacer sets a room's rate from the health of the booking backend behind
// it: additive increase after a healthy interval, multiplicative decrease
// after an unhealthy one (the AIMD limit of Netflix's concurrency-limits,
// applied to the admission rate), between a minimum and a maximum; a
// decrease goes as deep as Target over the interval's mean latency, so
// that a backend suddenly ten times slower gets a tenth of the rate at
// once rather than after several halvings.
//
// The host reports every booking call with [Pacer.Observe] (from its
// booking layer's observer); give the pacer to the room in
// Options.Pacer. The room decides at its snapshot refreshes, on its
// clock: once per Interval, counted from the room's opening, it changes
// the rate in the store with [Store.AdjustLimits], which only the first
// instance to decide in an interval gets through, so that every instance
// shares one rate and an interval is never acted on twice. Each Room
// needs its own Pacer (the calls it observes are its instance's).
type Pacer struct {
	o PacingOptions

	calls, slow, failed atomic.Int64
	latency             atomic.Int64 // sum, µs
	mu                  sync.Mutex   // one decision at a time
	last                time.Time    // start of the interval last decided
}

// NewPacer returns a pacer; invalid options are an error naming the field.
func NewPacer(opts PacingOptions) (*Pacer, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Pacer{o: o}, nil
}

// Observe reports one booking call: its latency, measured on the host's
// injected clock, and err non-nil for a backend failure or a timeout
// (report refusals such as "full" or "already booked" with a nil err).
// It is fast and safe for concurrent use.
func (p *Pacer) Observe(d time.Duration, err error) {
	p.calls.Add(1)
	p.latency.Add(d.Microseconds())
	if err != nil {
		p.failed.Add(1)
	} else if d > p.o.Target {
		p.slow.Add(1)
	}
}

// Options returns the pacer's options, defaults filled in.
func (p *Pacer) Options() PacingOptions { return p.o }

// bounds returns the rate bounds in force: the limits' when set, else the
// options'.
func (p *Pacer) bounds(l Limits) (lo, hi int) {
	lo, hi = p.o.Min, p.o.Max
	if l.MinRate > 0 {
		lo = l.MinRate
	}
	if l.MaxRate > 0 {
		hi = l.MaxRate
	}
	return lo, max(lo, hi)
}

// next returns the rate after an interval with these counts (and latency
// sum, µs) at rate.
func (p *Pacer) next(rate, lo, hi int, calls, slow, failed, sumUS int64) int {
	unhealthy := calls > 0 && (float64(failed) > p.o.MaxErrors*float64(calls) ||
		float64(slow) > p.o.SlowShare*float64(calls))
	if unhealthy {
		f := p.o.Backoff
		if mean := float64(sumUS) / float64(calls) * 1e3; mean > float64(p.o.Target) {
			f = min(f, float64(p.o.Target)/mean)
		}
		rate = int(math.Floor(float64(rate) * f))
	} else {
		rate += p.o.Step
	}
	return min(hi, max(lo, rate))
}

// pace is called by the room with its latest figures at now: once an
// interval that began after the limits' last change is over, it takes
// the interval's counts and, if the rate should change, asks the store
// (only the first instance of the interval gets the change through).
func (r *Room) pace(ctx context.Context, now time.Time, line Line) (Line, error) {
	p := r.o.Pacer
	if p == nil || !line.Opened || now.Before(r.o.Opening) {
		return line, nil
	}
	if !p.mu.TryLock() {
		return line, nil
	}
	defer p.mu.Unlock()
	iv := p.o.Interval
	start := r.o.Opening.Add(now.Sub(r.o.Opening) / iv * iv) // this interval's start
	if !p.last.Before(start) {
		return line, nil // this instance has had its say in this interval
	}
	p.last = start
	// The counts cover the interval just over (about: they start where
	// the previous one was taken).
	calls, slow, failed, sum := p.calls.Swap(0), p.slow.Swap(0), p.failed.Swap(0), p.latency.Swap(0)
	if !line.LimitsChanged.Before(start) {
		return line, nil // decided by another instance, or an operator
	}
	l := line.Limits
	lo, hi := p.bounds(l)
	rate := p.next(l.Rate, lo, hi, calls, slow, failed, sum)
	if rate == l.Rate {
		return line, nil
	}
	nl := l
	nl.Rate = rate
	got, err := r.store.AdjustLimits(ctx, now, r.o.Name, r.p, nl, start)
	if err != nil {
		err = r.storeError(OpPace, IdentityHash{}, err)
	}
	r.event(Event{Op: OpPace, Room: r.o.Name, Duration: r.o.Clock.Now().Sub(now), Err: err})
	if err != nil {
		return line, err
	}
	if got.Limits.Rate == rate && got.LimitsChanged.Equal(now.Truncate(time.Millisecond)) {
		r.o.Logger.Info("admission: pacing", "room", r.o.Name, "rate", rate, "was", l.Rate,
			"calls", calls, "slow", slow, "failed", failed)
	}
	return got, nil
}
