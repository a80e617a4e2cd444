package eligibility

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/window"
)

func person(s string) Person { return Person{BirthDate: MustParseDate(s)} }

func TestRulesMatch(t *testing.T) {
	d := MustParseDate
	on := d("2021-07-12")
	cases := []struct {
		name string
		rule Rule
		yes  []string // birth dates matched on `on`
		no   []string
	}{
		{"born_between", BornBetween(d("1962-01-01"), d("1966-12-31")),
			[]string{"1962-01-01", "1964-06-15", "1966-12-31"}, []string{"1961-12-31", "1967-01-01"}},
		{"born_between from only", BornBetween(d("2000-01-01"), Date{}),
			[]string{"2000-01-01", "2020-05-05"}, []string{"1999-12-31"}},
		{"born_between to only", BornBetween(Date{}, d("1961-12-31")),
			[]string{"1900-01-01", "1961-12-31"}, []string{"1962-01-01"}},
		{"age_between fixed date", AgeBetween(55, 59, d("2021-07-12")),
			[]string{"1966-07-12", "1961-07-13"}, []string{"1966-07-13", "1961-07-12"}},
		{"age_between today", AgeBetween(18, 18, Date{}),
			[]string{"2003-07-12", "2002-07-13"}, []string{"2003-07-13", "2002-07-12"}},
		{"korean_age_between fixed year", KoreanAgeBetween(55, 59, 2021),
			[]string{"1962-01-01", "1966-12-31"}, []string{"1961-12-31", "1967-01-01"}},
		{"korean_age_between this year", KoreanAgeBetween(55, 59, 0),
			[]string{"1962-01-01", "1966-12-31"}, []string{"1961-12-31", "1967-01-01"}},
		{"birth_year_last_digit", BirthYearLastDigit(1, 6),
			[]string{"1961-05-05", "1966-05-05", "2001-01-01"}, []string{"1962-05-05", "1970-01-01"}},
		{"birth_day_last_digit", BirthDayLastDigit(0),
			[]string{"1980-01-10", "1980-01-20", "1980-01-30"}, []string{"1980-01-01", "1980-01-31"}},
		{"birth_day_last_digit_matches_today", BirthDayLastDigitMatchesToday(),
			[]string{"1980-01-02", "1980-01-12", "1980-03-22"}, []string{"1980-01-01", "1980-01-21", "1980-12-31"}},
		{"everyone", Everyone(), []string{"1900-01-01", "2021-07-12"}, nil},
		{"all", All(BornBetween(d("1960-01-01"), Date{}), BirthYearLastDigit(2)),
			[]string{"1962-01-01", "1972-01-01"}, []string{"1952-01-01", "1963-01-01"}},
		{"any", Any(BirthYearLastDigit(1), BirthDayLastDigit(1)),
			[]string{"1961-02-02", "1962-02-01", "1961-02-11"}, []string{"1962-02-02"}},
		{"not", Not(BornBetween(d("1962-01-01"), d("1966-12-31"))),
			[]string{"1961-12-31", "1967-01-01"}, []string{"1962-01-01"}},
		{"not not", Not(Not(Everyone())), []string{"2000-01-01"}, nil},
	}
	for _, c := range cases {
		for _, b := range c.yes {
			if !c.rule.Match(Input{Person: person(b), Date: on}) {
				t.Errorf("%s: born %s not matched on %s", c.name, b, on)
			}
		}
		for _, b := range c.no {
			if c.rule.Match(Input{Person: person(b), Date: on}) {
				t.Errorf("%s: born %s matched on %s", c.name, b, on)
			}
		}
		// Every built-in rule has a JSON form that parses back to a rule
		// with the same answers.
		enc, err := json.Marshal(c.rule)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		back := parseRuleForTest(t, enc)
		for _, b := range append(append([]string{}, c.yes...), c.no...) {
			in := Input{Person: person(b), Date: on}
			if back.Match(in) != c.rule.Match(in) {
				t.Errorf("%s: %s re-parsed answers differently for %s", c.name, enc, b)
			}
		}
	}
}

// parseRuleForTest parses a rule through a one-cohort campaign.
func parseRuleForTest(t *testing.T, rule []byte) Rule {
	t.Helper()
	doc := `{"name":"t","zone":"UTC","cohorts":[{"name":"c","rule":` + string(rule) +
		`,"windows":[{"start":"2021-01-01T00:00","end":"2021-01-02T00:00"}]}]}`
	c, err := Parse([]byte(doc))
	if err != nil {
		t.Fatalf("%s: %v", rule, err)
	}
	return c.Config().Cohorts[0].Rule
}

func TestRuleDated(t *testing.T) {
	d := MustParseDate
	for _, c := range []struct {
		r    Rule
		want bool
	}{
		{BornBetween(d("1962-01-01"), Date{}), false},
		{AgeBetween(1, 2, d("2021-01-01")), false},
		{AgeBetween(1, 2, Date{}), true},
		{KoreanAgeBetween(1, 2, 2021), false},
		{KoreanAgeBetween(1, 2, 0), true},
		{BirthDayLastDigitMatchesToday(), true},
		{Not(BirthDayLastDigitMatchesToday()), true},
		{All(Everyone(), BirthDayLastDigitMatchesToday()), true},
		{Any(Everyone(), BirthYearLastDigit(1)), false},
		{customRule(func(Input) bool { return true }), true}, // unknown: assumed dated
		{All(Everyone(), customRule(func(Input) bool { return true })), true},
	} {
		if got := isDated(c.r); got != c.want {
			t.Errorf("isDated(%T) = %v, want %v", c.r, got, c.want)
		}
		if _, ok := c.r.(builtin); ok {
			_ = c.r == c.r // the package's rules are comparable: this must not panic
		}
	}
}

type customRule func(Input) bool

func (f customRule) Match(in Input) bool { return f(in) }

// TestCustomRule: a Go rule from outside the package works in Decide, is
// asked on each window's opening date, and makes the campaign unencodable
// with a clear error.
func TestCustomRule(t *testing.T) {
	weekday := customRule(func(in Input) bool {
		return time.Date(in.Date.Year, in.Date.Month, in.Date.Day, 12, 0, 0, 0, time.UTC).Weekday() == time.Wednesday
	})
	utc := time.UTC
	day := func(d int) window.Window {
		s := time.Date(2021, 7, d, 9, 0, 0, 0, utc)
		return window.Window{Start: s, End: s.Add(8 * time.Hour)}
	}
	c, err := New(Config{Name: "x", Zone: "UTC", Cohorts: []Cohort{{Name: "wednesdays", Rule: weekday, Windows: []window.Window{day(12), day(13), day(14), day(15)}}}})
	if err != nil {
		t.Fatal(err)
	}
	d := c.Decide(time.Date(2021, 7, 12, 10, 0, 0, 0, utc), person("1980-01-01"))
	if d.Status != StatusNotYet || d.Reason != ReasonTurnAhead || !d.OpensAt.Equal(day(14).Start) {
		t.Fatalf("got %s", d)
	}
	_, err = json.Marshal(c)
	var ce *CampaignError
	if !errors.As(err, &ce) || ce.Path != "cohorts[0].rule" || !strings.Contains(err.Error(), "no JSON form") {
		t.Fatalf("marshal custom rule: %v", err)
	}
}

// TestNewYearInZone: 31 December 15:00 UTC is already 1 January in Seoul;
// age by year and rotation rules read the Seoul date, not the UTC one.
func TestNewYearInZone(t *testing.T) {
	midnightSeoul := time.Date(2021, 12, 31, 15, 0, 0, 0, time.UTC)
	win := []window.Window{{Start: midnightSeoul, End: midnightSeoul.Add(24 * time.Hour)}}
	campaign := func(zone string, rule Rule) *Campaign {
		c, err := New(Config{Name: "new year", Zone: zone, Cohorts: []Cohort{{Name: "c", Rule: rule, Windows: win}}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	at := midnightSeoul.Add(30 * time.Minute)
	cases := []struct {
		zone  string
		rule  Rule
		birth string
		want  Status
	}{
		// In Seoul the window opens in 2022: born 1967 is 55, born 1962 is 60.
		{"Asia/Seoul", KoreanAgeBetween(55, 59, 0), "1967-06-01", StatusOpen},
		{"Asia/Seoul", KoreanAgeBetween(55, 59, 0), "1962-06-01", StatusNotEligible},
		// The same instants in a UTC campaign open on 31 December 2021.
		{"UTC", KoreanAgeBetween(55, 59, 0), "1967-06-01", StatusNotEligible},
		{"UTC", KoreanAgeBetween(55, 59, 0), "1962-06-01", StatusOpen},
		// Rotation: 1 January in Seoul (digit 1), 31 December in UTC (digit 1
		// as well), so use the day before for contrast: 30 vs 31.
		{"Asia/Seoul", AgeBetween(18, 18, Date{}), "2004-01-01", StatusOpen},
		{"UTC", AgeBetween(18, 18, Date{}), "2004-01-01", StatusNotEligible},
		{"UTC", AgeBetween(17, 17, Date{}), "2004-01-01", StatusOpen},
	}
	for _, c := range cases {
		got := campaign(c.zone, c.rule).Decide(at, person(c.birth))
		if got.Status != c.want {
			t.Errorf("%s, %T, born %s: got %s, want %s", c.zone, c.rule, c.birth, got, c.want)
		}
	}

	// Rotation, on a day whose last digit differs between Seoul and UTC:
	// 9 August 15:30 UTC is 10 August 00:30 in Seoul.
	var days []window.Window
	for d := 1; d <= 20; d++ {
		s := time.Date(2021, 8, d, 0, 0, 0, 0, seoul)
		days = append(days, window.Window{Start: s, End: s.AddDate(0, 0, 1)})
	}
	rot, err := New(Config{Name: "rotation", Zone: "Asia/Seoul", Cohorts: []Cohort{{Name: "r", Rule: BirthDayLastDigitMatchesToday(), Windows: days}}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2021, 8, 9, 15, 30, 0, 0, time.UTC)
	if d := rot.Decide(now, person("1990-05-10")); d.Status != StatusOpen || !d.ClosesAt.Equal(kst(8, 11, 0, 0)) {
		t.Errorf("born on the 10th at 10 Aug 00:30 KST: got %s, want open until 11 Aug 00:00", d)
	}
	if d := rot.Decide(now, person("1990-05-19")); d.Status != StatusNotYet || d.Reason != ReasonTurnAhead || !d.OpensAt.Equal(kst(8, 19, 0, 0)) {
		t.Errorf("born on the 19th at 10 Aug 00:30 KST: got %s, want opens 19 Aug (9 Aug is over in Seoul)", d)
	}
}

// TestRuleValidation: New checks built-in rules and names the path.
func TestRuleValidation(t *testing.T) {
	d := MustParseDate
	cases := []struct {
		rule Rule
		path string
	}{
		{nil, "cohorts[0].rule"},
		{BornBetween(Date{}, Date{}), "cohorts[0].rule.born_between"},
		{BornBetween(Date{2021, 2, 29}, Date{}), "cohorts[0].rule.born_between.from"},
		{BornBetween(d("1970-01-01"), d("1960-01-01")), "cohorts[0].rule.born_between.to"},
		{AgeBetween(-1, 5, Date{}), "cohorts[0].rule.age_between.min"},
		{AgeBetween(5, 4, Date{}), "cohorts[0].rule.age_between.max"},
		{AgeBetween(5, 400, Date{}), "cohorts[0].rule.age_between.max"},
		{AgeBetween(5, 6, Date{2021, 4, 31}), "cohorts[0].rule.age_between.on"},
		{KoreanAgeBetween(5, 6, -3), "cohorts[0].rule.korean_age_between.year"},
		{BirthYearLastDigit(), "cohorts[0].rule.birth_year_last_digit"},
		{BirthYearLastDigit(1, 10), "cohorts[0].rule.birth_year_last_digit[1]"},
		{BirthDayLastDigit(3, 3), "cohorts[0].rule.birth_day_last_digit[1]"},
		{All(), "cohorts[0].rule.all"},
		{Any(Everyone(), nil), "cohorts[0].rule.any[1]"},
		{Not(nil), "cohorts[0].rule.not"},
		{All(Everyone(), Not(AgeBetween(3, 2, Date{}))), "cohorts[0].rule.all[1].not.age_between.max"},
	}
	win := []window.Window{{Start: kst(7, 1, 0, 0), End: kst(7, 2, 0, 0)}}
	for _, c := range cases {
		got, err := New(Config{Name: "x", Zone: "UTC", Cohorts: []Cohort{{Name: "c", Rule: c.rule, Windows: win}}})
		var ce *CampaignError
		if got != nil || !errors.As(err, &ce) || ce.Path != c.path || !errors.Is(err, ErrInvalidCampaign) {
			t.Errorf("%#v: got %v, %v; want an error at %s", c.rule, got, err, c.path)
		}
	}
	deep := Everyone()
	for range maxRuleDepth + 1 {
		deep = Not(deep)
	}
	if _, err := New(Config{Name: "x", Zone: "UTC", Cohorts: []Cohort{{Name: "c", Rule: deep, Windows: win}}}); !errors.Is(err, ErrInvalidCampaign) || !strings.Contains(err.Error(), "nested") {
		t.Errorf("deep rule: %v", err)
	}
}
