package eligibility

import (
	"strconv"
	"time"
)

// Status is the kind of answer a person gets.
type Status uint8

const (
	// NotEligible: no cohort's rule admits the person in any window. It is
	// the zero Status, so a zero Decision refuses.
	NotEligible Status = iota
	// NotYet: the person's next window opens at Decision.OpensAt.
	NotYet
	// Open: the person may book now, until Decision.ClosesAt.
	Open
	// Closed: the person was eligible, but their last window closed at
	// Decision.ClosesAt and none is ahead.
	Closed
)

// String returns "not_eligible", "not_yet", "open" or "closed".
func (s Status) String() string {
	switch s {
	case NotEligible:
		return "not_eligible"
	case NotYet:
		return "not_yet"
	case Open:
		return "open"
	case Closed:
		return "closed"
	}
	return "Status(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText implements encoding.TextMarshaler with String.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler for the names String
// returns.
func (s *Status) UnmarshalText(b []byte) error {
	for v := NotEligible; v <= Closed; v++ {
		if v.String() == string(b) {
			*s = v
			return nil
		}
	}
	return &unknownStatusError{string(b)}
}

type unknownStatusError struct{ s string }

// Error implements error.
func (e *unknownStatusError) Error() string {
	return "eligibility: unknown status " + strconv.Quote(e.s)
}

// Reason says, for programs, why a decision is what it is.
type Reason string

const (
	// ReasonNoMatchingCohort: no cohort admits the person in any window
	// (Status NotEligible).
	ReasonNoMatchingCohort Reason = "no_matching_cohort"
	// ReasonInvalidBirthDate: the person's birth date is missing or does not
	// exist (Status NotEligible).
	ReasonInvalidBirthDate Reason = "invalid_birth_date"
	// ReasonWindowOpen: a window of the cohort is open for the person
	// (Status Open).
	ReasonWindowOpen Reason = "window_open"
	// ReasonWindowAhead: nothing is open for the person; their next window
	// is ahead (Status NotYet).
	ReasonWindowAhead Reason = "window_ahead"
	// ReasonTurnAhead: a window of the deciding cohort is open now but its
	// rule does not admit the person on that window's date (a rotation day
	// for others); their own turn is ahead (Status NotYet).
	ReasonTurnAhead Reason = "turn_ahead"
	// ReasonWindowsOver: every window that admitted the person has closed
	// (Status Closed).
	ReasonWindowsOver Reason = "windows_over"
)

// Decision is a campaign's answer for one person at one instant. Its times
// are shown in the campaign's zone.
type Decision struct {
	// Status is the answer.
	Status Status `json:"status"`
	// Reason says why, for programs.
	Reason Reason `json:"reason"`
	// Cohort names the cohort that decided; "" when NotEligible.
	Cohort string `json:"cohort,omitempty"`
	// OpensAt is when the window in question opens (NotYet), opened (Open)
	// or opened last (Closed); zero when NotEligible. Back-to-back windows
	// of the cohort that all admit the person count as one.
	OpensAt time.Time `json:"opens_at,omitzero"`
	// ClosesAt is when that window closes (NotYet, Open: "open until") or
	// closed (Closed); zero when NotEligible. The window is half-open: at
	// ClosesAt exactly, it is closed.
	ClosesAt time.Time `json:"closes_at,omitzero"`
	// At is the instant decided, in the campaign's zone.
	At time.Time `json:"at"`
}

// String describes d for people, such as "open until
// 2021-07-20T18:00:00+09:00 (cohort \"53-54\")".
func (d Decision) String() string {
	const f = time.RFC3339Nano
	var s string
	switch d.Status {
	case NotEligible:
		return "not eligible (" + string(d.Reason) + ")"
	case NotYet:
		s = "opens at " + d.OpensAt.Format(f)
	case Open:
		s = "open until " + d.ClosesAt.Format(f)
	case Closed:
		s = "closed since " + d.ClosesAt.Format(f)
	default:
		return d.Status.String()
	}
	return s + " (cohort " + strconv.Quote(d.Cohort) + ", " + string(d.Reason) + ")"
}

// Decide answers for person p at the instant now. The answer depends only
// on p, the instant (not now's location) and the campaign, never on the
// host's zone.
//
// Each cohort's rule is asked about each of its windows on the date that
// window opens, in the campaign's zone; a cohort is open for p when a
// window that admits p contains now. Among cohorts that admit p somewhere:
// one open now wins (if several, the one whose window closes last, then
// the first listed); else the one whose window opens earliest (then the
// first listed); else the one that closed last (then the first listed). A birth date that is not a valid
// Date gets NotEligible with ReasonInvalidBirthDate.
//
// Decide does not allocate.
func (c *Campaign) Decide(p Person, now time.Time) Decision {
	zone := c.zone
	if zone == nil { // the zero Campaign: no cohorts, and no zone to show
		zone = time.UTC
	}
	d := Decision{At: now.Round(0).In(zone)}
	if p.BirthDate.Valid() != nil {
		d.Reason = ReasonInvalidBirthDate
		return d
	}
	best, bestIdx := outcome{}, -1
	for i := range c.cohorts {
		o := c.cohorts[i].at(p, d.At)
		if o.status != NotEligible && (bestIdx < 0 || o.beats(best)) {
			best, bestIdx = o, i
		}
	}
	if bestIdx < 0 {
		d.Reason = ReasonNoMatchingCohort
		return d
	}
	d.Status, d.Cohort, d.OpensAt, d.ClosesAt = best.status, c.cohorts[bestIdx].name, best.opens, best.closes
	switch {
	case best.status == Open:
		d.Reason = ReasonWindowOpen
	case best.status == NotYet && best.turnAhead:
		d.Reason = ReasonTurnAhead
	case best.status == NotYet:
		d.Reason = ReasonWindowAhead
	default:
		d.Reason = ReasonWindowsOver
	}
	return d
}

// outcome is one cohort's answer.
type outcome struct {
	status        Status // NotEligible: the cohort never admits the person
	opens, closes time.Time
	turnAhead     bool
}

// beats reports whether o is a better answer than b, which comes from an
// earlier cohort (so ties go to b).
func (o outcome) beats(b outcome) bool {
	rank := func(s Status) int {
		switch s {
		case Open:
			return 3
		case NotYet:
			return 2
		case Closed:
			return 1
		}
		return 0
	}
	if ro, rb := rank(o.status), rank(b.status); ro != rb {
		return ro > rb
	}
	switch o.status {
	case Open, Closed:
		return o.closes.After(b.closes)
	case NotYet:
		return o.opens.Before(b.opens)
	}
	return false
}

// at is the cohort's answer for p at now. Windows are sorted and disjoint.
func (c *cohort) at(p Person, now time.Time) outcome {
	for _, g := range c.guard {
		if !g.Match(Input{Person: p, Date: c.dates[0]}) {
			return outcome{}
		}
	}
	// k is the first window not over at now; only it can contain now.
	lo, hi := 0, len(c.wins)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if c.wins[m].Ended(now) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	k := lo
	turnAhead := false
	for i := k; i < len(c.wins); i++ {
		w := &c.wins[i]
		if !c.admits(p, i) {
			if w.Contains(now) {
				turnAhead = true
			}
			continue
		}
		if w.Contains(now) {
			return outcome{status: Open, opens: c.runStart(p, i), closes: c.runEnd(p, i)}
		}
		return outcome{status: NotYet, opens: w.Start, closes: c.runEnd(p, i), turnAhead: turnAhead}
	}
	for i := k - 1; i >= 0; i-- {
		if c.admits(p, i) {
			return outcome{status: Closed, opens: c.runStart(p, i), closes: c.wins[i].End}
		}
	}
	return outcome{}
}

// runStart is the start of the run of back-to-back admitting windows that
// ends with window i.
func (c *cohort) runStart(p Person, i int) time.Time {
	start := c.wins[i].Start
	for j := i - 1; j >= 0 && c.wins[j].End.Equal(start) && c.admits(p, j); j-- {
		start = c.wins[j].Start
	}
	return start
}

// runEnd is the end of the run of back-to-back admitting windows that
// starts with window i.
func (c *cohort) runEnd(p Person, i int) time.Time {
	end := c.wins[i].End
	for j := i + 1; j < len(c.wins) && c.wins[j].Start.Equal(end) && c.admits(p, j); j++ {
		end = c.wins[j].End
	}
	return end
}

// admits reports whether the rule admits p in window i, given that the
// guard does.
func (c *cohort) admits(p Person, i int) bool {
	return c.perWindow == nil || c.perWindow.Match(Input{Person: p, Date: c.dates[i]})
}
