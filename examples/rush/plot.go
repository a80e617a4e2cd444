package main

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

var (
	blue   = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	orange = color.RGBA{R: 255, G: 127, B: 14, A: 255}
	green  = color.RGBA{R: 44, G: 160, B: 44, A: 255}
	grey   = color.RGBA{R: 120, G: 120, B: 120, A: 255}
	red    = color.RGBA{R: 214, G: 39, B: 40, A: 255}
)

// writePlots writes the charts into dir (created if needed) and returns the
// files written.
func (s *sim) writePlots(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var files []string
	for _, c := range []struct {
		name string
		make func() (*plot.Plot, error)
	}{
		{"rush-queue.png", s.plotQueue},
		{"rush-flow.png", s.plotFlow},
		{"rush-eta.png", s.plotETA},
		{"rush-eta-time.png", s.plotETAOverTime},
		{"rush-pacing.png", s.plotPacing},
		{"rush-eta-regimes.png", s.plotETARegimes},
	} {
		p, err := c.make()
		if err != nil {
			return files, fmt.Errorf("%s: %w", c.name, err)
		}
		if p == nil {
			continue // nothing to chart in this run
		}
		path := filepath.Join(dir, c.name)
		if err := p.Save(8*vg.Inch, 4.5*vg.Inch, path); err != nil {
			return files, fmt.Errorf("%s: %w", c.name, err)
		}
		files = append(files, path)
	}
	return files, nil
}

// bucketSeconds picks a bucket width so that a chart has at most ~600
// points.
func (s *sim) bucketSeconds() int {
	n := int(s.tickOffset(s.lastTick)/time.Second) + 1
	b := 1
	for n/b > 600 {
		b *= 2
	}
	return b
}

// minutesFromOpening is the x axis: minutes relative to the opening.
func (s *sim) minutesFromOpening(sec int) float64 {
	return (time.Duration(sec)*time.Second - s.openOff).Minutes()
}

func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	return p
}

func addLine(p *plot.Plot, xys plotter.XYs, c color.Color, name string) error {
	if len(xys) == 0 {
		return nil
	}
	l, err := plotter.NewLine(xys)
	if err != nil {
		return err
	}
	l.Color = c
	l.Width = vg.Points(1.2)
	p.Add(l)
	p.Legend.Add(name, l)
	return nil
}

// plotQueue: people waiting over time, the simulator's count and the room's.
func (s *sim) plotQueue() (*plot.Plot, error) {
	p := newPlot("Waiting room: people in line", "minutes from the opening", "people waiting")
	b := s.bucketSeconds()
	last := int(s.tickOffset(s.lastTick)/time.Second) + 1
	var mine, room plotter.XYs
	var cur int64
	for sec := 0; sec < last && sec < len(s.ser.waiting); sec += b {
		// The gauge is written at ticks; carry the last value through
		// seconds without a tick.
		for i := sec; i < sec+b && i < len(s.ser.waiting); i++ {
			if v := s.ser.waiting[i].Load(); v != 0 || i == 0 {
				cur = v
			}
		}
		mine = append(mine, plotter.XY{X: s.minutesFromOpening(sec), Y: float64(cur)})
		for i := sec; i < sec+b && i < len(s.ser.line); i++ {
			if v := s.ser.line[i].Load(); v >= 0 {
				room = append(room, plotter.XY{X: s.minutesFromOpening(i), Y: float64(v)})
				break
			}
		}
	}
	if err := addLine(p, mine, blue, "waiting (simulator's count)"); err != nil {
		return nil, err
	}
	if err := addLine(p, room, orange, "waiting (room's own figure)"); err != nil {
		return nil, err
	}
	return p, nil
}

// plotFlow: arrivals, admissions and bookings per second.
func (s *sim) plotFlow() (*plot.Plot, error) {
	b := s.bucketSeconds()
	p := newPlot(fmt.Sprintf("Arrivals, admissions and bookings (per second, %ds buckets)", b), "minutes from the opening", "per simulated second")
	last := int(s.tickOffset(s.lastTick)/time.Second) + 1
	var arr, adm, book plotter.XYs
	for sec := 0; sec < last && sec < len(s.ser.arrivals); sec += b {
		var a, d, k int64
		for i := sec; i < sec+b && i < len(s.ser.arrivals); i++ {
			a += s.ser.arrivals[i].Load()
			d += s.ser.admissions[i].Load()
			k += s.ser.bookings[i].Load()
		}
		x := s.minutesFromOpening(sec)
		arr = append(arr, plotter.XY{X: x, Y: float64(a) / float64(b)})
		adm = append(adm, plotter.XY{X: x, Y: float64(d) / float64(b)})
		book = append(book, plotter.XY{X: x, Y: float64(k) / float64(b)})
	}
	for _, l := range []struct {
		xys  plotter.XYs
		c    color.Color
		name string
	}{{arr, grey, "arrivals (first join)"}, {adm, blue, "admissions (first seen)"}, {book, green, "bookings confirmed"}} {
		if err := addLine(p, l.xys, l.c, l.name); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// etaSample is one person's ETA shown and real wait, in minutes.
type etaSample struct{ joinedMin, lo, hi, real float64 }

func (s *sim) etaSamples(limit int) []etaSample {
	var out []etaSample
	for _, p := range s.cr.people {
		if !p.joined || !p.etaKnown || !plain(p) {
			continue
		}
		var real time.Duration
		if !p.reported.IsZero() {
			real = p.reported.Sub(s.start.Add(p.joinedAt))
		} else {
			real = p.admittedAt - p.joinedAt
		}
		out = append(out, etaSample{
			joinedMin: (p.joinedAt - s.openOff).Minutes(),
			lo:        p.etaLo.Minutes(), hi: p.etaHi.Minutes(), real: real.Minutes(),
		})
	}
	if len(out) > limit {
		// Keep an even spread.
		step := float64(len(out)) / float64(limit)
		thin := make([]etaSample, 0, limit)
		for i := 0.0; int(i) < len(out); i += step {
			thin = append(thin, out[int(i)])
		}
		out = thin
	}
	return out
}

// plotETA: for each person, the range shown against the real wait.
func (s *sim) plotETA() (*plot.Plot, error) {
	p := newPlot("ETA shown at join vs real wait", "ETA shown (middle of the range, minutes)", "real wait (minutes)")
	samples := s.etaSamples(4000)
	var pts plotter.XYs
	var errs plotter.XErrors
	var maxv float64
	for _, e := range samples {
		mid := (e.lo + e.hi) / 2
		pts = append(pts, plotter.XY{X: mid, Y: e.real})
		errs = append(errs, struct{ Low, High float64 }{mid - e.lo, e.hi - mid})
		maxv = max(maxv, e.hi, e.real)
	}
	if len(pts) == 0 {
		p.Title.Text += " (no estimates shown)"
		return p, nil
	}
	type xyxerr struct {
		plotter.XYs
		plotter.XErrors
	}
	bars, err := plotter.NewXErrorBars(xyxerr{pts, errs})
	if err != nil {
		return nil, err
	}
	bars.Color = color.NRGBA{R: 31, G: 119, B: 180, A: 40}
	bars.CapWidth = 0
	p.Add(bars)
	sc, err := plotter.NewScatter(pts)
	if err != nil {
		return nil, err
	}
	sc.GlyphStyle.Color = blue
	sc.GlyphStyle.Radius = vg.Points(1)
	sc.GlyphStyle.Shape = draw.CircleGlyph{}
	p.Add(sc)
	p.Legend.Add("person: range shown (bar), real wait (dot)", sc)
	diag := plotter.XYs{{X: 0, Y: 0}, {X: maxv, Y: maxv}}
	if err := addLine(p, diag, red, "real = shown"); err != nil {
		return nil, err
	}
	return p, nil
}

// plotETAOverTime: by join time, the mean low and high ends shown and the
// mean real wait.
func (s *sim) plotETAOverTime() (*plot.Plot, error) {
	p := newPlot("ETA range shown and real wait, by join time", "joined at (minutes from the opening)", "minutes")
	samples := s.etaSamples(1 << 30)
	if len(samples) == 0 {
		p.Title.Text += " (no estimates shown)"
		return p, nil
	}
	minX, maxX := samples[0].joinedMin, samples[0].joinedMin
	for _, e := range samples {
		minX, maxX = min(minX, e.joinedMin), max(maxX, e.joinedMin)
	}
	const buckets = 120
	width := (maxX - minX) / buckets
	if width <= 0 {
		width = 1
	}
	type acc struct{ lo, hi, real, n float64 }
	accs := make([]acc, buckets+1)
	for _, e := range samples {
		i := int((e.joinedMin - minX) / width)
		accs[i].lo += e.lo
		accs[i].hi += e.hi
		accs[i].real += e.real
		accs[i].n++
	}
	var lo, hi, real plotter.XYs
	for i, a := range accs {
		if a.n == 0 {
			continue
		}
		x := minX + (float64(i)+0.5)*width
		lo = append(lo, plotter.XY{X: x, Y: a.lo / a.n})
		hi = append(hi, plotter.XY{X: x, Y: a.hi / a.n})
		real = append(real, plotter.XY{X: x, Y: a.real / a.n})
	}
	for _, l := range []struct {
		xys  plotter.XYs
		c    color.Color
		name string
	}{{lo, orange, "low end shown (mean)"}, {hi, red, "high end shown (mean)"}, {real, blue, "real wait (mean)"}} {
		if err := addLine(p, l.xys, l.c, l.name); err != nil {
			return nil, err
		}
	}
	return p, nil
}
