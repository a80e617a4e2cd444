package eligibility

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/window"
)

// Nothing in this package's tests calls t.Parallel: TestTimelineUnderHostZones
// changes time.Local, which a parallel test could read.

var seoul = window.MustLoadZone("Asia/Seoul")

// kst is a wall-clock time in Seoul, July or August 2021.
func kst(month time.Month, day, hour, min int) time.Time {
	return time.Date(2021, month, day, hour, min, 0, 0, seoul)
}

// The golden timeline's boundaries (DESIGN.md, "eligibility").
var (
	open5559  = kst(7, 12, 20, 0)
	close5559 = kst(7, 17, 18, 0)
	open5354  = kst(7, 19, 20, 0)
	close5354 = kst(7, 20, 18, 0)
	open5052  = kst(7, 20, 20, 0)
	close5052 = kst(7, 21, 18, 0)
	open5054  = kst(7, 21, 20, 0)
	close5054 = kst(7, 24, 18, 0)
)

// boundaryInstants are every boundary and the nanosecond before it, in time
// order: T-1ns, T for T = each window's start and end.
func boundaryInstants() []time.Time {
	var out []time.Time
	for _, t := range []time.Time{open5559, close5559, open5354, close5354, open5052, close5052, open5054, close5054} {
		out = append(out, t.Add(-time.Nanosecond), t)
	}
	return out
}

// want is an expected decision (At is checked separately).
type want struct {
	status        Status
	reason        Reason
	cohort        string
	opens, closes time.Time
}

func (w want) String() string {
	return Decision{Status: w.status, Reason: w.reason, Cohort: w.cohort, OpensAt: w.opens, ClosesAt: w.closes}.String()
}

func notYet(cohort string, o, c time.Time) want {
	return want{StatusNotYet, ReasonWindowAhead, cohort, o, c}
}
func open(cohort string, o, c time.Time) want {
	return want{StatusOpen, ReasonWindowOpen, cohort, o, c}
}
func closed(cohort string, o, c time.Time) want {
	return want{StatusClosed, ReasonWindowsOver, cohort, o, c}
}

var notEligible = want{status: StatusNotEligible, reason: ReasonNoMatchingCohort}

type timelineCase struct {
	name  string
	birth []string // people who must all get the same answer
	at    time.Time
	want  want
}

// timelineTable is the July 2021 timeline: for a person born in each cohort
// (both edges of its birth range) and at every boundary instant and the
// nanosecond before it, the exact decision.
func timelineTable() []timelineCase {
	var (
		b5559   = []string{"1962-01-01", "1966-12-31"}
		b5354   = []string{"1967-01-01", "1968-12-31"}
		b5052   = []string{"1969-01-01", "1971-12-31"}
		outside = []string{"1961-12-31", "1972-01-01", "2000-02-29"}
	)
	var cases []timelineCase
	add := func(name string, birth []string, at time.Time, w want) {
		cases = append(cases, timelineCase{name, birth, at, w})
	}
	// Born 1962-1966: one window, 12 July 20:00 to 17 July 18:00.
	w5559 := []want{
		notYet("55-59", open5559, close5559), // 12 Jul 19:59:59.999999999
		open("55-59", open5559, close5559),   // 12 Jul 20:00
		open("55-59", open5559, close5559),   // 17 Jul 17:59:59.999999999
		closed("55-59", open5559, close5559), // 17 Jul 18:00
	}
	// Born 1967-1968: 53-54, then the 50-54 second chance.
	w5354 := []want{
		notYet("53-54", open5354, close5354), // 12 Jul 20:00 - 1ns: the earliest to open wins
		notYet("53-54", open5354, close5354),
		notYet("53-54", open5354, close5354),
		notYet("53-54", open5354, close5354),
		notYet("53-54", open5354, close5354), // 19 Jul 20:00 - 1ns
		open("53-54", open5354, close5354),   // 19 Jul 20:00
		open("53-54", open5354, close5354),   // 20 Jul 18:00 - 1ns
		notYet("50-54", open5054, close5054), // 20 Jul 18:00: 53-54 closed, 50-54 ahead
		notYet("50-54", open5054, close5054),
		notYet("50-54", open5054, close5054),
		notYet("50-54", open5054, close5054),
		notYet("50-54", open5054, close5054),
		notYet("50-54", open5054, close5054), // 21 Jul 20:00 - 1ns
		open("50-54", open5054, close5054),   // 21 Jul 20:00
		open("50-54", open5054, close5054),   // 24 Jul 18:00 - 1ns
		closed("50-54", open5054, close5054), // 24 Jul 18:00: the one closed last
	}
	// Born 1969-1971: 50-52, then 50-54.
	w5052 := []want{
		notYet("50-52", open5052, close5052),
		notYet("50-52", open5052, close5052),
		notYet("50-52", open5052, close5052),
		notYet("50-52", open5052, close5052),
		notYet("50-52", open5052, close5052),
		notYet("50-52", open5052, close5052),
		notYet("50-52", open5052, close5052),
		notYet("50-52", open5052, close5052),
		notYet("50-52", open5052, close5052), // 20 Jul 20:00 - 1ns
		open("50-52", open5052, close5052),   // 20 Jul 20:00
		open("50-52", open5052, close5052),   // 21 Jul 18:00 - 1ns
		notYet("50-54", open5054, close5054), // 21 Jul 18:00
		notYet("50-54", open5054, close5054), // 21 Jul 20:00 - 1ns
		open("50-54", open5054, close5054),
		open("50-54", open5054, close5054),
		closed("50-54", open5054, close5054), // closed last: 50-54, not 50-52
	}
	for i, at := range boundaryInstants() {
		label := at.Format("Jan 2 15:04:05.999999999")
		w := w5559[min(i, 3)]
		add("55-59 at "+label, b5559, at, w)
		add("53-54 at "+label, b5354, at, w5354[i])
		add("50-52 at "+label, b5052, at, w5052[i])
		add("outside at "+label, outside, at, notEligible)
	}
	// The night of 20 July: the bug that started this project.
	add("53-54 at 20 Jul 02:30", b5354, kst(7, 20, 2, 30), open("53-54", open5354, close5354))
	add("53-54 at 20 Jul 00:00", b5354, kst(7, 20, 0, 0), open("53-54", open5354, close5354))
	add("50-52 at 20 Jul 02:30", b5052, kst(7, 20, 2, 30), notYet("50-52", open5052, close5052))
	add("55-59 at 20 Jul 02:30", b5559, kst(7, 20, 2, 30), closed("55-59", open5559, close5559))
	// Far before and after.
	add("53-54 on 1 Jan", b5354, time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC), notYet("53-54", open5354, close5354))
	add("50-52 in 2022", b5052, time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC), closed("50-54", open5054, close5054))
	return cases
}

// checkTimeline runs the table against c, asking with the instant in
// several locations: the answer must not change, and must be shown in
// Seoul.
func checkTimeline(t *testing.T, c *Campaign) {
	t.Helper()
	la := window.MustLoadZone("America/Los_Angeles")
	for _, tc := range timelineTable() {
		for _, b := range tc.birth {
			p := Person{BirthDate: MustParseDate(b)}
			for _, at := range []time.Time{tc.at, tc.at.UTC(), tc.at.In(la), tc.at.Local()} {
				d := c.Decide(at, p)
				if d.Status != tc.want.status || d.Reason != tc.want.reason || d.Cohort != tc.want.cohort ||
					!d.OpensAt.Equal(tc.want.opens) || !d.ClosesAt.Equal(tc.want.closes) || !d.At.Equal(tc.at) {
					t.Fatalf("%s, born %s, asked at %s:\n got %s\nwant %s", tc.name, b, at.Format(time.RFC3339Nano), d, tc.want)
				}
				for _, tm := range []time.Time{d.At, d.OpensAt, d.ClosesAt} {
					if !tm.IsZero() && tm.Location().String() != "Asia/Seoul" {
						t.Fatalf("%s: time %s shown in %s, want Asia/Seoul", tc.name, tm, tm.Location())
					}
				}
			}
		}
	}
}

func TestTimelineJuly2021(t *testing.T) {
	file, err := LoadFile("testdata/korea-2021-07.json")
	if err != nil {
		t.Fatal(err)
	}
	built, err := New(july2021Config())
	if err != nil {
		t.Fatal(err)
	}
	enc, err := json.Marshal(file)
	if err != nil {
		t.Fatal(err)
	}
	reparsed, err := Parse(enc)
	if err != nil {
		t.Fatalf("re-encoded campaign does not parse: %v\n%s", err, enc)
	}
	for name, c := range map[string]*Campaign{"file": file, "New": built, "re-encoded": reparsed} {
		t.Run(name, func(t *testing.T) { checkTimeline(t, c) })
	}
}

// TestTheNightOf20July is the headline: born 1967, asking at 02:30 KST on
// 20 July 2021, gets "open until 20 July 18:00 KST", not "book after the
// 21st, 20:00".
func TestTheNightOf20July(t *testing.T) {
	c, err := LoadFile("testdata/korea-2021-07.json")
	if err != nil {
		t.Fatal(err)
	}
	d := c.Decide(time.Date(2021, 7, 19, 17, 30, 0, 0, time.UTC), Person{BirthDate: MustParseDate("1967-03-04")})
	if got, want := d.String(), `open until 2021-07-20T18:00:00+09:00 (cohort "53-54", window_open)`; got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if got := d.ClosesAt.Format("2 January 15:04 MST"); got != "20 July 18:00 KST" {
		t.Fatalf("closes %s", got)
	}
}

// TestTimelineUnderHostZones reruns the table with time.Local set to zones
// east and west, with odd offsets, loading the campaign again under each:
// nothing may read the host's zone. (make test also reruns the package
// under TZ=UTC, Asia/Seoul and America/Los_Angeles.)
func TestTimelineUnderHostZones(t *testing.T) {
	saved := time.Local
	t.Cleanup(func() { time.Local = saved })
	for _, name := range []string{"UTC", "Asia/Seoul", "America/Los_Angeles", "Pacific/Chatham", "America/St_Johns", "Pacific/Kiritimati", "Etc/GMT+12"} {
		time.Local = window.MustLoadZone(name)
		t.Run(name, func(t *testing.T) {
			c, err := LoadFile("testdata/korea-2021-07.json")
			if err != nil {
				t.Fatal(err)
			}
			checkTimeline(t, c)
		})
	}
}

func july2021Config() Config {
	win := func(s, e time.Time) []window.Window { return []window.Window{{Start: s, End: e}} }
	between := func(from, to string) Rule { return BornBetween(MustParseDate(from), MustParseDate(to)) }
	return Config{
		Name: "July 2021",
		Zone: "Asia/Seoul",
		Cohorts: []Cohort{
			{Name: "55-59", Rule: KoreanAgeBetween(55, 59, 2021), Windows: win(open5559, close5559)},
			{Name: "53-54", Rule: between("1967-01-01", "1968-12-31"), Windows: win(open5354, close5354)},
			{Name: "50-52", Rule: between("1969-01-01", "1971-12-31"), Windows: win(open5052, close5052)},
			// UTC instants on purpose: New shows them in the zone.
			{Name: "50-54", Rule: All(KoreanAgeBetween(50, 54, 0), Not(between("1972-01-01", "9999-12-31"))), Windows: win(open5054.UTC(), close5054.UTC())},
		},
	}
}
