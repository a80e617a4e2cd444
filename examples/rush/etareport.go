package main

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"slices"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// The regimes of a run the eta block judges separately. Each person is
// put in one, by the instant they joined and the span of their wait:
//
//	rate_bound / cap_bound   the run's base regime (cap-bound when -cap
//	                         holds fewer people than -rate admits during
//	                         -think plus -confirm-think)
//	fault_start              the wait overlaps the first two minutes of a
//	                         fault (nothing shown before it can foresee it:
//	                         reported, not judged)
//	during_fault             joined during a fault, after its first two
//	                         minutes
//	after_fault              joined after a fault ended
//	waiting_at_sell_out      joined before the sell-out, not admitted by
//	                         then (must be told sold out, never a time)
//	after_sell_out           joined after the sell-out
const (
	regimeRate       = "rate_bound"
	regimeCap        = "cap_bound"
	regimeFaultStart = "fault_start"
	regimeFault      = "during_fault"
	regimeAfterFault = "after_fault"
	regimeAtSoldOut  = "waiting_at_sell_out"
	regimeSoldOut    = "after_sell_out"
)

// faultGrace is the start of a fault that no range shown before it can
// have foreseen: waits overlapping it are reported apart.
const faultGrace = 2 * time.Minute

var regimeOrder = []string{regimeRate, regimeCap, regimeFaultStart, regimeFault, regimeAfterFault, regimeAtSoldOut, regimeSoldOut}

var regimeColor = map[string]color.Color{
	regimeRate:       color.NRGBA{R: 31, G: 119, B: 180, A: 255},
	regimeCap:        color.NRGBA{R: 148, G: 103, B: 189, A: 255},
	regimeFaultStart: color.NRGBA{R: 214, G: 39, B: 40, A: 255},
	regimeFault:      color.NRGBA{R: 255, G: 127, B: 14, A: 255},
	regimeAfterFault: color.NRGBA{R: 44, G: 160, B: 44, A: 255},
	regimeAtSoldOut:  color.NRGBA{R: 120, G: 120, B: 120, A: 255},
	regimeSoldOut:    color.NRGBA{R: 0, G: 0, B: 0, A: 255},
}

// etaRegime is one regime's part of the eta block.
type etaRegime struct {
	// Shown: people shown a range at join who waited the ordinary way
	// and were admitted; Inside, Sooner and Later split them by where
	// the real wait fell; Calibration = Inside / Shown.
	Shown       int     `json:"shown"`
	Inside      int     `json:"inside"`
	Sooner      int     `json:"sooner"`
	Later       int     `json:"later"`
	Calibration float64 `json:"calibration"`
	// NotAdmitted: shown a range at join, waited the ordinary way, never
	// admitted (the range promised a time that never came).
	NotAdmitted int `json:"shown_not_admitted"`
	// WithoutEstimate: joined and told no time (no measurement yet, or
	// places may run out before their turn).
	WithoutEstimate int `json:"without_estimate"`
	// Medians over Shown, seconds: width (high - low) of each range,
	// low end, high end, real wait.
	MedianWidthS float64 `json:"median_width_s"`
	MedianLowS   float64 `json:"median_low_s"`
	MedianHighS  float64 `json:"median_high_s"`
	MedianRealS  float64 `json:"median_real_s"`
	// The latest range shown before admission (a poll's re-estimate),
	// against the remaining wait from that answer, for the people who
	// waited the ordinary way and were admitted.
	LatestShown       int     `json:"latest_shown"`
	LatestInside      int     `json:"latest_inside"`
	LatestSooner      int     `json:"latest_sooner"`
	LatestLater       int     `json:"latest_later"`
	LatestCalibration float64 `json:"latest_calibration"`
	// For the sell-out regimes: people told "sold out", and people
	// shown a time by an answer after the sell-out (must be 0).
	ToldSoldOut      int `json:"told_sold_out,omitempty"`
	TimeAfterSoldOut int `json:"shown_time_after_sell_out,omitempty"`
	// TimeEver: people shown a time by any answer while waiting, of
	// those who did not leave the line or go away on their own.
	TimeEver           int `json:"shown_time_ever"`
	People             int `json:"people"`
	widths, lo, hi, rl []float64
}

// waitSpan is p's real wait, join to admission: exact from the room's
// admission instant when reported, else between the poll before the one
// that saw the admission and that poll. ok is false if never admitted.
func (s *sim) waitSpan(p *person) (lo, hi time.Duration, ok bool) {
	switch {
	case !p.admitted:
		return 0, 0, false
	case !p.reported.IsZero():
		lo = p.reported.Sub(s.start.Add(p.joinedAt))
		return lo, lo, true
	}
	return max(0, p.prevPoll-p.joinedAt), p.admittedAt - p.joinedAt, true
}

// capBound reports a run whose cap binds: it holds fewer people than the
// rate admits during a typical stay (think, then confirm-think).
func (s *sim) capBound() bool {
	stay := s.cfg.Think + s.cfg.ConfirmThink
	return float64(s.cfg.Cap) < float64(s.cfg.Rate)*stay.Minutes()
}

// regimeOf puts a person who joined in one regime (see regimeOrder).
func (s *sim) regimeOf(p *person) string {
	reg := regimeRate
	if s.capBound() {
		reg = regimeCap
	}
	base := reg
	end := s.tickOffset(s.lastTick)
	if _, hi, ok := s.waitSpan(p); ok {
		end = p.joinedAt + hi
	}
	for _, f := range s.cfg.Faults {
		if f.For <= 0 {
			continue
		}
		from, to := s.openOff+f.At, s.openOff+f.At+f.For
		switch {
		case p.joinedAt < from+faultGrace && end > from:
			reg = regimeFaultStart
		case p.joinedAt >= from+faultGrace && p.joinedAt < to:
			reg = regimeFault
		case p.joinedAt >= to && reg == base:
			reg = regimeAfterFault
		}
	}
	if v := s.soldOut.Load(); v > 0 {
		so := time.Duration(v - 1)
		switch {
		case p.joinedAt >= so:
			reg = regimeSoldOut
		case !(p.admitted && p.admittedAt <= so) && (p.fate == fActive || p.fate == fSoldOut || p.toldSoldOut):
			reg = regimeAtSoldOut
		}
	}
	return reg
}

// etaRegimes is the report's per-regime eta block.
func (s *sim) etaRegimes() map[string]*etaRegime {
	so := time.Duration(-1)
	if v := s.soldOut.Load(); v > 0 {
		so = time.Duration(v - 1)
	}
	out := map[string]*etaRegime{}
	for _, p := range s.cr.people {
		if !p.joined {
			continue
		}
		reg := s.regimeOf(p)
		e := out[reg]
		if e == nil {
			e = &etaRegime{}
			out[reg] = e
		}
		e.People++
		if p.toldSoldOut {
			e.ToldSoldOut++
		}
		if p.timeShown && p.beh&(bAbandon|bComeback) == 0 {
			e.TimeEver++
		}
		if so >= 0 && p.timeShown && p.timeShownAt > so {
			e.TimeAfterSoldOut++
		}
		wLo, wHi, admitted := s.waitSpan(p)
		if admitted && plain(p) && p.timeShown {
			// The remaining wait from the latest answer with a time.
			shift := p.timeShownAt - p.joinedAt
			e.LatestShown++
			switch {
			case wHi-shift < p.lastLo:
				e.LatestSooner++
			case wLo-shift > p.lastHi:
				e.LatestLater++
			default:
				e.LatestInside++
			}
		}
		switch {
		case !p.etaKnown:
			if plain(p) || !admitted {
				e.WithoutEstimate++
			}
			continue
		case !admitted:
			if p.beh&(bAbandon|bComeback) == 0 {
				e.NotAdmitted++
			}
			continue
		case !plain(p):
			continue
		}
		e.Shown++
		switch {
		case wHi < p.etaLo:
			e.Sooner++
		case wLo > p.etaHi:
			e.Later++
		default:
			e.Inside++
		}
		e.widths = append(e.widths, (p.etaHi - p.etaLo).Seconds())
		e.lo = append(e.lo, p.etaLo.Seconds())
		e.hi = append(e.hi, p.etaHi.Seconds())
		e.rl = append(e.rl, ((wLo + wHi) / 2).Seconds())
	}
	for _, e := range out {
		if e.Shown > 0 {
			e.Calibration = float64(e.Inside) / float64(e.Shown)
		}
		if e.LatestShown > 0 {
			e.LatestCalibration = float64(e.LatestInside) / float64(e.LatestShown)
		}
		e.MedianWidthS, e.MedianLowS, e.MedianHighS, e.MedianRealS = median(e.widths), median(e.lo), median(e.hi), median(e.rl)
	}
	return out
}

// writeETARegimes writes the text report's eta lines, one per regime.
func (r *report) writeETARegimes(w io.Writer) {
	for _, name := range regimeOrder {
		e := r.ETARegimes[name]
		if e == nil {
			continue
		}
		fmt.Fprintf(w, "eta %-20s %d people: %d shown a range and admitted, %d inside (%.3f), %d sooner, %d later; %d shown a range never admitted; %d told no time; median width %s (low %s, high %s, real %s)",
			name, e.People, e.Shown, e.Inside, e.Calibration, e.Sooner, e.Later, e.NotAdmitted, e.WithoutEstimate,
			dur(e.MedianWidthS), dur(e.MedianLowS), dur(e.MedianHighS), dur(e.MedianRealS))
		fmt.Fprintf(w, "; latest range before admission: %d of %d inside (%.3f), %d sooner, %d later",
			e.LatestInside, e.LatestShown, e.LatestCalibration, e.LatestSooner, e.LatestLater)
		if name == regimeAtSoldOut || name == regimeSoldOut {
			fmt.Fprintf(w, "; %d told sold out, %d ever shown a time, %d shown a time after the sell-out", e.ToldSoldOut, e.TimeEver, e.TimeAfterSoldOut)
		}
		fmt.Fprintln(w)
	}
}

// plotETARegimes: for each person shown a range at join, the range
// (bar) against the real wait (dot), coloured by regime.
func (s *sim) plotETARegimes() (*plot.Plot, error) {
	p := newPlot("ETA range shown at join vs real wait, by regime", "real wait (minutes)", "range shown (minutes)")
	type pt struct{ real, lo, hi float64 }
	by := map[string][]pt{}
	var maxReal, maxHi float64
	for _, p := range s.cr.people {
		if !p.joined || !p.etaKnown || !plain(p) {
			continue
		}
		lo, hi, _ := s.waitSpan(p)
		v := pt{((lo + hi) / 2).Minutes(), p.etaLo.Minutes(), p.etaHi.Minutes()}
		reg := s.regimeOf(p)
		by[reg] = append(by[reg], v)
		maxReal, maxHi = max(maxReal, v.real), max(maxHi, v.hi)
	}
	if len(by) == 0 {
		p.Title.Text += " (no estimates shown)"
		return p, nil
	}
	const limit = 3000
	for _, name := range regimeOrder {
		pts := by[name]
		if len(pts) == 0 {
			continue
		}
		if len(pts) > limit {
			thin := make([]pt, 0, limit)
			step := float64(len(pts)) / limit
			for i := 0.0; int(i) < len(pts); i += step {
				thin = append(thin, pts[int(i)])
			}
			pts = thin
		}
		slices.SortFunc(pts, func(a, b pt) int { return int(1e6 * (a.real - b.real)) })
		var xys plotter.XYs
		var errs plotter.YErrors
		for _, v := range pts {
			mid := (v.lo + v.hi) / 2
			xys = append(xys, plotter.XY{X: v.real, Y: mid})
			errs = append(errs, struct{ Low, High float64 }{mid - v.lo, v.hi - mid})
		}
		type xyyerr struct {
			plotter.XYs
			plotter.YErrors
		}
		bars, err := plotter.NewYErrorBars(xyyerr{xys, errs})
		if err != nil {
			return nil, err
		}
		c := regimeColor[name]
		r, g, b, _ := c.RGBA()
		bars.Color = color.NRGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: 50}
		bars.CapWidth = 0
		p.Add(bars)
		sc, err := plotter.NewScatter(xys)
		if err != nil {
			return nil, err
		}
		sc.GlyphStyle.Color = c
		sc.GlyphStyle.Radius = vg.Points(0.8)
		sc.GlyphStyle.Shape = draw.CircleGlyph{}
		p.Add(sc)
		p.Legend.Add(fmt.Sprintf("%s (%d)", name, len(by[name])), sc)
	}
	// Ranges reaching far beyond the longest real wait are cut at three
	// times it, so that the waits stay readable.
	top := math.Min(maxHi, 3*maxReal) * 1.02
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, maxReal*1.02, 0, top
	if top < maxHi {
		p.Title.Text += fmt.Sprintf(" (ranges cut at %.0f min; highest %.0f)", top, maxHi)
	}
	diag := plotter.XYs{{X: 0, Y: 0}, {X: maxReal * 1.02, Y: maxReal * 1.02}}
	if err := addLine(p, diag, red, "range holds the real wait where the bar crosses this line"); err != nil {
		return nil, err
	}
	return p, nil
}
