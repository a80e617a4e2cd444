package eligibility

import (
	"strconv"
	"time"
)

// Status is the kind of answer a person gets.
type Status uint8

const (
	// StatusNotEligible: no cohort's rule admits the person in any window. It is
	// the zero Status, so a zero Decision refuses.
	StatusNotEligible Status = iota
	// StatusNotYet: the person's next window opens at Decision.OpensAt.
	StatusNotYet
	// StatusOpen: the person may book now, until Decision.ClosesAt.
	StatusOpen
	// StatusClosed: the person was eligible, but their last window closed at
	// Decision.ClosesAt and none is ahead.
	StatusClosed
)

// String returns "not_eligible", "not_yet", "open" or "closed".
func (s Status) String() string {
	switch s {
	case StatusNotEligible:
		return "not_eligible"
	case StatusNotYet:
		return "not_yet"
	case StatusOpen:
		return "open"
	case StatusClosed:
		return "closed"
	}
	return "Status(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText implements encoding.TextMarshaler with String.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler for the names String
// returns.
func (s *Status) UnmarshalText(b []byte) error {
	for v := StatusNotEligible; v <= StatusClosed; v++ {
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
	// (StatusNotEligible).
	ReasonNoMatchingCohort Reason = "no_matching_cohort"
	// ReasonInvalidBirthDate: the person's birth date is missing or does not
	// exist (StatusNotEligible).
	ReasonInvalidBirthDate Reason = "invalid_birth_date"
	// ReasonWindowOpen: a window of the cohort is open for the person
	// (StatusOpen).
	ReasonWindowOpen Reason = "window_open"
	// ReasonWindowAhead: nothing is open for the person; their next window
	// is ahead (StatusNotYet).
	ReasonWindowAhead Reason = "window_ahead"
	// ReasonTurnAhead: a window of the deciding cohort is open now but its
	// rule does not admit the person on that window's date (a rotation day
	// for others); their own turn is ahead (StatusNotYet).
	ReasonTurnAhead Reason = "turn_ahead"
	// ReasonWindowsOver: every window that admitted the person has closed
	// (StatusClosed).
	ReasonWindowsOver Reason = "windows_over"
)

// Decision is a campaign's answer for one person at one instant. Its times
// are shown in the campaign's zone.
type Decision struct {
	// Status is the answer.
	Status Status `json:"status"`
	// Reason says why, for programs.
	Reason Reason `json:"reason"`
	// Cohort names the cohort that decided; "" when StatusNotEligible.
	Cohort string `json:"cohort,omitempty"`
	// OpensAt is when the window in question opens (StatusNotYet), opened (StatusOpen)
	// or opened last (StatusClosed); zero when StatusNotEligible. Back-to-back windows
	// of the cohort that all admit the person count as one.
	OpensAt time.Time `json:"opens_at,omitzero"`
	// ClosesAt is when that window closes (StatusNotYet, StatusOpen: "open until") or
	// closed (StatusClosed); zero when StatusNotEligible. The window is half-open: at
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
	case StatusNotEligible:
		return "not eligible (" + string(d.Reason) + ")"
	case StatusNotYet:
		s = "opens at " + d.OpensAt.Format(f)
	case StatusOpen:
		s = "open until " + d.ClosesAt.Format(f)
	case StatusClosed:
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
// Date gets StatusNotEligible with ReasonInvalidBirthDate.
//
// Decide does not allocate.
func (c *Campaign) Decide(now time.Time, p Person) Decision {
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
		if o.status != StatusNotEligible && (bestIdx < 0 || o.beats(best)) {
			best, bestIdx = o, i
		}
	}
	if bestIdx < 0 {
		d.Reason = ReasonNoMatchingCohort
		return d
	}
	d.Status, d.Cohort, d.OpensAt, d.ClosesAt = best.status, c.cohorts[bestIdx].name, best.opens, best.closes
	switch {
	case best.status == StatusOpen:
		d.Reason = ReasonWindowOpen
	case best.status == StatusNotYet && best.turnAhead:
		d.Reason = ReasonTurnAhead
	case best.status == StatusNotYet:
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
		case StatusOpen:
			return 3
		case StatusNotYet:
			return 2
		case StatusClosed:
			return 1
		}
		return 0
	}
	if ro, rb := rank(o.status), rank(b.status); ro != rb {
		return ro > rb
	}
	switch o.status {
	case StatusOpen, StatusClosed:
		return o.closes.After(b.closes)
	case StatusNotYet:
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
			return outcome{status: StatusOpen, opens: c.runStart(p, i), closes: c.runEnd(p, i)}
		}
		return outcome{status: StatusNotYet, opens: w.Start, closes: c.runEnd(p, i), turnAhead: turnAhead}
	}
	for i := k - 1; i >= 0; i-- {
		if c.admits(p, i) {
			return outcome{status: StatusClosed, opens: c.runStart(p, i), closes: c.wins[i].End}
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
