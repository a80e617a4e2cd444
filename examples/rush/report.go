package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"time"
)

// report is the outcome of a run. Its JSON form (-json) is documented in
// doc.go; field names there and here must agree.
type report struct {
	Mode         string `json:"mode"`
	Backend      string `json:"backend"`
	People       int    `json:"people"`
	Places       int    `json:"places"`
	Slots        int    `json:"slots"`
	SlotCapacity int    `json:"slot_capacity"`
	Seed         int64  `json:"seed"`
	Rate         int    `json:"rate_per_minute"`
	Cap          int    `json:"active_cap"`
	Tick         string `json:"tick"`
	Workers      int    `json:"workers"`
	// Overlap is how many ticks ran at once at most (1 in wall-clock
	// pacing), and Late how many follow-ups ran a tick after the one
	// they were planned for, because it had already started.
	Overlap int   `json:"overlap"`
	Late    int64 `json:"late_follow_ups"`
	// LaneRooms is true when each lane had its own room, slots service
	// and gate on a clock of its own (-lane-rooms, in process).
	LaneRooms bool `json:"lane_rooms"`
	// ClockLeadMS is the most the library's clock was past a call's own
	// tick when the call returned (at most overlap-1 ticks; 0 when each
	// lane has a clock of its own, -lane-rooms), and
	// PastOpening the calls of a tick before the opening that could have
	// read a clock at or past it (must be 0).
	ClockLeadMS float64       `json:"clock_lead_max_ms"`
	PastOpening int64         `json:"calls_past_opening"`
	Realtime    bool          `json:"realtime"`
	Opening     time.Time     `json:"opening"`
	Faults      []faultRecord `json:"faults"`
	Stopped     string        `json:"stopped,omitempty"`

	WallSeconds float64 `json:"wall_seconds"`
	// SimCPUSeconds is this process's CPU (user + system) over the same
	// main loop as WallSeconds, and SimCPUUSPerPerson it per person: what
	// the simulator, the library in it and the store clients cost the
	// machine beside the store (0 where /proc is missing).
	SimCPUSeconds     float64 `json:"sim_cpu_seconds,omitempty"`
	SimCPUUSPerPerson float64 `json:"sim_cpu_us_per_person,omitempty"`
	SimSeconds        float64 `json:"sim_seconds"`
	Events            int64   `json:"events"`
	Requests          int64   `json:"requests"`

	Fates      map[string]int64 `json:"fates"`
	Behaviours map[string]int64 `json:"behaviours"`
	Counts     counts           `json:"counts"`
	Throughput throughput       `json:"throughput"`

	Latency  map[string]latencyStat      `json:"latency"`
	Outcomes map[string]map[string]int64 `json:"outcomes"`
	Noop     *noopStat                   `json:"noop,omitempty"`
	// Store is what the run cost the store (in-process target only).
	Store *storeStat `json:"store,omitempty"`

	Fairness fairness `json:"fairness"`
	ETA      etaStat  `json:"eta"`
	// ETARegimes is the eta block per regime of the run (etareport.go).
	ETARegimes map[string]*etaRegime `json:"eta_regimes"`
	Comebacks  comebacks             `json:"comebacks"`
	Attacks    attacks               `json:"attacks"`
	Audit      auditResult           `json:"audit"`
	// Supply and Pacing: the room's knowledge of the places left, and
	// the modelled booking backend with the rate (see supplyreport.go).
	Supply *supplyStat `json:"supply,omitempty"`
	Pacing *pacingStat `json:"pacing,omitempty"`
	// Multi: HTTP runs, per instance and per shard, and the pacing check
	// across instances (multi.go).
	Multi *multiStat `json:"multi,omitempty"`

	Violations violations `json:"violations"`
}

type counts struct {
	Joined          int64 `json:"joined"`
	ReconnectJoins  int64 `json:"reconnect_joins"`
	Admitted        int64 `json:"admitted"`
	Booked          int64 `json:"booked"`
	TimeoutRetries  int64 `json:"timeout_retries"`
	PlacesLeft      int64 `json:"places_left"`
	UncertainPeople int64 `json:"uncertain_people"`
}

type rates struct {
	Joins      float64 `json:"joins"`
	Admissions float64 `json:"admissions"`
	Bookings   float64 `json:"bookings"`
	Requests   float64 `json:"requests,omitempty"`
}

type throughput struct {
	// PerWallSecond divides counts by the run's wall time.
	PerWallSecond rates `json:"per_wall_second"`
	// PerSimSecond divides counts by the simulated time from the opening
	// to the last event (joins: over the whole night).
	PerSimSecond rates `json:"per_sim_second"`
	// PeakPerSimSecond is the busiest simulated second of each.
	PeakPerSimSecond rates `json:"peak_per_sim_second"`
}

type latencyStat struct {
	Count  int64   `json:"count"`
	MeanUS float64 `json:"mean_us"`
	P50US  float64 `json:"p50_us"`
	P90US  float64 `json:"p90_us"`
	P99US  float64 `json:"p99_us"`
	P999US float64 `json:"p999_us"`
	MaxUS  float64 `json:"max_us"`
	// NoopRatio is MeanUS over the no-op script's mean round trip, one
	// caller at a time (Redis); NoopParallelRatio over its mean with
	// -workers callers at once, the floor under the run's load.
	NoopRatio         float64 `json:"noop_ratio,omitempty"`
	NoopParallelRatio float64 `json:"noop_parallel_ratio,omitempty"`
}

type noopStat struct {
	Rounds int     `json:"rounds"`
	MeanUS float64 `json:"mean_us"`
	P50US  float64 `json:"p50_us"`
	P99US  float64 `json:"p99_us"`
	// ParallelMeanUS is the mean round trip with -workers callers at once
	// (the floor for a loaded run), and ParallelPerSec its throughput.
	ParallelMeanUS float64 `json:"parallel_mean_us"`
	ParallelPerSec float64 `json:"parallel_per_sec"`
	// ParallelSamples is how many runs of Rounds calls with -workers
	// callers were made; ParallelPerSec, ParallelMeanUS and CPUUS are
	// their medians, and the Min/Max fields their range.
	ParallelSamples   int     `json:"parallel_samples,omitempty"`
	ParallelPerSecMin float64 `json:"parallel_per_sec_min,omitempty"`
	ParallelPerSecMax float64 `json:"parallel_per_sec_max,omitempty"`
	// CPUUS is Redis's main-thread CPU per call with -workers callers
	// (µs; the store block's noop_redis_cpu_us), CPUMinUS and CPUMaxUS
	// its range over the samples.
	CPUUS    float64 `json:"cpu_us,omitempty"`
	CPUMinUS float64 `json:"cpu_min_us,omitempty"`
	CPUMaxUS float64 `json:"cpu_max_us,omitempty"`
	// The medians of the samples taken before the run and of those taken
	// after it (the pooled figures above are over both): how far the
	// machine's speed drifted over the run.
	BeforePerSec float64 `json:"before_per_sec,omitempty"`
	BeforeCPUUS  float64 `json:"before_cpu_us,omitempty"`
	AfterPerSec  float64 `json:"after_per_sec,omitempty"`
	AfterCPUUS   float64 `json:"after_cpu_us,omitempty"`
}

type fairness struct {
	// PostOpening: people who joined after the opening and waited
	// normally; Spearman rank correlation between join order and
	// admission order (first come, first served: 1).
	PostOpening rankStat `json:"post_opening"`
	// Early: people who joined before the opening; the shuffle should
	// make join order and admission order independent: Spearman near 0,
	// and the chi-square over deciles (join decile x admission decile,
	// 81 degrees of freedom) not significant.
	Early rankStat `json:"early"`
	// AdmissionSource says what "admission order" is: "reported" (the
	// room's admission instant, ties broken by place) or "observed" (the
	// poll that first saw the admission).
	AdmissionSource string `json:"admission_source"`
	// ObservedPostOpening is the post-opening Spearman from observed
	// admission instants only (poll granularity blurs it).
	ObservedPostOpening float64 `json:"observed_post_opening_spearman"`
}

type rankStat struct {
	N         int     `json:"n"`
	Spearman  float64 `json:"spearman"`
	ChiSquare float64 `json:"chi_square,omitempty"`
	DF        int     `json:"df,omitempty"`
	PValue    float64 `json:"p_value,omitempty"`
}

type etaStat struct {
	// WithEstimate: people shown an ETA range when they joined (once the
	// room had a drain measurement) who waited normally and were admitted.
	WithEstimate int `json:"with_estimate"`
	// Inside: of those, whose real wait fell inside the range shown.
	Inside int `json:"inside"`
	// Calibration is Inside / WithEstimate.
	Calibration float64 `json:"calibration"`
	// Early / late: real wait below the low end / above the high end.
	TooEarly int `json:"admitted_sooner"`
	TooLate  int `json:"admitted_later"`
	// WithoutEstimate: joined while the room had no measurement (it said
	// so instead of inventing a figure).
	WithoutEstimate int `json:"without_estimate"`
	// Medians, in seconds, of the low and high ends shown and the real wait.
	MedianLowS  float64 `json:"median_low_s"`
	MedianHighS float64 `json:"median_high_s"`
	MedianRealS float64 `json:"median_real_s"`
	// MaxShownHighS is the largest high end shown (the "93 hours" check).
	MaxShownHighS float64 `json:"max_shown_high_s"`
	// NotAdmitted: shown a range, waited normally, never admitted (told
	// sold out, or the run ended): no real wait to compare.
	NotAdmitted int `json:"not_admitted"`
}

type comebacks struct {
	WentAway            int64   `json:"went_away"`
	AdmittedAfterReturn int64   `json:"admitted_after_return"`
	MedianWaitS         float64 `json:"median_wait_after_return_s"`
	MaxWaitS            float64 `json:"max_wait_after_return_s"`
}

type attackStat struct {
	Tried     int64 `json:"tried"`
	Refused   int64 `json:"refused"`
	Succeeded int64 `json:"succeeded"`
}

type attacks struct {
	Skippers     map[string]attackStat `json:"skippers"`
	Backdoor     attackStat            `json:"backdoor"`
	SecondDevice attackStat            `json:"second_device"`
}

// buildReport computes the report once the run is over.
func (s *sim) buildReport(wall time.Duration, stats *workerStats, noop *noopStat, audit auditResult) *report {
	c := s.cfg
	r := &report{
		Mode: c.Mode, Backend: c.Store, People: c.People, Places: c.Slots, Slots: len(s.cr.slotIDs),
		SlotCapacity: c.SlotCapacity, Seed: c.Seed, Rate: c.Rate, Cap: c.Cap, Tick: c.Tick.String(),
		Workers: c.Workers, Overlap: len(s.lanes), Late: s.late, LaneRooms: s.laneClks != nil,
		ClockLeadMS: float64(s.maxLead.Load()) / 1e6, PastOpening: s.pastOpening.Load(), Realtime: c.Realtime, Opening: s.open, Faults: s.faultLog, Stopped: s.stopped,
		WallSeconds:   wall.Seconds(),
		SimCPUSeconds: s.cpuSeconds,
		SimSeconds:    s.tickOffset(s.lastTick).Seconds(),
		Events:        s.events.Load(),
		Fates:         map[string]int64{},
		Behaviours:    map[string]int64{},
		Latency:       map[string]latencyStat{},
		Outcomes:      map[string]map[string]int64{},
		Noop:          noop,
		Audit:         audit,
	}
	if r.Faults == nil {
		r.Faults = []faultRecord{}
	}
	if c.People > 0 {
		r.SimCPUUSPerPerson = s.cpuSeconds * 1e6 / float64(c.People)
	}
	for f := fBooked; f < numFates; f++ {
		r.Fates[fateNames[f]] = s.fates[f].Load()
	}
	r.Fates["unfinished"] = int64(c.People) - s.finished.Load()
	for _, p := range s.cr.people {
		for _, b := range behaviourNames {
			if p.beh&b.b != 0 {
				r.Behaviours[b.name]++
			}
		}
	}
	// Latency and outcomes.
	for o := op(0); o < numOps; o++ {
		h := &stats.lat[o]
		if h.n == 0 {
			continue
		}
		r.Requests += h.n
		us := func(d time.Duration) float64 { return float64(d) / 1e3 }
		ls := latencyStat{Count: h.n, MeanUS: us(h.mean()), P50US: us(h.quantile(.5)), P90US: us(h.quantile(.9)),
			P99US: us(h.quantile(.99)), P999US: us(h.quantile(.999)), MaxUS: us(time.Duration(h.max))}
		if noop != nil && noop.MeanUS > 0 {
			ls.NoopRatio = ls.MeanUS / noop.MeanUS
		}
		if noop != nil && noop.ParallelMeanUS > 0 {
			ls.NoopParallelRatio = ls.MeanUS / noop.ParallelMeanUS
		}
		r.Latency[opNames[o]] = ls
		m := map[string]int64{}
		for k := kind(0); k < numKinds; k++ {
			if n := stats.outcomes[o][k]; n > 0 {
				m[k.String()] = n
			}
		}
		r.Outcomes[opNames[o]] = m
	}
	// Counts and throughput.
	var peak rates
	for i := range s.ser.arrivals {
		r.Counts.Joined += s.ser.arrivals[i].Load()
		r.Counts.Admitted += s.ser.admissions[i].Load()
		r.Counts.Booked += s.ser.bookings[i].Load()
		peak.Joins = max(peak.Joins, float64(s.ser.arrivals[i].Load()))
		peak.Admissions = max(peak.Admissions, float64(s.ser.admissions[i].Load()))
		peak.Bookings = max(peak.Bookings, float64(s.ser.bookings[i].Load()))
	}
	r.Counts.ReconnectJoins = s.storms.Load()
	r.Counts.TimeoutRetries = s.retries.Load()
	r.Counts.PlacesLeft = int64(c.Slots) - s.led.bookedPlaces()
	for _, p := range s.cr.people {
		if p.uncertain {
			r.Counts.UncertainPeople++
		}
	}
	if ws := wall.Seconds(); ws > 0 {
		r.Throughput.PerWallSecond = rates{Joins: float64(r.Counts.Joined) / ws, Admissions: float64(r.Counts.Admitted) / ws,
			Bookings: float64(r.Counts.Booked) / ws, Requests: float64(r.Requests) / ws}
	}
	if night := r.SimSeconds; night > 0 {
		r.Throughput.PerSimSecond.Joins = float64(r.Counts.Joined) / night
	}
	if rush := (s.tickOffset(s.lastTick) - s.openOff).Seconds(); rush > 0 {
		r.Throughput.PerSimSecond.Admissions = float64(r.Counts.Admitted) / rush
		r.Throughput.PerSimSecond.Bookings = float64(r.Counts.Booked) / rush
	}
	r.Throughput.PeakPerSimSecond = peak

	r.Fairness = s.fairness()
	r.ETA = s.etaStat()
	r.ETARegimes = s.etaRegimes()
	r.Comebacks = s.comebackStat()
	r.Attacks.Skippers = map[string]attackStat{}
	for t := range numTricks {
		r.Attacks.Skippers[trickNames[t]] = attackStat{s.tricks[t][0].Load(), s.tricks[t][1].Load(), s.tricks[t][2].Load()}
	}
	r.Attacks.Backdoor = attackStat{s.backdoor[0].Load(), s.backdoor[1].Load(), s.backdoor[2].Load()}
	r.Attacks.SecondDevice = attackStat{s.doubles[0].Load(), s.doubles[1].Load(), s.doubles[2].Load()}
	r.Violations = s.led.violations(audit)
	r.Supply = s.supplyStat()
	r.Pacing = s.pacingStat()
	return r
}

// plain reports whether p waited in line the ordinary way (no abandon,
// comeback or expired-pass detour, nothing let through by an attack).
func plain(p *person) bool {
	return p.beh&(bAbandon|bComeback) == 0 && !(p.beh&bSkipper != 0 && p.trick == trickExpired) && p.admitted
}

// admissionKeys returns, for the people in idx, their admission order keys:
// the reported instant with ties broken by place, or the observed instant.
func (s *sim) admissionKey(p *person) (float64, bool) {
	if !p.reported.IsZero() {
		k := float64(p.reported.Sub(s.start))
		if p.place >= 0 {
			// Places are below 2^53; instants are whole milliseconds,
			// so add the place as a fraction of a millisecond.
			k += float64(p.place) / float64(len(s.cr.people)+1) * float64(time.Millisecond) * 0.999
		}
		return k, true
	}
	return float64(p.admittedAt), false
}

func (s *sim) fairness() fairness {
	var f fairness
	var ex, ey, px, py, ox, oy []float64
	reported := true
	for _, p := range s.cr.people {
		if !plain(p) || !p.joined {
			continue
		}
		y, rep := s.admissionKey(p)
		reported = reported && rep
		if p.joinedAt < s.openOff {
			ex = append(ex, float64(p.joinedAt))
			ey = append(ey, y)
		} else {
			px = append(px, float64(p.joinedAt))
			py = append(py, y)
			ox = append(ox, float64(p.joinedAt))
			oy = append(oy, float64(p.admittedAt))
		}
	}
	f.AdmissionSource = "observed"
	if reported && len(ex)+len(px) > 0 {
		f.AdmissionSource = "reported"
	}
	f.PostOpening = rankStat{N: len(px), Spearman: nanZero(spearman(px, py))}
	f.ObservedPostOpening = nanZero(spearman(ox, oy))
	f.Early = rankStat{N: len(ex), Spearman: nanZero(spearman(ex, ey))}
	chi, df := decileChiSquare(ex, ey)
	if !math.IsNaN(chi) {
		f.Early.ChiSquare, f.Early.DF, f.Early.PValue = chi, df, chiSquareP(chi, df)
	}
	return f
}

func nanZero(x float64) float64 {
	if math.IsNaN(x) {
		return 0
	}
	return x
}

func (s *sim) etaStat() etaStat { return s.etaStatWhere(func(*person) bool { return true }) }

// etaStatWhere is etaStat over the people keep accepts. People never
// admitted (told sold out, say) have no real wait to compare with.
func (s *sim) etaStatWhere(keep func(*person) bool) etaStat {
	var e etaStat
	var lo, hi, real []float64
	for _, p := range s.cr.people {
		if !p.joined || !keep(p) {
			continue
		}
		if !p.etaKnown {
			if plain(p) {
				e.WithoutEstimate++
			}
			continue
		}
		e.MaxShownHighS = max(e.MaxShownHighS, p.etaHi.Seconds())
		if !plain(p) {
			continue
		}
		if !p.admitted {
			e.NotAdmitted++
			continue
		}
		e.WithEstimate++
		joined := s.start.Add(p.joinedAt)
		// The real wait: exact from the room's admission instant when
		// reported; otherwise somewhere between the poll before the one
		// that saw the admission and that poll.
		var wLo, wHi time.Duration
		if !p.reported.IsZero() {
			wLo = p.reported.Sub(joined)
			wHi = wLo
		} else {
			wLo, wHi = max(0, p.prevPoll-p.joinedAt), p.admittedAt-p.joinedAt
		}
		switch {
		case wHi < p.etaLo:
			e.TooEarly++
		case wLo > p.etaHi:
			e.TooLate++
		default:
			e.Inside++
		}
		lo = append(lo, p.etaLo.Seconds())
		hi = append(hi, p.etaHi.Seconds())
		real = append(real, ((wLo + wHi) / 2).Seconds())
	}
	if e.WithEstimate > 0 {
		e.Calibration = float64(e.Inside) / float64(e.WithEstimate)
	}
	e.MedianLowS, e.MedianHighS, e.MedianRealS = median(lo), median(hi), median(real)
	return e
}

func (s *sim) comebackStat() comebacks {
	var c comebacks
	var waits []float64
	for _, p := range s.cr.people {
		if !p.wentAway {
			continue
		}
		c.WentAway++
		if p.calledAway && p.admittedAt >= p.returnedAt {
			c.AdmittedAfterReturn++
			waits = append(waits, (p.admittedAt - p.returnedAt).Seconds())
		}
	}
	c.MedianWaitS = median(waits)
	for _, w := range waits {
		c.MaxWaitS = max(c.MaxWaitS, w)
	}
	return c
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	ys := slices.Clone(xs)
	sort.Float64s(ys)
	return ys[len(ys)/2]
}

// writeJSON writes the report to path.
func (r *report) writeJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// writeText writes the human report.
func (r *report) writeText(w io.Writer) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	p("rush: %s, store %s, %d people for %d places (%d slots of up to %d), seed %d", r.Mode, r.Backend, r.People, r.Places, r.Slots, r.SlotCapacity, r.Seed)
	p("  room: %d admissions/min, active cap %d; tick %s, %d workers, %s", r.Rate, r.Cap, r.Tick, r.Workers, map[bool]string{true: "wall-clock pacing", false: "simulated time"}[r.Realtime])
	if r.Overlap > 1 {
		rooms := ""
		if r.LaneRooms {
			rooms = ", each with its own room on its own clock"
		}
		p("  up to %d ticks at once%s; %d follow-ups ran a tick late (their tick had started); clock at most %.0f ms past a call's tick, %d calls before the opening with a clock past it",
			r.Overlap, rooms, r.Late, r.ClockLeadMS, r.PastOpening)
	}
	p("  opening %s; simulated %s in %s of wall time (%d events, %d requests)",
		r.Opening.Format(time.RFC3339), dur(r.SimSeconds), dur(r.WallSeconds), r.Events, r.Requests)
	if r.SimCPUSeconds > 0 {
		p("  simulator CPU over that wall time: %.1f s, %.0f µs per person (this process: crowd, library, store clients)", r.SimCPUSeconds, r.SimCPUUSPerPerson)
	}
	if r.Stopped != "" {
		p("  STOPPED EARLY: %s", r.Stopped)
	}
	for _, f := range r.Faults {
		p("  fault %s@%s+%s (took %.2fs wall)%s", f.Kind, f.At, f.For, f.WallSeconds, ifs(f.Error != "", " ERROR: "+f.Error))
	}
	p("")
	p("people: %s", kv(r.Fates))
	p("behaviours: %s", kv(r.Behaviours))
	p("counts: joined %d, reconnect joins %d, admitted %d, booked %d, timeout retries %d, places left %d, outcome unknown %d",
		r.Counts.Joined, r.Counts.ReconnectJoins, r.Counts.Admitted, r.Counts.Booked, r.Counts.TimeoutRetries, r.Counts.PlacesLeft, r.Counts.UncertainPeople)
	p("")
	t := r.Throughput
	p("throughput         joins/s  admissions/s  bookings/s  requests/s")
	p("  per wall second  %7.0f  %12.0f  %10.0f  %10.0f", t.PerWallSecond.Joins, t.PerWallSecond.Admissions, t.PerWallSecond.Bookings, t.PerWallSecond.Requests)
	p("  per sim second   %7.1f  %12.1f  %10.1f", t.PerSimSecond.Joins, t.PerSimSecond.Admissions, t.PerSimSecond.Bookings)
	p("  peak sim second  %7.0f  %12.0f  %10.0f", t.PeakPerSimSecond.Joins, t.PeakPerSimSecond.Admissions, t.PeakPerSimSecond.Bookings)
	p("")
	p("latency (wall, µs)    count     mean      p50      p90      p99    p99.9      max%s", ifs(r.Noop != nil, "  x no-op  x no-op loaded"))
	for _, name := range opNames {
		l, ok := r.Latency[name]
		if !ok {
			continue
		}
		ratio := ""
		if r.Noop != nil {
			ratio = fmt.Sprintf("  %7.1f  %14.2f", l.NoopRatio, l.NoopParallelRatio)
		}
		p("  %-10s %10d %8.1f %8.1f %8.1f %8.1f %8.1f %8.0f%s", name, l.Count, l.MeanUS, l.P50US, l.P90US, l.P99US, l.P999US, l.MaxUS, ratio)
	}
	if r.Noop != nil {
		p("  no-op script round trip (%d EVALSHA of `return 0`): mean %.1f µs, p50 %.1f, p99 %.1f; with %d callers %.1f µs, %.0f/s",
			r.Noop.Rounds, r.Noop.MeanUS, r.Noop.P50US, r.Noop.P99US, r.Workers, r.Noop.ParallelMeanUS, r.Noop.ParallelPerSec)
		if r.Noop.ParallelSamples > 1 {
			p("    with %d callers, medians of %d runs of %d calls: %.0f-%.0f/s, Redis CPU %.2f-%.2f µs a call",
				r.Workers, r.Noop.ParallelSamples, r.Noop.Rounds, r.Noop.ParallelPerSecMin, r.Noop.ParallelPerSecMax, r.Noop.CPUMinUS, r.Noop.CPUMaxUS)
		}
		if r.Noop.AfterCPUUS > 0 {
			p("    medians before the run %.0f/s, %.2f µs a call; after it %.0f/s, %.2f µs a call (the figures used are over both)",
				r.Noop.BeforePerSec, r.Noop.BeforeCPUUS, r.Noop.AfterPerSec, r.Noop.AfterCPUUS)
		}
	}
	if st := r.Store; st != nil {
		var calls []string
		for _, name := range storeOpNames {
			calls = append(calls, fmt.Sprintf("%s %d", name, st.Calls[name]))
		}
		p("store calls: %s; %.2f per person; status polls %d, of which %d reached the store (%.2f %%)",
			strings.Join(calls, ", "), st.CallsPerPerson, st.StatusPolls, st.StatusStoreCalls, 100*float64(st.StatusStoreCalls)/max(1, float64(st.StatusPolls)))
		if st.NoopRedisCPUUS > 0 && st.RedisCPUUSPerPerson <= 0 {
			p("redis cpu (main thread): not known (a restart set Redis's counters back to zero); no-op script %.2f µs per call", st.NoopRedisCPUUS)
		} else if st.NoopRedisCPUUS > 0 {
			p("redis cpu (main thread): %.1f µs per person; no-op script %.2f µs per call; floor ratio %.2f (1 = four no-op calls per person)",
				st.RedisCPUUSPerPerson, st.NoopRedisCPUUS, st.FloorRatio)
		}
		if st.FloorWallSeconds > 0 {
			p("wall floor (people x 4 / no-op rate with %d callers): %.1f s; wall time %.2f x the floor", r.Workers, st.FloorWallSeconds, st.WallOverFloor)
			if st.RedisCPUOverFloor > 0 {
				p("  Redis's main-thread CPU alone is %.2f x the floor; Redis worked %.0f %% of the wall time", st.RedisCPUOverFloor, 100*st.RedisBusy)
			}
			if st.MachineCPUOverFloor > 0 {
				p("  the simulator's and Redis's CPU together is %.2f x the floor on %d cores; they kept %.0f %% of the machine working", st.MachineCPUOverFloor, st.Cores, 100*st.MachineBusy)
			}
			if st.MachineBusyMeasured > 0 {
				p("  the machine was %.0f %% busy (/proc/stat: every process and the kernel); besides its main thread Redis used %.1f s in other threads and %.1f s in forked children (%d AOF rewrites began)",
					100*st.MachineBusyMeasured, st.RedisOtherCPUSeconds, st.RedisChildrenCPUSeconds, st.AOFRewrites)
			}
		}
	}
	p("outcomes:")
	for _, name := range opNames {
		if m, ok := r.Outcomes[name]; ok {
			p("  %-8s %s", name, kv(m))
		}
	}
	p("")
	f := r.Fairness
	p("fairness (admission order: %s)", f.AdmissionSource)
	p("  after the opening: n=%d, Spearman(join order, admission order) = %.5f (observed by polls: %.5f)", f.PostOpening.N, f.PostOpening.Spearman, f.ObservedPostOpening)
	if f.Early.DF > 0 {
		p("  early arrivals:    n=%d, Spearman = %+.4f, chi-square over deciles = %.1f (df %d, p = %.3f)", f.Early.N, f.Early.Spearman, f.Early.ChiSquare, f.Early.DF, f.Early.PValue)
	} else {
		p("  early arrivals:    n=%d, Spearman = %+.4f (too few for the chi-square over deciles: 1000 needed)", f.Early.N, f.Early.Spearman)
	}
	e := r.ETA
	p("ETA: %d shown a range and admitted, %d inside (calibration %.3f), %d sooner, %d later; %d joined before any measurement",
		e.WithEstimate, e.Inside, e.Calibration, e.TooEarly, e.TooLate, e.WithoutEstimate)
	if r.Mode == "http" {
		// The real wait starts at the join's scheduled tick, and a
		// simulator that falls behind the wall clock sends it later:
		// the figure then measures the lag, not the room's estimate.
		p("  (http mode: waits count from the simulator's schedule, which lags the servers under load; judge the ETA in inprocess mode)")
	}
	p("  medians: low %s, high %s, real wait %s; largest high end shown %s", dur(e.MedianLowS), dur(e.MedianHighS), dur(e.MedianRealS), dur(e.MaxShownHighS))
	r.writeETARegimes(w)
	cb := r.Comebacks
	p("comebacks: %d away when near the front, %d admitted after return, wait after return median %s, max %s", cb.WentAway, cb.AdmittedAfterReturn, dur(cb.MedianWaitS), dur(cb.MaxWaitS))
	var sk []string
	for _, name := range trickNames {
		a := r.Attacks.Skippers[name]
		sk = append(sk, fmt.Sprintf("%s %d/%d refused", name, a.Refused, a.Tried))
	}
	p("attacks: %s; backdoor %d/%d refused", strings.Join(sk, ", "), r.Attacks.Backdoor.Refused, r.Attacks.Backdoor.Tried)
	sd := r.Attacks.SecondDevice
	p("double bookers' second device: %d holds, %d refused, %d won the race (then the first device was refused)", sd.Tried, sd.Refused, sd.Succeeded)
	a := r.Audit
	if a.Performed {
		p("audit of the store (%s): %d slots, capacity %d, booked %d (ledger %d), %d people with a booking; over capacity %d, double %d, lost %d, phantom %d, count mismatches %d, unknown entries %d",
			a.Method, a.Slots, a.Capacity, a.Booked, a.LedgerBooked, a.PeopleWithBook, a.OverbookedSlots, a.DoubleBookings, a.LostBookings, a.PhantomBookings, a.CountsDisagree, a.UnknownInStore)
	} else {
		p("audit of the store: NOT PERFORMED %s", a.Error)
	}
	r.writeSupplyPacing(w)
	p("")
	v := r.Violations
	p("violations (each must be 0):")
	p("  overbooked slots         %d (%d places over)", v.OverbookedSlots, v.OverbookedPlaces)
	p("  double bookings          %d", v.DoubleBookings)
	p("  admitted before opening  %d", v.AdmittedBeforeOpening)
	p("  booked before opening    %d", v.BookedBeforeOpening)
	p("  booked without valid pass %d", v.BookedWithoutValidPass)
	p("  booked during maintenance %d", v.BookedDuringMaintenance)
	p("  booked during outage     %d", v.BookedDuringOutage)
	p("  lost bookings            %d", v.LostBookings)
	p("  phantom bookings         %d", v.PhantomBookings)
	p("  idempotency mismatches   %d", v.IdempotencyMismatches)
	p("  reconnect moved place    %d", v.ReconnectMovedPlace)
	if v.Total == 0 {
		p("all checks passed")
	} else {
		p("FAILED: %d violations", v.Total)
	}
}

func ifs(c bool, s string) string {
	if c {
		return s
	}
	return ""
}

func kv(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

func dur(sec float64) string {
	d := time.Duration(sec * float64(time.Second))
	switch {
	case d >= time.Minute:
		return d.Round(time.Second).String()
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	default:
		return d.Round(time.Microsecond).String()
	}
}
