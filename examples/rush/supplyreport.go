package main

import (
	"fmt"
	"image/color"
	"io"
	"slices"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
)

// supplyStat is the report's supply block: how soon the people waiting
// heard that every place was gone, and whether anyone was let in after.
type supplyStat struct {
	// RoomKnowsSupply reports -supply (the room reads the places left).
	RoomKnowsSupply bool    `json:"room_knows_supply"`
	Overbooking     float64 `json:"overbooking"`
	// SoldOutAtS is when the last place was booked (the latest tick among
	// the bookings the store made, each at the first confirm it answered
	// "ok"), seconds from the opening; null if the places never ran out.
	SoldOutAtS *float64 `json:"sold_out_at_s"`
	// WaitingAtSoldOut counts people in line (joined, never admitted,
	// still there) at that instant; Told those of them the room then
	// told "sold_out", and ToldP50S/P99S/MaxS the time from the sell-out
	// to each one's first sold_out answer. NeverTold are the others.
	WaitingAtSoldOut int64   `json:"waiting_at_sold_out"`
	Told             int64   `json:"told"`
	ToldP50S         float64 `json:"told_sold_out_p50_s"`
	ToldP99S         float64 `json:"told_sold_out_p99_s"`
	ToldMaxS         float64 `json:"told_sold_out_max_s"`
	NeverTold        int64   `json:"never_told"`
	// ToldAtJoin counts people who joined after the sell-out and were
	// told at once; ToldBeforeSoldOut people told "sold_out" while places
	// were left (must be 0). With ticks overlapping (-overlap N) a call of
	// a tick up to N-1 ticks before the last booking's may reach the
	// store after it, as a request that slow would: it hears of the
	// sell-out, and is not counted here.
	ToldAtJoin        int64 `json:"told_at_join"`
	ToldBeforeSoldOut int64 `json:"told_before_sold_out"`
	// AdmittedAfterSoldOut counts people the room admitted (its own
	// admission instant) after the sell-out.
	AdmittedAfterSoldOut int64 `json:"admitted_after_sold_out"`
	// LongestPollIntervalS is the longest a client following the room
	// waits between two polls: the room's longest PollAfter (or
	// -poll-max if shorter) with the clients' +20% jitter.
	LongestPollIntervalS float64 `json:"longest_poll_interval_s"`
}

// pollCeiling is reported by targets that know the room's longest
// PollAfter.
type pollCeiling interface{ maxPollAfter() time.Duration }

func (s *sim) supplyStat() *supplyStat {
	st := &supplyStat{RoomKnowsSupply: s.cfg.Supply && s.cfg.Mode == "inprocess", Overbooking: s.cfg.Overbooking}
	longest := s.cfg.PollMax
	if pc, ok := s.tgt.(pollCeiling); ok {
		longest = min(longest, pc.maxPollAfter())
	}
	st.LongestPollIntervalS = 1.2 * longest.Seconds()
	so := s.soldOut.Load()
	if so == 0 {
		for _, p := range s.cr.people {
			if p.toldSoldOut {
				st.ToldBeforeSoldOut++
			}
		}
		return st
	}
	at := time.Duration(so - 1)
	// A call in flight with the last booking's tick (-overlap).
	slack := time.Duration(max(0, len(s.lanes)-1)) * s.cfg.Tick
	v := (at - s.openOff).Seconds()
	st.SoldOutAtS = &v
	soldAt := s.start.Add(at)
	var delays []float64
	for _, p := range s.cr.people {
		if p.toldSoldOut && p.toldAt < at-slack {
			st.ToldBeforeSoldOut++
		}
		if p.lastAdmitted.After(soldAt) {
			st.AdmittedAfterSoldOut++
		}
		if !p.joined {
			continue
		}
		if p.joinedAt >= at {
			if p.toldSoldOut && p.toldAt == p.joinedAt {
				st.ToldAtJoin++
			}
			continue
		}
		// In line at the sell-out: joined before, not admitted by then,
		// not gone before it.
		if (p.admitted && p.admittedAt <= at) || (p.fate != fActive && p.fate != fSoldOut) && !p.toldSoldOut {
			continue
		}
		st.WaitingAtSoldOut++
		if !p.toldSoldOut {
			st.NeverTold++
			continue
		}
		st.Told++
		delays = append(delays, (p.toldAt - at).Seconds())
	}
	if len(delays) > 0 {
		slices.Sort(delays)
		q := func(f float64) float64 { return delays[min(len(delays)-1, int(f*float64(len(delays))))] }
		st.ToldP50S, st.ToldP99S, st.ToldMaxS = q(0.5), q(0.99), delays[len(delays)-1]
	}
	return st
}

// pacingStat is the report's pacing block: the modelled booking backend
// and the rate the room ran at.
type pacingStat struct {
	Controller      bool    `json:"controller"`
	MinRate         int     `json:"min_rate_per_minute,omitempty"`
	MaxRate         int     `json:"max_rate_per_minute,omitempty"`
	TargetMS        float64 `json:"target_latency_ms,omitempty"`
	BackendCapacity float64 `json:"backend_capacity_per_s"`
	BackendTimeoutS float64 `json:"backend_timeout_s"`
	// Calls and Timeouts count booking calls (holds and confirms) over
	// the run; the During figures those inside the backend-slow faults,
	// TimeoutShareDuringFault = TimeoutsDuringFault / CallsDuringFault.
	Calls                   int64   `json:"calls"`
	Timeouts                int64   `json:"timeouts"`
	CallsDuringFault        int64   `json:"calls_during_fault"`
	TimeoutsDuringFault     int64   `json:"timeouts_during_fault"`
	TimeoutShareDuringFault float64 `json:"timeout_share_during_fault"`
	// LatencyP99MS is the booking calls' p99 latency (a timeout counts
	// as the timeout) before, during and after the faults.
	LatencyP99MS map[string]float64 `json:"latency_p99_ms"`
	// RateBeforeFault is the rate in force right before the first fault;
	// RecoveredAfterS the time from the fault's end until the rate is
	// back to 90% of it (null if it never was within the run).
	RateBeforeFault int      `json:"rate_before_fault,omitempty"`
	RecoveredAfterS *float64 `json:"recovered_after_s,omitempty"`
	// ETACalibrationOutsideFault is eta.calibration over the people whose
	// wait (join to admission) does not overlap a fault.
	ETACalibrationOutsideFault float64 `json:"eta_calibration_outside_fault"`
	ETASamplesOutsideFault     int     `json:"eta_samples_outside_fault"`
	// Series is the rate and the backend over time, per 10 simulated
	// seconds from the opening.
	Series []pacingPoint `json:"series"`
	// WithoutController is the same crowd's figures with the controller
	// off (-pacing-compare).
	WithoutController *pacingStat `json:"without_controller,omitempty"`
}

type pacingPoint struct {
	T             float64 `json:"t_s"`
	Rate          int64   `json:"rate_per_minute"`
	Calls         int64   `json:"calls"`
	Timeouts      int64   `json:"timeouts"`
	MeanLatencyMS float64 `json:"mean_latency_ms"`
}

func (s *sim) pacingStat() *pacingStat {
	b := s.cr.backend
	if b == nil {
		return nil
	}
	c := s.cfg
	st := &pacingStat{Controller: c.Pacing, BackendCapacity: c.BackendCapacity, BackendTimeoutS: c.BackendTimeout.Seconds(),
		LatencyP99MS: map[string]float64{}}
	if c.Pacing {
		st.MinRate, st.MaxRate, st.TargetMS = c.PacingMin, c.PacingMax, float64(c.PacingTarget)/1e6
	}
	b.mu.Lock()
	for i, name := range []string{"before", "during", "after"} {
		if b.phase[i].n > 0 {
			st.LatencyP99MS[name] = float64(b.phase[i].quantile(0.99)) / 1e6
		}
	}
	st.CallsDuringFault, st.TimeoutsDuringFault = b.phaseN[1], b.phaseTO[1]
	b.mu.Unlock()
	if st.CallsDuringFault > 0 {
		st.TimeoutShareDuringFault = float64(st.TimeoutsDuringFault) / float64(st.CallsDuringFault)
	}
	last := min(len(b.calls), int(s.tickOffset(s.lastTick)/time.Second)+1)
	rate := make([]int64, last) // carried forward over seconds without a sample
	var cur int64
	for i := 0; i < last; i++ {
		st.Calls += b.calls[i].Load()
		st.Timeouts += b.timeouts[i].Load()
		if v := b.rate[i].Load(); v > 0 {
			cur = v
		}
		rate[i] = cur
	}
	open := int(s.openOff / time.Second)
	for sec := open; sec < last; sec += 10 {
		pt := pacingPoint{T: float64(sec - open), Rate: rate[sec]}
		var lat int64
		for i := sec; i < min(sec+10, last); i++ {
			pt.Calls += b.calls[i].Load()
			pt.Timeouts += b.timeouts[i].Load()
			lat += b.latSum[i].Load()
		}
		if pt.Calls > 0 {
			pt.MeanLatencyMS = float64(lat) / float64(pt.Calls) / 1e3
		}
		st.Series = append(st.Series, pt)
	}
	if len(b.slow) > 0 {
		from := int(b.slow[0].from.Sub(b.start) / time.Second)
		to := int(b.slow[0].to.Sub(b.start) / time.Second)
		if from > 0 && from <= last {
			st.RateBeforeFault = int(rate[from-1])
		}
		for i := to; i < last && st.RateBeforeFault > 0; i++ {
			if float64(rate[i]) >= 0.9*float64(st.RateBeforeFault) {
				v := float64(i - to)
				st.RecoveredAfterS = &v
				break
			}
		}
	}
	// ETA calibration outside the faults.
	e := s.etaStatWhere(func(p *person) bool {
		from := s.start.Add(p.joinedAt)
		to := p.reported
		for _, iv := range b.slow {
			if from.Before(iv.to) && to.After(iv.from) {
				return false
			}
		}
		return true
	})
	st.ETACalibrationOutsideFault, st.ETASamplesOutsideFault = e.Calibration, e.WithEstimate
	return st
}

// plotPacing charts the room's rate and the booking backend's mean
// latency over time.
func (s *sim) plotPacing() (*plot.Plot, error) {
	ps := s.pacingStat()
	if ps == nil {
		return nil, nil
	}
	title := "Admission rate and booking latency"
	if ps.Controller {
		title += " (controller on)"
	}
	p := newPlot(title, "minutes from the opening", "people per minute / ms")
	var rate, lat, to plotter.XYs
	for _, pt := range ps.Series {
		x := pt.T / 60
		rate = append(rate, plotter.XY{X: x, Y: float64(pt.Rate)})
		lat = append(lat, plotter.XY{X: x, Y: pt.MeanLatencyMS})
		to = append(to, plotter.XY{X: x, Y: float64(pt.Timeouts)})
	}
	for _, l := range []struct {
		xys  plotter.XYs
		c    color.Color
		name string
	}{{rate, blue, "rate in force (people/min)"}, {lat, orange, "booking latency, mean (ms)"}, {to, red, "timeouts per 10 s"}} {
		if err := addLine(p, l.xys, l.c, l.name); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// writeSupplyPacing writes the text report's supply and pacing lines.
func (r *report) writeSupplyPacing(w io.Writer) {
	if sp := r.Supply; sp != nil && sp.SoldOutAtS != nil {
		fmt.Fprintf(w, "supply      sold out at %s; %d waiting then, %d told (p50 %.1fs, p99 %.1fs, max %.1fs; longest poll interval %.0fs), %d never told, %d told at join; admitted after sold out %d\n",
			dur(*sp.SoldOutAtS), sp.WaitingAtSoldOut, sp.Told, sp.ToldP50S, sp.ToldP99S, sp.ToldMaxS, sp.LongestPollIntervalS, sp.NeverTold, sp.ToldAtJoin, sp.AdmittedAfterSoldOut)
	}
	for _, pc := range []*pacingStat{r.Pacing, r.pacingOff()} {
		if pc == nil {
			continue
		}
		rec := "never"
		if pc.RecoveredAfterS != nil {
			rec = fmt.Sprintf("%.0fs", *pc.RecoveredAfterS)
		}
		fmt.Fprintf(w, "pacing      controller %v: %d booking calls, %d timed out (%d of %d during the fault: %.2f%%); p99 latency before/during/after %.0f/%.0f/%.0f ms; rate before the fault %d/min, back to 90%% after %s; ETA calibration outside the fault %.3f\n",
			pc.Controller, pc.Calls, pc.Timeouts, pc.TimeoutsDuringFault, pc.CallsDuringFault, 100*pc.TimeoutShareDuringFault,
			pc.LatencyP99MS["before"], pc.LatencyP99MS["during"], pc.LatencyP99MS["after"], pc.RateBeforeFault, rec, pc.ETACalibrationOutsideFault)
	}
}

func (r *report) pacingOff() *pacingStat {
	if r.Pacing == nil {
		return nil
	}
	return r.Pacing.WithoutController
}
