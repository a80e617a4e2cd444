package eligibility

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Rule decides whether a person belongs to a cohort.
//
// Match must be a pure function of its Input: the same person on the same
// date always gets the same answer, whatever the instant, the host or its
// time zone. Decide calls it once per window with Input.Date set to the
// window's opening date (see the package documentation), so a rule's
// answer never changes in the middle of a window.
//
// Build rules with the constructors of this package (BornBetween,
// AgeBetween, KoreanAgeBetween, BirthYearLastDigit, BirthDayLastDigit,
// BirthDayLastDigitMatchesToday, Everyone, All, Any, Not); those have a JSON
// form and are checked by New. Any other type may implement Rule for use in
// Go, but a campaign holding one cannot be encoded to JSON.
type Rule interface {
	Match(in Input) bool
}

// Input is what a rule is asked about: a person on a civil date in the
// campaign's zone.
type Input struct {
	// Person is who asks.
	Person Person
	// Date is the civil date, in the campaign's zone, that date-dependent
	// rules read as "today". When a campaign decides, it is the date on
	// which the window being considered opens.
	Date Date
}

// builtin is implemented by the rules of this package.
type builtin interface {
	Rule
	json.Marshaler
	// dated reports whether Match may depend on Input.Date.
	dated() bool
	// check reports problems under path (the path of the rule itself).
	check(path string, depth int, errs *errList)
}

// maxRuleDepth bounds the nesting of all, any and not.
const maxRuleDepth = 32

// Rule kinds: the keys of the tagged JSON form.
const (
	kindBornBetween      = "born_between"
	kindAgeBetween       = "age_between"
	kindKoreanAgeBetween = "korean_age_between"
	kindBirthYearDigit   = "birth_year_last_digit"
	kindBirthDayDigit    = "birth_day_last_digit"
	kindDayMatchesToday  = "birth_day_last_digit_matches_today"
	kindEveryone         = "everyone"
	kindAll              = "all"
	kindAny              = "any"
	kindNot              = "not"
)

// ruleKinds lists the kinds for error messages, in documentation order.
var ruleKinds = []string{kindBornBetween, kindAgeBetween, kindKoreanAgeBetween, kindBirthYearDigit,
	kindBirthDayDigit, kindDayMatchesToday, kindEveryone, kindAll, kindAny, kindNot}

// maxAge bounds ages in rules: a larger one is a typo.
const maxAge = 200

// BornBetween matches people born on or after from and on or before to:
// both ends are included. A zero from or to leaves that side unbounded (at
// least one must be set). JSON: {"born_between": {"from": "1962-01-01",
// "to": "1966-12-31"}}.
func BornBetween(from, to Date) Rule { return bornBetween{from, to} }

type bornBetween struct{ from, to Date }

// Match implements Rule.
func (r bornBetween) Match(in Input) bool {
	b := in.Person.BirthDate
	return (r.from.IsZero() || !b.Before(r.from)) && (r.to.IsZero() || !b.After(r.to))
}

func (bornBetween) dated() bool { return false }

func (r bornBetween) check(path string, _ int, errs *errList) {
	path = join(path, kindBornBetween)
	bad := false
	if r.from.IsZero() && r.to.IsZero() {
		errs.addf(path, "needs from, to or both")
		return
	}
	if !r.from.IsZero() {
		if err := r.from.Valid(); err != nil {
			errs.add(join(path, "from"), err)
			bad = true
		}
	}
	if !r.to.IsZero() {
		if err := r.to.Valid(); err != nil {
			errs.add(join(path, "to"), err)
			bad = true
		}
	}
	if !bad && !r.from.IsZero() && !r.to.IsZero() && r.from.After(r.to) {
		errs.addf(join(path, "to"), fmt.Sprintf("%s is before from %s", r.to, r.from))
	}
}

// MarshalJSON writes the rule in its tagged JSON form.
func (r bornBetween) MarshalJSON() ([]byte, error) {
	b := []byte(`{"` + kindBornBetween + `":{`)
	if !r.from.IsZero() {
		b = append(b, `"from":"`...)
		b = append(r.from.appendTo(b), '"')
	}
	if !r.to.IsZero() {
		if !r.from.IsZero() {
			b = append(b, ',')
		}
		b = append(b, `"to":"`...)
		b = append(r.to.appendTo(b), '"')
	}
	return append(b, "}}"...), nil
}

// AgeBetween matches people whose age in full years (Person.AgeOn) on the
// date on is at least min and at most max. A zero on means the rule's
// Input.Date: the date the window opens. Birthdays on 29 February turn over
// on 1 March in common years. JSON: {"age_between": {"min": 55, "max": 59,
// "on": "2021-07-12"}} ("on" optional).
func AgeBetween(min, max int, on Date) Rule { return ageBetween{min, max, on} }

type ageBetween struct {
	min, max int
	on       Date
}

// Match implements Rule.
func (r ageBetween) Match(in Input) bool {
	on := r.on
	if on.IsZero() {
		on = in.Date
	}
	a := in.Person.AgeOn(on)
	return a >= r.min && a <= r.max
}

func (r ageBetween) dated() bool { return r.on.IsZero() }

func (r ageBetween) check(path string, _ int, errs *errList) {
	path = join(path, kindAgeBetween)
	checkAges(path, r.min, r.max, errs)
	if !r.on.IsZero() {
		if err := r.on.Valid(); err != nil {
			errs.add(join(path, "on"), err)
		}
	}
}

func checkAges(path string, min, max int, errs *errList) {
	if min < 0 || min > maxAge {
		errs.addf(join(path, "min"), fmt.Sprintf("%d out of range 0-%d", min, maxAge))
	}
	if max < 0 || max > maxAge {
		errs.addf(join(path, "max"), fmt.Sprintf("%d out of range 0-%d", max, maxAge))
	} else if max < min {
		errs.addf(join(path, "max"), fmt.Sprintf("%d is less than min %d", max, min))
	}
}

// MarshalJSON writes the rule in its tagged JSON form.
func (r ageBetween) MarshalJSON() ([]byte, error) {
	b := []byte(`{"` + kindAgeBetween + `":{"min":`)
	b = strconv.AppendInt(b, int64(r.min), 10)
	b = append(b, `,"max":`...)
	b = strconv.AppendInt(b, int64(r.max), 10)
	if !r.on.IsZero() {
		b = append(b, `,"on":"`...)
		b = append(r.on.appendTo(b), '"')
	}
	return append(b, "}}"...), nil
}

// KoreanAgeBetween matches people whose age by year (Person.YearAge: the
// reference year minus the birth year) is at least min and at most max. A
// zero year means the year of the rule's Input.Date, the date the window
// opens, in the campaign's zone: a window opening at 00:00 on 1 January in
// Seoul counts the new year, though it is still 31 December in UTC. This is
// how Korea's 2021 vaccination cohorts were drawn: "55-59" was everyone born
// in 1962-1966. JSON: {"korean_age_between": {"min": 55, "max": 59,
// "year": 2021}} ("year" optional).
func KoreanAgeBetween(min, max, year int) Rule { return koreanAgeBetween{min, max, year} }

type koreanAgeBetween struct{ min, max, year int }

// Match implements Rule.
func (r koreanAgeBetween) Match(in Input) bool {
	y := r.year
	if y == 0 {
		y = in.Date.Year
	}
	a := in.Person.YearAge(y)
	return a >= r.min && a <= r.max
}

func (r koreanAgeBetween) dated() bool { return r.year == 0 }

func (r koreanAgeBetween) check(path string, _ int, errs *errList) {
	path = join(path, kindKoreanAgeBetween)
	checkAges(path, r.min, r.max, errs)
	if r.year != 0 && (r.year < 1 || r.year > 9999) {
		errs.addf(join(path, "year"), fmt.Sprintf("%d out of range 1-9999", r.year))
	}
}

// MarshalJSON writes the rule in its tagged JSON form.
func (r koreanAgeBetween) MarshalJSON() ([]byte, error) {
	b := []byte(`{"` + kindKoreanAgeBetween + `":{"min":`)
	b = strconv.AppendInt(b, int64(r.min), 10)
	b = append(b, `,"max":`...)
	b = strconv.AppendInt(b, int64(r.max), 10)
	if r.year != 0 {
		b = append(b, `,"year":`...)
		b = strconv.AppendInt(b, int64(r.year), 10)
	}
	return append(b, "}}"...), nil
}

// digitSet is a set of decimal digits as given, with its bit mask.
type digitSet struct {
	list []int
	mask uint16
}

func newDigitSet(ds []int) digitSet {
	s := digitSet{list: append([]int(nil), ds...)}
	for _, d := range ds {
		if d >= 0 && d <= 9 {
			s.mask |= 1 << d
		}
	}
	return s
}

func (s digitSet) has(d int) bool { return s.mask&(1<<d) != 0 }

func (s digitSet) check(path string, errs *errList) {
	if len(s.list) == 0 {
		errs.addf(path, "needs at least one digit")
		return
	}
	var seen uint16
	for i, d := range s.list {
		switch {
		case d < 0 || d > 9:
			errs.addf(path+"["+strconv.Itoa(i)+"]", fmt.Sprintf("%d is not a digit 0-9", d))
		case seen&(1<<d) != 0:
			errs.addf(path+"["+strconv.Itoa(i)+"]", fmt.Sprintf("digit %d repeated", d))
		default:
			seen |= 1 << d
		}
	}
}

func (s digitSet) appendJSON(b []byte) []byte {
	b = append(b, '[')
	for i, d := range s.list {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(d), 10)
	}
	return append(b, ']')
}

// BirthYearLastDigit matches people whose birth year ends in one of the
// digits: the rotation Korea used for face masks in 2020 (1 or 6 on
// Mondays, ...). JSON: {"birth_year_last_digit": [1, 6]}.
func BirthYearLastDigit(digits ...int) Rule { return &birthYearDigit{newDigitSet(digits)} }

type birthYearDigit struct{ s digitSet }

// Match implements Rule.
func (r *birthYearDigit) Match(in Input) bool { return r.s.has(in.Person.BirthDate.Year % 10) }

func (*birthYearDigit) dated() bool { return false }

func (r *birthYearDigit) check(path string, _ int, errs *errList) {
	r.s.check(join(path, kindBirthYearDigit), errs)
}

// MarshalJSON writes the rule in its tagged JSON form.
func (r *birthYearDigit) MarshalJSON() ([]byte, error) {
	return append(r.s.appendJSON([]byte(`{"`+kindBirthYearDigit+`":`)), '}'), nil
}

// BirthDayLastDigit matches people whose day of birth (1-31) ends in one of
// the digits. JSON: {"birth_day_last_digit": [3, 8]}.
func BirthDayLastDigit(digits ...int) Rule { return &birthDayDigit{newDigitSet(digits)} }

type birthDayDigit struct{ s digitSet }

// Match implements Rule.
func (r *birthDayDigit) Match(in Input) bool { return r.s.has(in.Person.BirthDate.Day % 10) }

func (*birthDayDigit) dated() bool { return false }

func (r *birthDayDigit) check(path string, _ int, errs *errList) {
	r.s.check(join(path, kindBirthDayDigit), errs)
}

// MarshalJSON writes the rule in its tagged JSON form.
func (r *birthDayDigit) MarshalJSON() ([]byte, error) {
	return append(r.s.appendJSON([]byte(`{"`+kindBirthDayDigit+`":`)), '}'), nil
}

// BirthDayLastDigitMatchesToday matches people whose day of birth ends in
// the same digit as the day of the rule's Input.Date, the date the window
// opens in the campaign's zone: Korea's August 2021 ten-day rotation, where
// the window opening on 9 August at 20:00 was for birth days 9, 19 and 29
// and stayed theirs until it closed at 18:00 on the 10th. A rotation cohort
// therefore has one window per turn. JSON:
// {"birth_day_last_digit_matches_today": true}.
func BirthDayLastDigitMatchesToday() Rule { return dayMatchesToday{} }

type dayMatchesToday struct{}

// Match implements Rule.
func (dayMatchesToday) Match(in Input) bool {
	return in.Person.BirthDate.Day%10 == in.Date.Day%10
}

func (dayMatchesToday) dated() bool { return true }

func (dayMatchesToday) check(string, int, *errList) {}

// MarshalJSON writes the rule in its tagged JSON form.
func (dayMatchesToday) MarshalJSON() ([]byte, error) {
	return []byte(`{"` + kindDayMatchesToday + `":true}`), nil
}

// Everyone matches every person: for a cohort open to all. JSON:
// {"everyone": true}.
func Everyone() Rule { return everyone{} }

type everyone struct{}

// Match implements Rule.
func (everyone) Match(Input) bool { return true }

func (everyone) dated() bool { return false }

func (everyone) check(string, int, *errList) {}

// MarshalJSON writes the rule in its tagged JSON form.
func (everyone) MarshalJSON() ([]byte, error) { return []byte(`{"` + kindEveryone + `":true}`), nil }

// All matches people every one of the rules matches. It needs at least one
// rule. JSON: {"all": [rule, ...]}.
func All(rules ...Rule) Rule { return &allRule{append([]Rule(nil), rules...)} }

// allRule and anyRule are pointers so that Rule values stay comparable
// with == (an interface holding a slice panics when compared).
type allRule struct{ rules []Rule }

// Match implements Rule.
func (r *allRule) Match(in Input) bool {
	for _, x := range r.rules {
		if !x.Match(in) {
			return false
		}
	}
	return true
}

func (r *allRule) dated() bool { return anyDated(r.rules) }

func (r *allRule) check(path string, depth int, errs *errList) {
	checkList(join(path, kindAll), depth, r.rules, errs)
}

// MarshalJSON writes the rule in its tagged JSON form.
func (r *allRule) MarshalJSON() ([]byte, error) { return marshalList(kindAll, r.rules) }

// Any matches people at least one of the rules matches. It needs at least
// one rule. JSON: {"any": [rule, ...]}.
func Any(rules ...Rule) Rule { return &anyRule{append([]Rule(nil), rules...)} }

type anyRule struct{ rules []Rule }

// Match implements Rule.
func (r *anyRule) Match(in Input) bool {
	for _, x := range r.rules {
		if x.Match(in) {
			return true
		}
	}
	return false
}

func (r *anyRule) dated() bool { return anyDated(r.rules) }

func (r *anyRule) check(path string, depth int, errs *errList) {
	checkList(join(path, kindAny), depth, r.rules, errs)
}

// MarshalJSON writes the rule in its tagged JSON form.
func (r *anyRule) MarshalJSON() ([]byte, error) { return marshalList(kindAny, r.rules) }

// Not matches people the rule does not match. JSON: {"not": rule}.
func Not(rule Rule) Rule { return notRule{rule} }

type notRule struct{ r Rule }

// Match implements Rule.
func (r notRule) Match(in Input) bool { return !r.r.Match(in) }

func (r notRule) dated() bool { return isDated(r.r) }

func (r notRule) check(path string, depth int, errs *errList) {
	checkRule(join(path, kindNot), depth+1, r.r, errs)
}

// MarshalJSON writes the rule in its tagged JSON form.
func (r notRule) MarshalJSON() ([]byte, error) {
	inner, err := marshalRule(r.r)
	if err != nil {
		return nil, err
	}
	b := []byte(`{"` + kindNot + `":`)
	return append(append(b, inner...), '}'), nil
}

func anyDated(rules []Rule) bool {
	for _, x := range rules {
		if isDated(x) {
			return true
		}
	}
	return false
}

// isDated reports whether r's answer may depend on Input.Date. Rules from
// outside this package are assumed to.
func isDated(r Rule) bool {
	if b, ok := r.(builtin); ok {
		return b.dated()
	}
	return true
}

func checkList(path string, depth int, rules []Rule, errs *errList) {
	if len(rules) == 0 {
		errs.addf(path, "needs at least one rule")
		return
	}
	for i, x := range rules {
		checkRule(path+"["+strconv.Itoa(i)+"]", depth+1, x, errs)
	}
}

// checkRule validates r, found at path and nested depth deep.
func checkRule(path string, depth int, r Rule, errs *errList) {
	switch {
	case r == nil:
		errs.addf(path, "missing rule")
	case depth > maxRuleDepth:
		errs.addf(path, fmt.Sprintf("rules nested more than %d deep", maxRuleDepth))
	default:
		if b, ok := r.(builtin); ok {
			b.check(path, depth, errs)
		}
	}
}

// errNoJSON reports a rule from outside this package in a campaign being
// encoded.
var errNoJSON = errors.New("rule has no JSON form (only this package's rules do)")

func marshalRule(r Rule) ([]byte, error) {
	b, ok := r.(builtin)
	if !ok {
		return nil, fmt.Errorf("%w: %T", errNoJSON, r)
	}
	return b.MarshalJSON()
}

func marshalList(kind string, rules []Rule) ([]byte, error) {
	b := []byte(`{"` + kind + `":[`)
	for i, x := range rules {
		if i > 0 {
			b = append(b, ',')
		}
		inner, err := marshalRule(x)
		if err != nil {
			return nil, err
		}
		b = append(b, inner...)
	}
	return append(b, "]}"...), nil
}
