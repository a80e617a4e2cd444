package eligibility

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/window"
)

// doc builds a campaign document around cohorts (a JSON array body), with
// extra top-level members before them.
func doc(extra, cohorts string) string {
	return `{"name":"t","zone":"Asia/Seoul",` + extra + `"cohorts":[` + cohorts + `]}`
}

// cohortJSON is a valid cohort with the given rule and windows.
func cohortJSON(name, rule, windows string) string {
	return `{"name":"` + name + `","rule":` + rule + `,"windows":[` + windows + `]}`
}

const (
	okRule = `{"born_between":{"from":"1962-01-01","to":"1966-12-31"}}`
	okWin  = `{"start":"2021-07-12T20:00","end":"2021-07-17T18:00"}`
)

func okCohort(name string) string { return cohortJSON(name, okRule, okWin) }

func ruleDoc(rule string) string { return doc("", cohortJSON("c", rule, okWin)) }

func TestParseMalformed(t *testing.T) {
	deepNot := strings.Repeat(`{"not":`, maxRuleDepth+2) + `{"everyone":true}` + strings.Repeat("}", maxRuleDepth+2)
	cases := []struct {
		name string
		doc  string
		path string // the first error's path
		is   error  // a cause errors.Is must find, beside ErrInvalidCampaign
		msg  string // a piece of the message
	}{
		// The document.
		{"empty", "", "", nil, "empty document"},
		{"spaces", "  \n ", "", nil, "empty document"},
		{"null", "null", "", nil, "want an object, got null"},
		{"array", "[]", "", nil, "want an object"},
		{"truncated", `{"name":"t","zone":`, "zone", nil, "unexpected end"},
		{"syntax", `{"name":"t",,}`, "", nil, "line 1, column 13"},
		{"syntax inside cohorts", doc("", okCohort("a")+`,{"name":"b" "rule":{}}`), "cohorts[1]", nil, "invalid JSON"},
		{"trailing object", doc("", okCohort("a")) + ` {}`, "", nil, "unexpected data after"},
		{"trailing garbage", doc("", okCohort("a")) + "\n x", "", nil, "line 2, column 2"},
		{"trailing comma-ish", doc("", okCohort("a")) + `]`, "", nil, ""},
		{"invalid UTF-8", "{\"name\":\"t\xff\"}", "", nil, "UTF-8"},
		{"unknown field", doc(`"nmae":"x",`, okCohort("a")), "nmae", nil, "unknown field"},
		{"hostile key", doc(`"a.b[0]":1,`, okCohort("a")), `["a.b[0]"]`, nil, "unknown field"},
		{"duplicate key", `{"name":"t","zone":"UTC","zone":"Asia/Seoul","cohorts":[]}`, "zone", nil, "duplicate key"},
		{"too deep", `{"name":` + strings.Repeat("[", 150) + strings.Repeat("]", 150) + `}`, "name" + strings.Repeat("[0]", maxJSONDepth-1), nil, "nested"},
		{"too large", `{"name":"` + strings.Repeat("x", MaxFileSize) + `"}`, "", nil, "larger than"},
		// Campaign members.
		{"missing name", `{"zone":"UTC","cohorts":[` + okCohort("a") + `]}`, "name", nil, "missing"},
		{"name not a string", `{"name":7,"zone":"UTC","cohorts":[` + okCohort("a") + `]}`, "name", nil, "want a string, got a number"},
		{"empty name", `{"name":"","zone":"UTC","cohorts":[` + okCohort("a") + `]}`, "name", nil, "missing"},
		{"name with control", `{"name":"a\u0007","zone":"UTC","cohorts":[` + okCohort("a") + `]}`, "name", nil, "control character"},
		{"description null", doc(`"description":null,`, okCohort("a")), "description", nil, "got null"},
		{"missing zone", `{"name":"t","cohorts":[` + okCohort("a") + `]}`, "zone", nil, "missing"},
		{"unknown zone", `{"name":"t","zone":"Mars/Olympus","cohorts":[` + okCohort("a") + `]}`, "zone", window.ErrUnknownZone, "Mars/Olympus"},
		{"empty zone", `{"name":"t","zone":"","cohorts":[` + okCohort("a") + `]}`, "zone", window.ErrUnknownZone, ""},
		{"Local zone", `{"name":"t","zone":"Local","cohorts":[` + okCohort("a") + `]}`, "zone", window.ErrUnknownZone, ""},
		{"bad disambiguation", doc(`"disambiguation":"sometimes",`, okCohort("a")), "disambiguation", nil, "sometimes"},
		{"missing cohorts", `{"name":"t","zone":"UTC"}`, "cohorts", nil, "missing"},
		{"no cohorts", `{"name":"t","zone":"UTC","cohorts":[]}`, "cohorts", nil, "at least one"},
		{"cohorts object", `{"name":"t","zone":"UTC","cohorts":{}}`, "cohorts", nil, "want an array"},
		// Cohorts.
		{"cohort not object", doc("", okCohort("a")+`,3`), "cohorts[1]", nil, "want an object, got a number"},
		{"cohort unknown field", doc("", `{"name":"a","rule":`+okRule+`,"window":[]}`), "cohorts[0].window", nil, "unknown field"},
		{"cohort missing name", doc("", `{"rule":`+okRule+`,"windows":[`+okWin+`]}`), "cohorts[0].name", nil, "missing"},
		{"duplicate cohort", doc("", okCohort("a")+","+okCohort("b")+","+okCohort("a")), "cohorts[2].name", nil, "repeats the name of cohorts[0]"},
		{"missing rule", doc("", `{"name":"a","windows":[`+okWin+`]}`), "cohorts[0].rule", nil, "missing"},
		{"missing windows", doc("", `{"name":"a","rule":`+okRule+`}`), "cohorts[0].windows", nil, "missing"},
		{"no windows", doc("", cohortJSON("a", okRule, "")), "cohorts[0].windows", nil, "at least one"},
		// Windows.
		{"end before start", doc("", okCohort("a")+","+okCohort("b")+","+cohortJSON("c", okRule, `{"start":"2021-07-17T18:00","end":"2021-07-12T20:00"}`)),
			"cohorts[2].windows[0].end", nil, "before start"},
		{"empty window", doc("", cohortJSON("a", okRule, `{"start":"2021-07-12T20:00","end":"2021-07-12T20:00"}`)), "cohorts[0].windows[0].end", nil, "empty"},
		{"overlap", doc("", cohortJSON("a", okRule, okWin+`,{"start":"2021-07-17T17:59","end":"2021-07-18T00:00"}`)), "cohorts[0].windows[1]", nil, "overlaps windows[0]"},
		{"overlap out of order", doc("", cohortJSON("a", okRule, `{"start":"2021-07-17T17:59","end":"2021-07-18T00:00"},`+okWin)), "cohorts[0].windows[0]", nil, "overlaps windows[1]"},
		{"window missing end", doc("", cohortJSON("a", okRule, `{"start":"2021-07-12T20:00"}`)), "cohorts[0].windows[0].end", nil, "missing"},
		{"window unknown field", doc("", cohortJSON("a", okRule, `{"start":"2021-07-12T20:00","stop":"2021-07-13T20:00"}`)), "cohorts[0].windows[0].stop", nil, "unknown field"},
		{"window with offset", doc("", cohortJSON("a", okRule, `{"start":"2021-07-12T20:00+09:00","end":"2021-07-17T18:00"}`)), "cohorts[0].windows[0].start", window.ErrInvalidCivil, "no offset"},
		{"window RFC 3339", doc("", cohortJSON("a", okRule, `{"start":"2021-07-12T20:00:00Z","end":"2021-07-17T18:00"}`)), "cohorts[0].windows[0].start", window.ErrInvalidCivil, ""},
		{"window impossible day", doc("", cohortJSON("a", okRule, `{"start":"2021-02-29T20:00","end":"2021-07-17T18:00"}`)), "cohorts[0].windows[0].start", window.ErrInvalidCivil, ""},
		{"window 24:00", doc("", cohortJSON("a", okRule, `{"start":"2021-07-12T20:00","end":"2021-07-17T24:00"}`)), "cohorts[0].windows[0].end", window.ErrInvalidCivil, ""},
		{"window not a string", doc("", cohortJSON("a", okRule, `{"start":20210712,"end":"2021-07-17T18:00"}`)), "cohorts[0].windows[0].start", nil, "want a string"},
		{"window in a gap", `{"name":"t","zone":"America/New_York","cohorts":[` + cohortJSON("a", okRule, `{"start":"2021-03-14T02:30","end":"2021-03-15T00:00"}`) + `]}`,
			"cohorts[0].windows[0].start", window.ErrNonexistentTime, ""},
		{"window in an overlap", `{"name":"t","zone":"America/New_York","cohorts":[` + cohortJSON("a", okRule, `{"start":"2021-11-06T00:00","end":"2021-11-07T01:30"}`) + `]}`,
			"cohorts[0].windows[0].end", window.ErrAmbiguousTime, ""},
		// Rules.
		{"rule not object", ruleDoc(`"born_between"`), "cohorts[0].rule", nil, "want a rule object"},
		{"empty rule", ruleDoc(`{}`), "cohorts[0].rule", nil, "empty rule"},
		{"two kinds", ruleDoc(`{"everyone":true,"born_between":{"from":"1962-01-01"}}`), "cohorts[0].rule", nil, "combine rules with all or any"},
		{"unknown kind", ruleDoc(`{"born_in":1962}`), "cohorts[0].rule.born_in", nil, "unknown rule"},
		{"born_between bad date", ruleDoc(`{"born_between":{"from":"1962-02-30","to":"1966-12-31"}}`), "cohorts[0].rule.born_between.from", ErrInvalidDate, "February 1962 has no day 30"},
		{"born_between reversed", ruleDoc(`{"born_between":{"from":"1966-12-31","to":"1962-01-01"}}`), "cohorts[0].rule.born_between.to", nil, "before from"},
		{"born_between empty", ruleDoc(`{"born_between":{}}`), "cohorts[0].rule.born_between", nil, "needs from, to or both"},
		{"born_between typo", ruleDoc(`{"born_between":{"form":"1962-01-01"}}`), "cohorts[0].rule.born_between.form", nil, "unknown field"},
		{"age negative", ruleDoc(`{"age_between":{"min":-1,"max":5}}`), "cohorts[0].rule.age_between.min", nil, "from 0 to 200"},
		{"age fraction", ruleDoc(`{"age_between":{"min":55.5,"max":59}}`), "cohorts[0].rule.age_between.min", nil, "want an integer"},
		{"age exponent", ruleDoc(`{"age_between":{"min":5e1,"max":59}}`), "cohorts[0].rule.age_between.min", nil, "want an integer"},
		{"age string", ruleDoc(`{"age_between":{"min":"55","max":59}}`), "cohorts[0].rule.age_between.min", nil, "got a string"},
		{"age missing max", ruleDoc(`{"age_between":{"min":55}}`), "cohorts[0].rule.age_between.max", nil, "missing"},
		{"age reversed", ruleDoc(`{"age_between":{"min":59,"max":55}}`), "cohorts[0].rule.age_between.max", nil, "less than min"},
		{"age huge", ruleDoc(`{"age_between":{"min":1,"max":99999999999999999999}}`), "cohorts[0].rule.age_between.max", nil, ""},
		{"age bad on", ruleDoc(`{"age_between":{"min":1,"max":5,"on":"2021-7-12"}}`), "cohorts[0].rule.age_between.on", ErrInvalidDate, ""},
		{"korean year 0", ruleDoc(`{"korean_age_between":{"min":1,"max":5,"year":0}}`), "cohorts[0].rule.korean_age_between.year", nil, ""},
		{"digits empty", ruleDoc(`{"birth_year_last_digit":[]}`), "cohorts[0].rule.birth_year_last_digit", nil, "at least one digit"},
		{"digit 10", ruleDoc(`{"birth_year_last_digit":[1,10]}`), "cohorts[0].rule.birth_year_last_digit[1]", nil, "from 0 to 9"},
		{"digit repeated", ruleDoc(`{"birth_day_last_digit":[3,8,3]}`), "cohorts[0].rule.birth_day_last_digit[2]", nil, "repeated"},
		{"digits not array", ruleDoc(`{"birth_day_last_digit":3}`), "cohorts[0].rule.birth_day_last_digit", nil, "want an array"},
		{"matches today false", ruleDoc(`{"birth_day_last_digit_matches_today":false}`), "cohorts[0].rule.birth_day_last_digit_matches_today", nil, "want true"},
		{"everyone 1", ruleDoc(`{"everyone":1}`), "cohorts[0].rule.everyone", nil, "want true"},
		{"all empty", ruleDoc(`{"all":[]}`), "cohorts[0].rule.all", nil, "at least one rule"},
		{"all not array", ruleDoc(`{"all":{"everyone":true}}`), "cohorts[0].rule.all", nil, "want an array"},
		{"all bad member", ruleDoc(`{"all":[{"everyone":true},{"bron":1}]}`), "cohorts[0].rule.all[1].bron", nil, "unknown rule"},
		{"any null member", ruleDoc(`{"any":[null]}`), "cohorts[0].rule.any[0]", nil, "got null"},
		{"not bad inside", ruleDoc(`{"not":{"age_between":{"min":3,"max":2}}}`), "cohorts[0].rule.not.age_between.max", nil, "less than min"},
		{"not array", ruleDoc(`{"not":[]}`), "cohorts[0].rule.not", nil, "want a rule object"},
		{"rules too deep", ruleDoc(deepNot), "cohorts[0].rule" + strings.Repeat(".not", maxRuleDepth+1), nil, "nested more than"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Parse([]byte(c.doc))
			if got != nil {
				t.Fatal("a campaign was returned with an error")
			}
			if err == nil {
				t.Fatalf("accepted:\n%s", c.doc)
			}
			if !errors.Is(err, ErrInvalidCampaign) {
				t.Fatalf("not ErrInvalidCampaign: %v", err)
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Fatalf("not %v: %v", c.is, err)
			}
			var ce *CampaignError
			if !errors.As(err, &ce) {
				t.Fatalf("no *CampaignError: %v", err)
			}
			if ce.Path != c.path {
				t.Fatalf("path %q, want %q: %v", ce.Path, c.path, err)
			}
			if c.path != "" && !strings.Contains(err.Error(), c.path+": ") {
				t.Fatalf("message does not name the path %q: %v", c.path, err)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("message lacks %q: %v", c.msg, err)
			}
			// Load and UnmarshalJSON agree.
			if got, err2 := Load(strings.NewReader(c.doc)); got != nil || err2 == nil || (len(c.doc) <= MaxFileSize && err2.Error() != err.Error()) {
				t.Fatalf("Load: %v, %v", got, err2)
			}
			var into Campaign
			if json.Valid([]byte(c.doc)) {
				if err := json.Unmarshal([]byte(c.doc), &into); err == nil {
					t.Fatal("UnmarshalJSON accepted it")
				}
				if into.cohorts != nil || into.zone != nil {
					t.Fatal("UnmarshalJSON half-filled the campaign")
				}
			}
		})
	}
}

// TestParseReportsEveryProblem: several problems come back together, each
// with its path, first first.
func TestParseReportsEveryProblem(t *testing.T) {
	d := doc(`"extra":1,`, cohortJSON("a", `{"age_between":{"min":9,"max":2}}`, okWin)+","+
		cohortJSON("b", okRule, `{"start":"2021-07-17T18:00","end":"2021-07-12T20:00"}`)+","+okCohort("a"))
	_, err := Parse([]byte(d))
	if err == nil {
		t.Fatal("accepted")
	}
	// The unknown field is a decoding problem; the rest are checked only
	// once the document decodes, so fix it and look again.
	if !strings.Contains(err.Error(), "extra: unknown field") {
		t.Fatal(err)
	}
	d = strings.Replace(d, `"extra":1,`, "", 1)
	_, err = Parse([]byte(d))
	var paths []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		paths = append(paths, e.(*CampaignError).Path)
	}
	want := []string{"cohorts[0].rule.age_between.max", "cohorts[1].windows[0].end", "cohorts[2].name"}
	if strings.Join(paths, " ") != strings.Join(want, " ") {
		t.Fatalf("paths %q, want %q\n%v", paths, want, err)
	}
}

func TestParseDisambiguation(t *testing.T) {
	ny := window.MustLoadZone("America/New_York")
	for _, c := range []struct {
		dis       string
		wantStart time.Time
	}{
		// 2021-11-07T01:30 happens twice in New York.
		{"earlier", time.Date(2021, 11, 7, 5, 30, 0, 0, time.UTC)},
		{"compatible", time.Date(2021, 11, 7, 5, 30, 0, 0, time.UTC)},
		{"later", time.Date(2021, 11, 7, 6, 30, 0, 0, time.UTC)},
	} {
		d := `{"name":"t","zone":"America/New_York","disambiguation":"` + c.dis + `","cohorts":[` +
			cohortJSON("a", okRule, `{"start":"2021-11-07T01:30","end":"2021-11-08T00:00"}`) + `]}`
		camp, err := Parse([]byte(d))
		if err != nil {
			t.Fatalf("%s: %v", c.dis, err)
		}
		got := camp.Config().Cohorts[0].Windows[0].Start
		if !got.Equal(c.wantStart) || got.Location() != camp.Zone() || camp.Zone().String() != ny.String() {
			t.Fatalf("%s: start %s, want %s", c.dis, got, c.wantStart)
		}
		checkRoundTrip(t, camp)
	}
}

// checkRoundTrip re-encodes c, parses it back and compares decisions at
// every window edge for a few people, and that encoding is stable.
func checkRoundTrip(t *testing.T, c *Campaign) {
	t.Helper()
	enc, err := json.Marshal(c)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	back, err := Parse(enc)
	if err != nil {
		t.Fatalf("re-parse: %v\n%s", err, enc)
	}
	enc2, err := json.Marshal(back)
	if err != nil || !bytes.Equal(enc, enc2) {
		t.Fatalf("encoding not stable:\n%s\n%s", enc, enc2)
	}
	if msg := sameDecisions(c, back); msg != "" {
		t.Fatal(msg)
	}
}

// sameDecisions compares two campaigns' decisions for a few people at
// every window edge (and a nanosecond before). It returns "" if they agree.
func sameDecisions(a, b *Campaign) string {
	people := []Person{person("1962-01-01"), person("1966-12-31"), person("1967-03-04"), person("1969-08-19"),
		person("1985-08-10"), person("2000-02-29"), person("2003-12-31"), person("1940-05-05")}
	// At most 64 instants, so a fuzzed campaign with thousands of windows
	// stays quick to check.
	instants := []time.Time{time.Date(2021, 7, 20, 2, 30, 0, 0, time.UTC)}
	for _, co := range a.cohorts {
		for i, w := range co.wins {
			if i >= 8 || len(instants) >= 64 {
				break
			}
			instants = append(instants, w.Start.Add(-1), w.Start, w.End.Add(-1), w.End)
		}
	}
	for _, p := range people {
		for _, at := range instants {
			if da, db := a.Decide(at, p), b.Decide(at, p); !sameDecision(da, db) {
				return "born " + p.BirthDate.String() + " at " + at.Format(time.RFC3339Nano) + ": " + da.String() + " became " + db.String()
			}
		}
	}
	return ""
}

func TestRoundTripFixtures(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) < 2 {
		t.Fatalf("fixtures: %v %v", files, err)
	}
	for _, f := range files {
		c, err := LoadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		checkRoundTrip(t, c)
		if built, err := New(c.Config()); err != nil {
			t.Fatalf("%s: New(Config()) = %v", f, err)
		} else if msg := sameDecisions(c, built); msg != "" {
			t.Fatalf("%s: %s", f, msg)
		}
	}
	c, err := New(july2021Config())
	if err != nil {
		t.Fatal(err)
	}
	checkRoundTrip(t, c)
}

// TestMarshalUnwritableInstant: an instant the campaign's disambiguation
// would not read back is an encoding error naming the window edge, not a
// silently different file.
func TestMarshalUnwritableInstant(t *testing.T) {
	secondPass := time.Date(2021, 11, 7, 6, 30, 0, 0, time.UTC) // 01:30 EST, the second 01:30 in New York
	c := mustNew(t, Config{Name: "x", Zone: "America/New_York", Cohorts: []Cohort{{Name: "a", Rule: Everyone(),
		Windows: []window.Window{{Start: secondPass, End: secondPass.Add(time.Hour)}}}}})
	_, err := json.Marshal(c)
	var ce *CampaignError
	if !errors.As(err, &ce) || ce.Path != "cohorts[0].windows[0].start" {
		t.Fatalf("got %v", err)
	}
	cfg := c.Config()
	cfg.Disambiguation = window.Later
	checkRoundTrip(t, mustNew(t, cfg))
}

func TestMarshalSubMinute(t *testing.T) {
	s := time.Date(2021, 7, 12, 20, 0, 30, 500_000_000, seoul)
	c := mustNew(t, Config{Name: "x", Zone: "Asia/Seoul", Cohorts: []Cohort{{Name: "a", Rule: Everyone(),
		Windows: []window.Window{{Start: s, End: s.Add(time.Hour)}}}}})
	enc, err := json.Marshal(c)
	if err != nil || !bytes.Contains(enc, []byte(`"start":"2021-07-12T20:00:30.5"`)) {
		t.Fatalf("%s %v", enc, err)
	}
	checkRoundTrip(t, c)
}

func TestNewRefuses(t *testing.T) {
	good := july2021Config()
	cases := []struct {
		name string
		edit func(*Config)
		path string
	}{
		{"no name", func(c *Config) { c.Name = "" }, "name"},
		{"long name", func(c *Config) { c.Name = strings.Repeat("x", maxNameLen+1) }, "name"},
		{"no zone", func(c *Config) { c.Zone = "" }, "zone"},
		{"Local", func(c *Config) { c.Zone = "Local" }, "zone"},
		{"bad disambiguation", func(c *Config) { c.Disambiguation = 9 }, "disambiguation"},
		{"no cohorts", func(c *Config) { c.Cohorts = nil }, "cohorts"},
		{"zero window", func(c *Config) { c.Cohorts[1].Windows = []window.Window{{}} }, "cohorts[1].windows[0].start"},
		{"duplicate", func(c *Config) { c.Cohorts[3].Name = "55-59" }, "cohorts[3].name"},
		{"description newline", func(c *Config) { c.Cohorts[0].Description = "a\nb" }, "cohorts[0].description"},
	}
	for _, tc := range cases {
		cfg := cloneConfig(good)
		tc.edit(&cfg)
		c, err := New(cfg)
		var ce *CampaignError
		if c != nil || !errors.As(err, &ce) || ce.Path != tc.path {
			t.Errorf("%s: %v, %v; want an error at %s", tc.name, c, err, tc.path)
		}
	}
}

// TestNewCopies: changing the Config after New, or the one Config
// returns, changes nothing in the campaign.
func TestNewCopies(t *testing.T) {
	cfg := july2021Config()
	c := mustNew(t, cfg)
	before := c.Decide(kst(7, 20, 2, 30), person("1967-03-04"))
	cfg.Cohorts[1].Windows[0] = window.Window{Start: kst(8, 1, 0, 0), End: kst(8, 2, 0, 0)}
	cfg.Cohorts[1].Name = "changed"
	got := c.Config()
	got.Cohorts[1].Windows[0] = window.Window{}
	if after := c.Decide(kst(7, 20, 2, 30), person("1967-03-04")); after != before {
		t.Fatalf("campaign changed: %s -> %s", before, after)
	}
	if c.Config().Cohorts[1].Name != "53-54" || c.Name() != "July 2021" {
		t.Fatal("config changed")
	}
}

func TestLoadFileErrors(t *testing.T) {
	if _, err := LoadFile("testdata/does-not-exist.json"); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(p, []byte(`{"name":"x"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadFile(p)
	if !errors.Is(err, ErrInvalidCampaign) || !strings.HasPrefix(err.Error(), p+": ") {
		t.Fatalf("got %v", err)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestLoadReadError(t *testing.T) {
	if c, err := Load(failingReader{}); c != nil || err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("%v %v", c, err)
	}
}

// sameDecision compares decisions from different campaigns: the same
// answer, the same instants, shown in zones of the same name (each campaign
// loads its own *time.Location, so == would compare pointers).
func sameDecision(a, b Decision) bool {
	sameTime := func(x, y time.Time) bool { return x.Equal(y) && x.Location().String() == y.Location().String() }
	return a.Status == b.Status && a.Reason == b.Reason && a.Cohort == b.Cohort &&
		sameTime(a.OpensAt, b.OpensAt) && sameTime(a.ClosesAt, b.ClosesAt) && sameTime(a.At, b.At)
}
