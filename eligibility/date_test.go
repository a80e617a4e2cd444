package eligibility

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func TestParseDate(t *testing.T) {
	good := map[string]Date{
		"1967-03-04": {1967, time.March, 4},
		"2000-02-29": {2000, time.February, 29}, // divisible by 400: leap
		"2024-02-29": {2024, time.February, 29},
		"0001-01-01": {1, time.January, 1},
		"9999-12-31": {9999, time.December, 31},
		"2021-04-30": {2021, time.April, 30},
	}
	for s, want := range good {
		got, err := ParseDate(s)
		if err != nil || got != want {
			t.Errorf("ParseDate(%q) = %v, %v; want %v", s, got, err, want)
		}
		if got.String() != s {
			t.Errorf("%v.String() = %q", got, got.String())
		}
	}
	for _, s := range []string{
		"2021-02-29",  // common year
		"1900-02-29",  // divisible by 100, not 400
		"2021-04-31",  // April has 30
		"2021-06-31",  // June has 30
		"2021-13-01",  // month 13
		"2021-00-10",  // month 0
		"2021-01-00",  // day 0
		"2021-01-32",  // day 32
		"0000-01-01",  // year 0
		"",            // empty
		"21-01-01",    // short year
		"2021-1-01",   // short month
		"2021-01-1",   // short day
		"2021/01/01",  // wrong separator
		"2021-01-01 ", // trailing space
		" 2021-01-01", // leading space
		"2021-01-01T00:00",
		"+021-01-01",
		"2021-0a-01",
		"２０２１-01-01", // full-width digits
	} {
		d, err := ParseDate(s)
		if !errors.Is(err, ErrInvalidDate) {
			t.Errorf("ParseDate(%q) = %v, %v; want ErrInvalidDate", s, d, err)
		}
		if err != nil && d != (Date{}) {
			t.Errorf("ParseDate(%q) returned %v with its error", s, d)
		}
	}
}

func TestDateValid(t *testing.T) {
	for _, d := range []Date{{}, {2021, 2, 29}, {2021, 4, 31}, {10000, 1, 1}, {-5, 1, 1}, {2021, 0, 1}, {2021, 1, -1}} {
		if err := d.Valid(); !errors.Is(err, ErrInvalidDate) {
			t.Errorf("%v.Valid() = %v", d, err)
		}
		if _, err := NewDate(d.Year, d.Month, d.Day); !errors.Is(err, ErrInvalidDate) {
			t.Errorf("NewDate(%v) = %v", d, err)
		}
		if _, err := d.MarshalText(); !errors.Is(err, ErrInvalidDate) {
			t.Errorf("%v.MarshalText() = %v; want an error", d, err)
		}
	}
}

func TestDateText(t *testing.T) {
	p := Person{BirthDate: MustParseDate("1967-03-04")}
	b, err := json.Marshal(p)
	if err != nil || string(b) != `{"birth_date":"1967-03-04"}` {
		t.Fatalf("json.Marshal = %s, %v", b, err)
	}
	var q Person
	if err := json.Unmarshal(b, &q); err != nil || q != p {
		t.Fatalf("json.Unmarshal = %v, %v", q, err)
	}
	if err := json.Unmarshal([]byte(`{"birth_date":"1967-02-30"}`), &q); !errors.Is(err, ErrInvalidDate) {
		t.Fatalf("impossible date decoded: %v", err)
	}
	if _, err := json.Marshal(Person{}); err == nil {
		t.Fatal("zero date encoded")
	}
}

func TestDateCompare(t *testing.T) {
	ds := []Date{{1999, 12, 31}, {2000, 1, 1}, {2000, 1, 2}, {2000, 2, 1}, {2001, 1, 1}}
	for i, a := range ds {
		for j, b := range ds {
			if got, want := a.Compare(b), cmp(i, j); got != want {
				t.Errorf("%v.Compare(%v) = %d, want %d", a, b, got, want)
			}
			if a.Before(b) != (i < j) || a.After(b) != (i > j) {
				t.Errorf("%v Before/After %v wrong", a, b)
			}
		}
	}
}

// TestDateIn: the civil date is the zone's, whatever t's location.
func TestDateIn(t *testing.T) {
	ny := time.Date(2021, 12, 31, 15, 0, 0, 0, time.UTC) // 1 January 2022, 00:00 in Seoul
	cases := []struct {
		t    time.Time
		zone string
		want string
	}{
		{ny, "Asia/Seoul", "2022-01-01"},
		{ny, "UTC", "2021-12-31"},
		{ny, "America/Los_Angeles", "2021-12-31"},
		{ny.Add(-time.Nanosecond), "Asia/Seoul", "2021-12-31"},
		{ny.In(seoul), "UTC", "2021-12-31"},
		{time.Date(2021, 8, 9, 15, 30, 0, 0, time.UTC), "Asia/Seoul", "2021-08-10"},
	}
	for _, c := range cases {
		loc, err := time.LoadLocation(c.zone)
		if err != nil {
			t.Fatal(err)
		}
		if got := DateIn(c.t, loc).String(); got != c.want {
			t.Errorf("DateIn(%s, %s) = %s, want %s", c.t.Format(time.RFC3339Nano), c.zone, got, c.want)
		}
	}
	if got := DateIn(ny, nil).String(); got != "2021-12-31" {
		t.Errorf("DateIn(nil zone) = %s, want the UTC date", got)
	}
}

// TestAgeOnLeapDay: a 29 February birthday turns over on 1 March in common
// years and on 29 February in leap years.
func TestAgeOnLeapDay(t *testing.T) {
	leapling := Person{BirthDate: MustParseDate("2000-02-29")}
	march1 := Person{BirthDate: MustParseDate("2000-03-01")}
	feb28 := Person{BirthDate: MustParseDate("2000-02-28")}
	cases := []struct {
		p    Person
		on   string
		want int
	}{
		{leapling, "2000-02-29", 0},
		{leapling, "2001-02-28", 0}, // common year: not yet
		{leapling, "2001-03-01", 1}, // common year: 1 March
		{leapling, "2023-02-28", 22},
		{leapling, "2023-03-01", 23},
		{leapling, "2024-02-28", 23}, // leap year: not yet on the 28th
		{leapling, "2024-02-29", 24}, // leap year: on the 29th
		{leapling, "2024-03-01", 24},
		{leapling, "2100-02-28", 99}, // 2100 is a common year
		{leapling, "2100-03-01", 100},
		{leapling, "1999-12-31", -1}, // before birth
		{march1, "2023-02-28", 22},
		{march1, "2023-03-01", 23},
		{march1, "2024-02-29", 23},
		{feb28, "2023-02-28", 23},
		{feb28, "2024-02-28", 24},
	}
	for _, c := range cases {
		if got := c.p.AgeOn(MustParseDate(c.on)); got != c.want {
			t.Errorf("born %s, AgeOn(%s) = %d, want %d", c.p.BirthDate, c.on, got, c.want)
		}
	}
	// The same through the rule, as a campaign would ask it.
	rule := AgeBetween(23, 23, Date{})
	for on, want := range map[string]bool{"2023-02-28": false, "2023-03-01": true, "2024-02-28": true, "2024-02-29": false} {
		if got := rule.Match(Input{Person: leapling, Date: MustParseDate(on)}); got != want {
			t.Errorf("aged 23 on %s: %v, want %v", on, got, want)
		}
	}
}

func TestYearAge(t *testing.T) {
	p := Person{BirthDate: MustParseDate("1966-12-31")}
	if got := p.YearAge(2021); got != 55 {
		t.Fatalf("YearAge = %d", got)
	}
	p = Person{BirthDate: MustParseDate("1962-01-01")}
	if got := p.YearAge(2021); got != 59 {
		t.Fatalf("YearAge = %d", got)
	}
}
