package window

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// ErrInvalidCivil reports a civil time that is malformed or out of range,
// such as 31 April or 24:00.
var ErrInvalidCivil = errors.New("window: invalid civil time")

// ErrNonexistentTime reports a civil time that a zone skips, such as 02:30
// on the night clocks spring forward.
var ErrNonexistentTime = errors.New("window: civil time does not exist in zone")

// ErrAmbiguousTime reports a civil time that a zone passes twice, such as
// 01:30 on the night clocks fall back.
var ErrAmbiguousTime = errors.New("window: civil time is ambiguous in zone")

// Civil is a wall-clock date and time with no zone: what a person writes on
// a poster ("12 July 2021, 20:00"). It becomes an instant only with a zone,
// through Resolve.
type Civil struct {
	Year       int
	Month      time.Month
	Day        int
	Hour       int
	Minute     int
	Second     int
	Nanosecond int
}

// Date returns the civil time at midnight of the given day.
func Date(year int, month time.Month, day int) Civil {
	return Civil{Year: year, Month: month, Day: day}
}

// At returns c with the time of day set.
func (c Civil) At(hour, minute, second int) Civil {
	c.Hour, c.Minute, c.Second, c.Nanosecond = hour, minute, second, 0
	return c
}

// CivilOf returns the wall-clock reading of t in t's location.
func CivilOf(t time.Time) Civil {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	return Civil{y, mo, d, h, mi, s, t.Nanosecond()}
}

// Valid reports whether c names a real calendar date and time of day: no
// 31 April, no 29 February in a common year, hour 0-23, and so on.
// time.Date would silently normalise such values; gatehouse refuses them.
func (c Civil) Valid() error {
	switch {
	case c.Year < 1 || c.Year > 9999:
		return fmt.Errorf("%w: year %d out of range 1-9999", ErrInvalidCivil, c.Year)
	case c.Month < time.January || c.Month > time.December:
		return fmt.Errorf("%w: month %d", ErrInvalidCivil, int(c.Month))
	case c.Day < 1 || c.Day > DaysIn(c.Year, c.Month):
		return fmt.Errorf("%w: %s %d has no day %d", ErrInvalidCivil, c.Month, c.Year, c.Day)
	case c.Hour < 0 || c.Hour > 23:
		return fmt.Errorf("%w: hour %d", ErrInvalidCivil, c.Hour)
	case c.Minute < 0 || c.Minute > 59:
		return fmt.Errorf("%w: minute %d", ErrInvalidCivil, c.Minute)
	case c.Second < 0 || c.Second > 59:
		return fmt.Errorf("%w: second %d", ErrInvalidCivil, c.Second)
	case c.Nanosecond < 0 || c.Nanosecond > 999999999:
		return fmt.Errorf("%w: nanosecond %d", ErrInvalidCivil, c.Nanosecond)
	}
	return nil
}

// DaysIn returns the number of days in the month of the year (proleptic
// Gregorian calendar).
func DaysIn(year int, month time.Month) int {
	switch month {
	case time.April, time.June, time.September, time.November:
		return 30
	case time.February:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	}
	return 31
}

// String formats c as 2006-01-02T15:04:05 with a fraction when non-zero.
func (c Civil) String() string {
	s := fmt.Sprintf("%04d-%02d-%02dT%02d:%02d:%02d", c.Year, int(c.Month), c.Day, c.Hour, c.Minute, c.Second)
	if c.Nanosecond != 0 {
		f := strconv.FormatFloat(float64(c.Nanosecond)/1e9, 'f', -1, 64)
		s += f[1:]
	}
	return s
}

// ParseCivil parses "2006-01-02T15:04", "2006-01-02T15:04:05" or
// "2006-01-02T15:04:05.999999999" (a space may stand for the T). An offset or
// zone suffix is refused: the zone comes from the campaign.
func ParseCivil(s string) (Civil, error) {
	// time.Parse accepts a one-digit hour for "15"; the documented form has
	// two, so check the fixed positions before parsing.
	if len(s) < 16 || s[13] != ':' || (len(s) > 16 && s[16] != ':') {
		return Civil{}, fmt.Errorf("%w: %q is not of the form 2006-01-02T15:04[:05] (no offset: the zone comes from the campaign)", ErrInvalidCivil, s)
	}
	for _, layout := range []string{
		"2006-01-02T15:04:05.999999999",
		"2006-01-02T15:04",
		"2006-01-02 15:04:05.999999999",
		"2006-01-02 15:04",
	} {
		t, err := time.Parse(layout, s)
		if err == nil {
			return CivilOf(t), nil
		}
	}
	return Civil{}, fmt.Errorf("%w: %q is not of the form 2006-01-02T15:04[:05] (no offset: the zone comes from the campaign)", ErrInvalidCivil, s)
}

// MarshalText implements encoding.TextMarshaler.
func (c Civil) MarshalText() ([]byte, error) {
	if err := c.Valid(); err != nil {
		return nil, err
	}
	return []byte(c.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler with ParseCivil.
func (c *Civil) UnmarshalText(b []byte) error {
	v, err := ParseCivil(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// Disambiguation says what to do with a civil time that a zone skips (a gap,
// when clocks spring forward) or passes twice (an overlap, when they fall
// back). The zero value, Reject, refuses both.
type Disambiguation int

const (
	// Reject refuses nonexistent and ambiguous civil times with
	// ErrNonexistentTime or ErrAmbiguousTime. It is the default.
	Reject Disambiguation = iota
	// Compatible is RFC 5545's rule (also JavaScript Temporal's default):
	// in a gap, the instant after the transition, moved forward by the
	// length of the gap (02:30 becomes 03:30); in an overlap, the earlier
	// instant.
	Compatible
	// Earlier picks the earlier candidate: in a gap, the civil time read
	// with the offset after the transition (02:30 becomes 01:30); in an
	// overlap, the first pass.
	Earlier
	// Later picks the later candidate: in a gap, the civil time read with
	// the offset before the transition (02:30 becomes 03:30); in an
	// overlap, the second pass.
	Later
)

// String names d.
func (d Disambiguation) String() string {
	switch d {
	case Reject:
		return "reject"
	case Compatible:
		return "compatible"
	case Earlier:
		return "earlier"
	case Later:
		return "later"
	}
	return "Disambiguation(" + strconv.Itoa(int(d)) + ")"
}

// ParseDisambiguation parses the names String returns; "" is Reject.
func ParseDisambiguation(s string) (Disambiguation, error) {
	switch s {
	case "", "reject":
		return Reject, nil
	case "compatible":
		return Compatible, nil
	case "earlier":
		return Earlier, nil
	case "later":
		return Later, nil
	}
	return Reject, fmt.Errorf("window: unknown disambiguation %q (want reject, compatible, earlier or later)", s)
}

// Resolve turns a civil time into the instant it names in loc.
//
// time.Date also does this, but picks one answer silently for gaps and
// overlaps, and which one depends on the sign of the zone's offset. Resolve
// instead finds every instant whose wall clock in loc reads c, from the
// zone's offsets around it: exactly one is the answer; none is a gap and two
// an overlap, resolved as d says. The result is in loc.
func Resolve(c Civil, loc *time.Location, d Disambiguation) (time.Time, error) {
	if err := c.Valid(); err != nil {
		return time.Time{}, err
	}
	if loc == nil {
		return time.Time{}, fmt.Errorf("%w: nil location", ErrUnknownZone)
	}
	if d < Reject || d > Later {
		return time.Time{}, fmt.Errorf("window: unknown disambiguation %d", int(d))
	}
	// u is the civil time read as if it were UTC; an instant t shows c in
	// loc exactly when t = u - offset(t).
	u := time.Date(c.Year, c.Month, c.Day, c.Hour, c.Minute, c.Second, c.Nanosecond, time.UTC)
	// Zone transitions are far more than a day apart, so the offsets in
	// force a day either side of u include every offset that can apply.
	var offsets [3]int
	for i, shift := range []time.Duration{-24 * time.Hour, 0, 24 * time.Hour} {
		_, offsets[i] = u.Add(shift).In(loc).Zone()
	}
	var found []time.Time
	for i, o := range offsets {
		if slices.Contains(offsets[:i], o) {
			continue
		}
		t := u.Add(-time.Duration(o) * time.Second)
		if _, ot := t.In(loc).Zone(); ot == o {
			found = append(found, t)
		}
	}
	switch {
	case len(found) == 1:
		return found[0].In(loc), nil
	case len(found) >= 2:
		earlier, later := found[0], found[0]
		for _, t := range found[1:] {
			if t.Before(earlier) {
				earlier = t
			}
			if t.After(later) {
				later = t
			}
		}
		switch d {
		case Compatible, Earlier:
			return earlier.In(loc), nil
		case Later:
			return later.In(loc), nil
		}
		return time.Time{}, fmt.Errorf("%w: %s in %s happens twice (at %s and %s); choose earlier, later or compatible",
			ErrAmbiguousTime, c, loc, earlier.In(loc).Format(time.RFC3339), later.In(loc).Format(time.RFC3339))
	}
	// A gap: the offsets before and after the transition.
	before, after := offsets[0], offsets[2]
	lo, hi := u.Add(-time.Duration(max(before, after))*time.Second), u.Add(-time.Duration(min(before, after))*time.Second)
	switch d {
	case Earlier:
		return lo.In(loc), nil
	case Compatible, Later:
		return hi.In(loc), nil
	}
	return time.Time{}, fmt.Errorf("%w: %s in %s falls in a gap (clocks skip it); choose earlier, later or compatible",
		ErrNonexistentTime, c, loc)
}
