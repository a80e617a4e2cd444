package eligibility

import (
	"fmt"
	"time"

	"github.com/gatehouse-go/gatehouse/window"
)

// Date is a civil date: a year, month and day with no time of day and no
// zone, as printed on an identity card. It is not a time.Time on purpose: a
// birth date does not name an instant, and turning one into an instant
// (midnight where?) is how answers come to depend on the host's zone.
//
// The zero Date is not a valid date; Valid refuses it, and rules read it as
// "no bound" where they say so. Construct dates with ParseDate, NewDate or a
// literal checked with Valid.
type Date struct {
	Year  int        // 1-9999
	Month time.Month // January-December
	Day   int        // 1-31, within the month
}

// NewDate returns the date, or an error wrapping ErrInvalidDate if it does
// not exist (31 April, 29 February in a common year, month 13, ...).
func NewDate(year int, month time.Month, day int) (Date, error) {
	d := Date{year, month, day}
	if err := d.Valid(); err != nil {
		return Date{}, err
	}
	return d, nil
}

// ParseDate parses a date written exactly as "2006-01-02": a four-digit
// year, a two-digit month and a two-digit day. The date must exist; the
// error wraps ErrInvalidDate.
func ParseDate(s string) (Date, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return Date{}, fmt.Errorf("%w: %q is not of the form 2006-01-02", ErrInvalidDate, s)
	}
	y, ok1 := digits(s[0:4])
	m, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 {
		return Date{}, fmt.Errorf("%w: %q is not of the form 2006-01-02", ErrInvalidDate, s)
	}
	return NewDate(y, time.Month(m), d)
}

// MustParseDate is ParseDate for dates fixed in the program text. It panics
// if s is not a valid date.
func MustParseDate(s string) Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// digits parses a run of ASCII digits.
func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// DateOf returns the civil date of t in t's own location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// DateIn returns the civil date of the instant t in loc: the date a
// calendar on the wall in loc shows at t. 2021-12-31T15:00:00Z is already
// 1 January 2022 in Asia/Seoul. A nil loc is UTC.
func DateIn(t time.Time, loc *time.Location) Date {
	if loc == nil {
		loc = time.UTC
	}
	return DateOf(t.In(loc))
}

// Valid returns nil if d names a day of the proleptic Gregorian calendar in
// years 1-9999, and otherwise an error wrapping ErrInvalidDate.
func (d Date) Valid() error {
	switch {
	case d.IsZero():
		return fmt.Errorf("%w: missing (zero date)", ErrInvalidDate)
	case d.Year < 1 || d.Year > 9999:
		return fmt.Errorf("%w: year %d out of range 1-9999", ErrInvalidDate, d.Year)
	case d.Month < time.January || d.Month > time.December:
		return fmt.Errorf("%w: month %d out of range 1-12", ErrInvalidDate, int(d.Month))
	case d.Day < 1 || d.Day > window.DaysIn(d.Year, d.Month):
		return fmt.Errorf("%w: %s %d has no day %d", ErrInvalidDate, d.Month, d.Year, d.Day)
	}
	return nil
}

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// Compare returns -1, 0 or +1 as d is before, equal to or after e.
func (d Date) Compare(e Date) int {
	switch {
	case d.Year != e.Year:
		return cmp(d.Year, e.Year)
	case d.Month != e.Month:
		return cmp(int(d.Month), int(e.Month))
	}
	return cmp(d.Day, e.Day)
}

func cmp(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Before reports whether d is before e.
func (d Date) Before(e Date) bool { return d.Compare(e) < 0 }

// After reports whether d is after e.
func (d Date) After(e Date) bool { return d.Compare(e) > 0 }

// String formats d as 2006-01-02 (whether or not d is valid).
func (d Date) String() string {
	return string(d.appendTo(make([]byte, 0, 10)))
}

func (d Date) appendTo(b []byte) []byte {
	b = appendInt(b, d.Year, 4)
	b = append(b, '-')
	b = appendInt(b, int(d.Month), 2)
	b = append(b, '-')
	return appendInt(b, d.Day, 2)
}

// appendInt appends n zero-padded to width digits (more if n needs them).
func appendInt(b []byte, n, width int) []byte {
	if n < 0 {
		b = append(b, '-')
		n = -n
	}
	var buf [20]byte
	i := len(buf)
	for n >= 10 || width > 1 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
		width--
	}
	i--
	buf[i] = byte('0' + n)
	return append(b, buf[i:]...)
}

// MarshalText implements encoding.TextMarshaler: 2006-01-02. An invalid
// date is an error, so none is ever written out.
func (d Date) MarshalText() ([]byte, error) {
	if err := d.Valid(); err != nil {
		return nil, err
	}
	return d.appendTo(make([]byte, 0, 10)), nil
}

// UnmarshalText implements encoding.TextUnmarshaler with ParseDate.
func (d *Date) UnmarshalText(b []byte) error {
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Person is who asks: for eligibility, a birth date and nothing more.
type Person struct {
	// BirthDate is the person's date of birth. Required.
	BirthDate Date `json:"birth_date"`
}

// AgeOn returns the person's age in full years on the date on: the number
// of birthdays they have had by the end of that day.
//
// A person born on 29 February has their birthday on 29 February in leap
// years and on 1 March in common years: on 28 February 2023 someone born on
// 29 February 2000 is still 22, on 1 March 2023 they are 23. (This is the
// reading of most civil codes, Korea's and the United Kingdom's among them;
// a few jurisdictions use 28 February. Write an explicit born_between rule if
// yours does.)
//
// Before the birth date the result is negative.
func (p Person) AgeOn(on Date) int {
	b := p.BirthDate
	age := on.Year - b.Year
	// Comparing (month, day) pairs gives the 1 March rule for 29 February
	// birthdays by itself: in a common year (2, 28) < (2, 29) < (3, 1).
	if on.Month < b.Month || (on.Month == b.Month && on.Day < b.Day) {
		age--
	}
	return age
}

// YearAge returns the person's age by year in the reference year: year
// minus birth year, the count Korean public-health programmes use (연 나이;
// born 1966 is 55 throughout 2021). It is not the traditional East Asian
// count, which adds one.
func (p Person) YearAge(year int) int { return year - p.BirthDate.Year }
