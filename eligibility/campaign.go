package eligibility

import (
	"fmt"
	"slices"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-go/gatehouse/window"
)

// Config describes a campaign: what New checks and compiles, and what the
// JSON file holds. Its zero value is not a valid campaign.
type Config struct {
	// Name is the campaign's name, for people. Required.
	Name string
	// Description is free text for people; optional.
	Description string
	// Zone is the campaign's IANA zone name, such as "Asia/Seoul".
	// Required; "", "Local" and unknown names are refused (see
	// window.LoadZone). Decisions show their times in this zone, and rules
	// read dates in it.
	Zone string
	// Disambiguation says how the civil times of the JSON form are
	// resolved where the zone skips or repeats them (see
	// window.Disambiguation). The zero value, window.Reject, refuses such
	// times. Windows given to New as instants are not affected, but must be
	// writable back as civil times under it for the campaign to encode.
	Disambiguation window.Disambiguation
	// Cohorts, at least one, with distinct names. Where several match a
	// person equally, the earlier in this list decides.
	Cohorts []Cohort
}

// Cohort is a group of people, given by a rule, and the windows in which
// they may book.
type Cohort struct {
	// Name identifies the cohort in decisions, such as "55-59". Required,
	// unique within the campaign.
	Name string
	// Description is free text for people; optional.
	Description string
	// Rule says who belongs. Required; use Everyone for a cohort open to
	// all.
	Rule Rule
	// Windows are the cohort's booking windows, each half-open [Start,
	// End): at least one, none empty, none overlapping another of the same
	// cohort. Order does not matter. The rule is asked once per window, on
	// the date the window opens in the campaign's zone.
	Windows []window.Window
}

// Campaign is a validated campaign, ready to decide. It is immutable and
// safe for concurrent use. Build one with New, Parse, Load or LoadFile.
type Campaign struct {
	cfg     Config
	zone    *time.Location
	cohorts []cohort
}

// cohort is a Cohort compiled for Decide. Its rule is split in two: the
// guard, rules that do not read the date and must all match (asked once per
// decision), and perWindow, the rest (asked per window on its opening date;
// nil if nothing remains). guard AND perWindow is the rule.
type cohort struct {
	name      string
	guard     []Rule
	perWindow Rule
	wins      []window.Window // sorted by Start, shown in the zone
	dates     []Date          // dates[i]: the civil date wins[i] opens on, in the zone
}

// split divides r into date-free conjuncts and the date-dependent rest.
func split(r Rule) (guard []Rule, perWindow Rule) {
	if !isDated(r) {
		return []Rule{r}, nil
	}
	a, ok := r.(*allRule)
	if !ok {
		return nil, r
	}
	var rest []Rule
	var walk func([]Rule)
	walk = func(rules []Rule) {
		for _, x := range rules {
			switch {
			case !isDated(x):
				guard = append(guard, x)
			case isAll(x):
				walk(x.(*allRule).rules)
			default:
				rest = append(rest, x)
			}
		}
	}
	walk(a.rules)
	if len(rest) == 1 {
		return guard, rest[0]
	}
	return guard, &allRule{rest}
}

func isAll(r Rule) bool { _, ok := r.(*allRule); return ok }

// maxNameLen bounds campaign and cohort names, in bytes.
const maxNameLen = 200

// New checks cfg and returns the campaign it describes. Problems are
// reported as *CampaignError values naming the JSON path of the field
// (such as "cohorts[2].windows[0].end"), several joined with errors.Join;
// errors.Is(err, ErrInvalidCampaign) holds. New keeps its own copy of cfg.
func New(cfg Config) (*Campaign, error) {
	var errs errList
	c, err := compile(cfg, &errs)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func compile(cfg Config, errs *errList) (*Campaign, error) {
	checkName("name", cfg.Name, errs)
	checkText("description", cfg.Description, errs)
	var zone *time.Location
	if cfg.Zone == "" {
		errs.addf("zone", "missing (name an IANA zone such as \"Asia/Seoul\")")
	} else if z, err := window.LoadZone(cfg.Zone); err != nil {
		errs.add("zone", err)
	} else {
		zone = z
	}
	if cfg.Disambiguation < window.Reject || cfg.Disambiguation > window.Later {
		errs.addf("disambiguation", fmt.Sprintf("unknown value %d", int(cfg.Disambiguation)))
	}
	if len(cfg.Cohorts) == 0 {
		errs.addf("cohorts", "needs at least one cohort")
	}
	c := &Campaign{zone: zone, cohorts: make([]cohort, len(cfg.Cohorts))}
	names := make(map[string]int, len(cfg.Cohorts))
	for i, co := range cfg.Cohorts {
		path := "cohorts[" + strconv.Itoa(i) + "]"
		if checkName(join(path, "name"), co.Name, errs) {
			if j, dup := names[co.Name]; dup {
				errs.addf(join(path, "name"), fmt.Sprintf("%q repeats the name of cohorts[%d]", co.Name, j))
			} else {
				names[co.Name] = i
			}
		}
		checkText(join(path, "description"), co.Description, errs)
		checkRule(join(path, "rule"), 0, co.Rule, errs)
		c.cohorts[i] = compileCohort(path, co, zone, errs)
	}
	if !errs.ok() {
		return nil, errs.err()
	}
	c.cfg = cloneConfig(cfg)
	for i := range c.cfg.Cohorts {
		for j, w := range c.cfg.Cohorts[i].Windows {
			c.cfg.Cohorts[i].Windows[j] = window.Window{Start: w.Start.Round(0).In(zone), End: w.End.Round(0).In(zone)}
		}
	}
	return c, nil
}

// compileCohort checks a cohort's windows and sorts them; zone is nil when
// the campaign's zone is bad (then only zone-free checks are made).
func compileCohort(path string, co Cohort, zone *time.Location, errs *errList) cohort {
	out := cohort{name: co.Name}
	if co.Rule != nil {
		out.guard, out.perWindow = split(co.Rule)
	}
	wpath := join(path, "windows")
	if len(co.Windows) == 0 {
		errs.addf(wpath, "needs at least one window")
		return out
	}
	order := make([]int, 0, len(co.Windows))
	for j, w := range co.Windows {
		p := wpath + "[" + strconv.Itoa(j) + "]"
		switch {
		case w.Start.IsZero():
			errs.addf(join(p, "start"), "missing")
		case w.End.IsZero():
			errs.addf(join(p, "end"), "missing")
		case w.End.Before(w.Start):
			errs.addf(join(p, "end"), fmt.Sprintf("before start (end %s, start %s)", showTime(w.End, zone), showTime(w.Start, zone)))
		case w.End.Equal(w.Start):
			errs.addf(join(p, "end"), fmt.Sprintf("equals start %s (an empty window)", showTime(w.Start, zone)))
		default:
			order = append(order, j)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return co.Windows[a].Start.Compare(co.Windows[b].Start) })
	for k := 1; k < len(order); k++ {
		a, b := co.Windows[order[k-1]], co.Windows[order[k]]
		if a.Overlaps(b) {
			errs.addf(wpath+"["+strconv.Itoa(order[k])+"]",
				fmt.Sprintf("overlaps windows[%d] %s", order[k-1], showWindow(a, zone)))
		}
	}
	if zone == nil || len(order) != len(co.Windows) {
		return out
	}
	out.wins = make([]window.Window, len(order))
	out.dates = make([]Date, len(order))
	for k, j := range order {
		// Round(0) drops any monotonic reading: windows are wall instants.
		w := window.Window{Start: co.Windows[j].Start.Round(0).In(zone), End: co.Windows[j].End.Round(0).In(zone)}
		out.wins[k] = w
		out.dates[k] = DateOf(w.Start)
	}
	return out
}

func showTime(t time.Time, zone *time.Location) string {
	if zone != nil {
		t = t.In(zone)
	}
	return t.Format(time.RFC3339Nano)
}

func showWindow(w window.Window, zone *time.Location) string {
	return "[" + showTime(w.Start, zone) + ", " + showTime(w.End, zone) + ")"
}

// checkName checks a required name and reports whether it is usable.
func checkName(path, s string, errs *errList) bool {
	if s == "" {
		errs.addf(path, "missing")
		return false
	}
	if len(s) > maxNameLen {
		errs.addf(path, fmt.Sprintf("longer than %d bytes", maxNameLen))
		return false
	}
	return checkText(path, s, errs)
}

// checkText refuses text that would print badly or forge log lines:
// invalid UTF-8 and control characters, newlines included.
func checkText(path, s string, errs *errList) bool {
	if !utf8.ValidString(s) {
		errs.addf(path, "not valid UTF-8")
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			errs.addf(path, fmt.Sprintf("contains control character %U", r))
			return false
		}
	}
	return true
}

func cloneConfig(cfg Config) Config {
	cfg.Cohorts = slices.Clone(cfg.Cohorts)
	for i := range cfg.Cohorts {
		cfg.Cohorts[i].Windows = slices.Clone(cfg.Cohorts[i].Windows)
	}
	return cfg
}

// Name returns the campaign's name.
func (c *Campaign) Name() string { return c.cfg.Name }

// Zone returns the campaign's zone.
func (c *Campaign) Zone() *time.Location { return c.zone }

// Config returns a copy of the configuration the campaign was built from,
// windows in their given order, shown in the campaign's zone. Rules are
// shared: the package's rules are immutable.
func (c *Campaign) Config() Config { return cloneConfig(c.cfg) }
