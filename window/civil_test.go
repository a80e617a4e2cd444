package window

import (
	"errors"
	"testing"
	"time"
)

func TestResolveGapsAndOverlaps(t *testing.T) {
	ny := MustLoadZone("America/New_York")
	berlin := MustLoadZone("Europe/Berlin")
	seoul := MustLoadZone("Asia/Seoul")
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		name    string
		loc     *time.Location
		civil   Civil
		d       Disambiguation
		want    time.Time
		wantErr error
	}{
		{"seoul plain", seoul, Date(2021, 7, 12).At(20, 0, 0), Reject, utc("2021-07-12T11:00:00Z"), nil},
		{"ny gap reject", ny, Date(2021, 3, 14).At(2, 30, 0), Reject, time.Time{}, ErrNonexistentTime},
		{"ny gap compatible", ny, Date(2021, 3, 14).At(2, 30, 0), Compatible, utc("2021-03-14T07:30:00Z"), nil},
		{"ny gap earlier", ny, Date(2021, 3, 14).At(2, 30, 0), Earlier, utc("2021-03-14T06:30:00Z"), nil},
		{"ny gap later", ny, Date(2021, 3, 14).At(2, 30, 0), Later, utc("2021-03-14T07:30:00Z"), nil},
		{"ny overlap reject", ny, Date(2021, 11, 7).At(1, 30, 0), Reject, time.Time{}, ErrAmbiguousTime},
		{"ny overlap compatible", ny, Date(2021, 11, 7).At(1, 30, 0), Compatible, utc("2021-11-07T05:30:00Z"), nil},
		{"ny overlap earlier", ny, Date(2021, 11, 7).At(1, 30, 0), Earlier, utc("2021-11-07T05:30:00Z"), nil},
		{"ny overlap later", ny, Date(2021, 11, 7).At(1, 30, 0), Later, utc("2021-11-07T06:30:00Z"), nil},
		{"ny just before gap", ny, Date(2021, 3, 14).At(1, 59, 59), Reject, utc("2021-03-14T06:59:59Z"), nil},
		{"ny gap end exists", ny, Date(2021, 3, 14).At(3, 0, 0), Reject, utc("2021-03-14T07:00:00Z"), nil},
		{"berlin gap reject", berlin, Date(2021, 3, 28).At(2, 30, 0), Reject, time.Time{}, ErrNonexistentTime},
		{"berlin gap compatible", berlin, Date(2021, 3, 28).At(2, 30, 0), Compatible, utc("2021-03-28T01:30:00Z"), nil},
		{"berlin gap earlier", berlin, Date(2021, 3, 28).At(2, 30, 0), Earlier, utc("2021-03-28T00:30:00Z"), nil},
		{"berlin overlap reject", berlin, Date(2021, 10, 31).At(2, 30, 0), Reject, time.Time{}, ErrAmbiguousTime},
		{"berlin overlap earlier", berlin, Date(2021, 10, 31).At(2, 30, 0), Earlier, utc("2021-10-31T00:30:00Z"), nil},
		{"berlin overlap later", berlin, Date(2021, 10, 31).At(2, 30, 0), Later, utc("2021-10-31T01:30:00Z"), nil},
		{"31 april", seoul, Date(2021, 4, 31), Reject, time.Time{}, ErrInvalidCivil},
		{"29 feb common", seoul, Date(2021, 2, 29), Reject, time.Time{}, ErrInvalidCivil},
		{"29 feb leap", seoul, Date(2020, 2, 29), Reject, utc("2020-02-28T15:00:00Z"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Resolve(tc.civil, tc.loc, tc.d)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(tc.want) {
				t.Fatalf("got %s, want %s", got.UTC().Format(time.RFC3339), tc.want.Format(time.RFC3339))
			}
			if got.Location() != tc.loc {
				t.Fatalf("result in %v, want %v", got.Location(), tc.loc)
			}
		})
	}
}

// TestResolveEveryQuarterHour walks every quarter hour of a year of civil
// times in zones with the kinds of transition there are (western and
// eastern DST, a 30-minute DST, southern hemisphere, no DST, a whole day
// skipped) and checks Resolve's answer against the zone itself: an existing
// time resolves to an instant that reads back the same; a gap is rejected,
// and its candidates are the gap's length apart; an overlap is rejected,
// and its two candidates both read back the same.
func TestResolveEveryQuarterHour(t *testing.T) {
	for _, tc := range []struct {
		zone string
		year int
	}{
		{"America/New_York", 2021}, {"Europe/Berlin", 2021}, {"Asia/Seoul", 2021},
		{"Australia/Lord_Howe", 2021}, {"America/Santiago", 2021},
		{"Pacific/Apia", 2011}, // skipped 30 December 2011 entirely
	} {
		t.Run(tc.zone, func(t *testing.T) {
			loc := MustLoadZone(tc.zone)
			var gaps, overlaps int
			for u := time.Date(tc.year, 1, 1, 0, 0, 0, 0, time.UTC); u.Year() == tc.year; u = u.Add(15 * time.Minute) {
				c := CivilOf(u)
				got, err := Resolve(c, loc, Reject)
				earlier, err1 := Resolve(c, loc, Earlier)
				later, err2 := Resolve(c, loc, Later)
				compatible, err3 := Resolve(c, loc, Compatible)
				if err1 != nil || err2 != nil || err3 != nil {
					t.Fatalf("%s: %v %v %v", c, err1, err2, err3)
				}
				switch {
				case err == nil:
					if CivilOf(got) != c || got.Location() != loc || !earlier.Equal(got) || !later.Equal(got) || !compatible.Equal(got) {
						t.Fatalf("%s resolved to %s (reads %s)", c, got, CivilOf(got))
					}
				case errors.Is(err, ErrNonexistentTime):
					gaps++
					_, before := earlier.Add(-24 * time.Hour).In(loc).Zone()
					_, after := later.Add(24 * time.Hour).In(loc).Zone()
					if later.Sub(earlier) != time.Duration(after-before)*time.Second || CivilOf(earlier) == c || CivilOf(later) == c || !compatible.Equal(later) {
						t.Fatalf("gap %s: earlier %s later %s compatible %s", c, earlier, later, compatible)
					}
				case errors.Is(err, ErrAmbiguousTime):
					overlaps++
					if !earlier.Before(later) || CivilOf(earlier) != c || CivilOf(later) != c || !compatible.Equal(earlier) {
						t.Fatalf("overlap %s: earlier %s later %s compatible %s", c, earlier, later, compatible)
					}
				default:
					t.Fatalf("%s: %v", c, err)
				}
			}
			t.Logf("%d quarter hours in gaps, %d in overlaps", gaps, overlaps)
			if tc.zone != "Asia/Seoul" && (gaps == 0 || (tc.zone != "Pacific/Apia" && overlaps == 0)) {
				t.Fatalf("no transitions found in %s %d", tc.zone, tc.year)
			}
			if tc.zone == "Asia/Seoul" && gaps+overlaps != 0 {
				t.Fatal("Seoul had no DST in 2021")
			}
		})
	}
}

func TestParseCivil(t *testing.T) {
	for in, want := range map[string]Civil{
		"2021-07-12T20:00":           Date(2021, 7, 12).At(20, 0, 0),
		"2021-07-12 20:00":           Date(2021, 7, 12).At(20, 0, 0),
		"2021-07-12T20:00:59":        Date(2021, 7, 12).At(20, 0, 59),
		"2021-07-12T20:00:00.000001": {2021, 7, 12, 20, 0, 0, 1000},
		"2020-02-29T00:00":           Date(2020, 2, 29),
	} {
		got, err := ParseCivil(in)
		if err != nil || got != want {
			t.Errorf("ParseCivil(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "2021-07-12", "2021-07-12T20:00Z", "2021-07-12T20:00+09:00", "2021-07-12T24:00",
		"2021-02-29T00:00", "2021-7-12T20:00", "12/07/2021 20:00", "2021-07-12T20:00 KST",
		"2021-07-12T8:00", "2021-07-12 8:00:00", "0001-01-10 0:00", "2021-07-12T20:00:5"} {
		if got, err := ParseCivil(in); !errors.Is(err, ErrInvalidCivil) {
			t.Errorf("ParseCivil(%q) = %v, %v; want ErrInvalidCivil", in, got, err)
		}
	}
	c := Civil{2021, 7, 12, 20, 0, 0, 500000000}
	if c.String() != "2021-07-12T20:00:00.5" {
		t.Errorf("String %q", c.String())
	}
	b, err := c.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	var back Civil
	if err := back.UnmarshalText(b); err != nil || back != c {
		t.Fatalf("round trip %q: %v, %v", b, back, err)
	}
	if _, err := Date(2021, 4, 31).MarshalText(); !errors.Is(err, ErrInvalidCivil) {
		t.Errorf("MarshalText of 31 April: %v", err)
	}
	if err := back.UnmarshalText([]byte("nope")); !errors.Is(err, ErrInvalidCivil) || back != c {
		t.Errorf("UnmarshalText of garbage: %v, left %v", err, back)
	}
}

func TestDisambiguationNames(t *testing.T) {
	for _, d := range []Disambiguation{Reject, Compatible, Earlier, Later} {
		got, err := ParseDisambiguation(d.String())
		if err != nil || got != d {
			t.Errorf("%v: %v %v", d, got, err)
		}
	}
	if d, err := ParseDisambiguation(""); err != nil || d != Reject {
		t.Errorf(`"" = %v, %v`, d, err)
	}
	if _, err := ParseDisambiguation("latest"); err == nil {
		t.Error("unknown name accepted")
	}
	if s := Disambiguation(9).String(); s != "Disambiguation(9)" {
		t.Error(s)
	}
	seoul := MustLoadZone("Asia/Seoul")
	if _, err := Resolve(Date(2021, 7, 12), seoul, Disambiguation(9)); err == nil {
		t.Error("unknown disambiguation accepted")
	}
	if _, err := Resolve(Date(2021, 7, 12), nil, Reject); !errors.Is(err, ErrUnknownZone) {
		t.Errorf("nil zone: %v", err)
	}
}
