package eligibility

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-go/gatehouse/window"
)

// MaxFileSize is the largest campaign document Load, LoadFile and Parse
// accept, in bytes. A real campaign is a few kilobytes.
const MaxFileSize = 4 << 20

// Parse reads a campaign from its JSON form (see the package
// documentation) and checks it as New does. It returns a campaign or an
// error, never both: nothing is half loaded. Errors are *CampaignError
// values naming the JSON path (several joined with errors.Join), and
// errors.Is(err, ErrInvalidCampaign) holds.
func Parse(data []byte) (*Campaign, error) {
	if len(data) > MaxFileSize {
		return nil, &CampaignError{Err: fmt.Errorf("larger than %d bytes", MaxFileSize)}
	}
	root, err := parseTree(data)
	if err != nil {
		return nil, err
	}
	var errs errList
	cfg, ok := decoder{&errs}.campaign(root)
	if !ok || !errs.ok() {
		return nil, errs.err()
	}
	return compile(cfg, &errs)
}

// Load reads a campaign from r with Parse, reading at most MaxFileSize
// bytes (and one more, to refuse a larger document).
func Load(r io.Reader) (*Campaign, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("eligibility: reading campaign: %w", err)
	}
	return Parse(data)
}

// LoadFile reads the campaign file at path with Load. Errors name the file.
func LoadFile(path string) (*Campaign, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("eligibility: %w", err)
	}
	defer f.Close()
	c, err := Load(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// UnmarshalJSON implements json.Unmarshaler with Parse, so a campaign can
// sit inside a larger configuration. Use it only on a Campaign nobody else
// is using yet.
func (c *Campaign) UnmarshalJSON(data []byte) error {
	v, err := Parse(data)
	if err != nil {
		return err
	}
	*c = *v
	return nil
}

// campaign decodes the top-level object into a Config. Windows are resolved
// in the zone; if the zone is bad, they are only checked for form.
func (d decoder) campaign(n *jnode) (Config, bool) {
	get, ok := d.object("", n, "name", "description", "zone", "disambiguation", "cohorts")
	if get == nil {
		return Config{}, false
	}
	var cfg Config
	var good bool
	cfg.Name, good = d.str("name", get("name"), true)
	ok = ok && good
	cfg.Description, good = d.str("description", get("description"), false)
	ok = ok && good
	cfg.Zone, good = d.str("zone", get("zone"), true)
	ok = ok && good
	var zone *time.Location
	if good && get("zone") != nil {
		z, err := window.LoadZone(cfg.Zone)
		if err != nil {
			d.errs.add("zone", err)
			ok = false
		}
		zone = z
	}
	if s, good := d.str("disambiguation", get("disambiguation"), false); !good {
		ok = false
	} else if v, err := window.ParseDisambiguation(s); err != nil {
		d.errs.addf("disambiguation", fmt.Sprintf("unknown value %q (want reject, compatible, earlier or later)", s))
		ok = false
	} else {
		cfg.Disambiguation = v
	}
	cn := get("cohorts")
	switch {
	case cn == nil:
		d.errs.addf("cohorts", "missing")
		return cfg, false
	case cn.kind != jArray:
		d.errs.addf("cohorts", "want an array, got "+cn.kind.String())
		return cfg, false
	}
	cfg.Cohorts = make([]Cohort, len(cn.elems))
	for i, e := range cn.elems {
		co, good := d.cohort("cohorts["+strconv.Itoa(i)+"]", e, zone, cfg.Disambiguation)
		cfg.Cohorts[i] = co
		ok = ok && good
	}
	return cfg, ok
}

func (d decoder) cohort(path string, n *jnode, zone *time.Location, dis window.Disambiguation) (Cohort, bool) {
	get, ok := d.object(path, n, "name", "description", "rule", "windows")
	if get == nil {
		return Cohort{}, false
	}
	var co Cohort
	var good bool
	co.Name, good = d.str(join(path, "name"), get("name"), true)
	ok = ok && good
	co.Description, good = d.str(join(path, "description"), get("description"), false)
	ok = ok && good
	if rn := get("rule"); rn == nil {
		d.errs.addf(join(path, "rule"), "missing")
		ok = false
	} else {
		co.Rule, good = d.rule(join(path, "rule"), rn, 0)
		ok = ok && good
	}
	wpath := join(path, "windows")
	wn := get("windows")
	switch {
	case wn == nil:
		d.errs.addf(wpath, "missing")
		return co, false
	case wn.kind != jArray:
		d.errs.addf(wpath, "want an array, got "+wn.kind.String())
		return co, false
	}
	co.Windows = make([]window.Window, len(wn.elems))
	for j, e := range wn.elems {
		p := wpath + "[" + strconv.Itoa(j) + "]"
		get, good := d.object(p, e, "start", "end")
		if get == nil {
			ok = false
			continue
		}
		start, good1 := d.civil(join(p, "start"), get("start"), zone, dis)
		end, good2 := d.civil(join(p, "end"), get("end"), zone, dis)
		ok = ok && good && good1 && good2
		co.Windows[j] = window.Window{Start: start, End: end}
	}
	return co, ok
}

// civil reads a civil time and resolves it in zone (if zone is known).
func (d decoder) civil(path string, n *jnode, zone *time.Location, dis window.Disambiguation) (time.Time, bool) {
	s, ok := d.str(path, n, true)
	if !ok {
		return time.Time{}, false
	}
	c, err := window.ParseCivil(s)
	if err != nil {
		d.errs.add(path, err)
		return time.Time{}, false
	}
	if err := c.Valid(); err != nil {
		d.errs.add(path, err)
		return time.Time{}, false
	}
	if zone == nil {
		return time.Time{}, false
	}
	t, err := window.Resolve(c, zone, dis)
	if err != nil {
		d.errs.add(path, err)
		return time.Time{}, false
	}
	return t, true
}

// rule decodes the tagged form: an object with exactly one key, the kind.
func (d decoder) rule(path string, n *jnode, depth int) (Rule, bool) {
	if n.kind != jObject {
		d.errs.addf(path, "want a rule object such as {\"born_between\": {...}}, got "+n.kind.String())
		return nil, false
	}
	if depth > maxRuleDepth {
		d.errs.addf(path, fmt.Sprintf("rules nested more than %d deep", maxRuleDepth))
		return nil, false
	}
	switch len(n.keys) {
	case 0:
		d.errs.addf(path, "empty rule (want one of "+orList(ruleKinds)+")")
		return nil, false
	case 1:
	default:
		quoted := make([]string, len(n.keys))
		for i, k := range n.keys {
			quoted[i] = strconv.Quote(k)
		}
		d.errs.addf(path, "a rule has exactly one kind, this one has "+strings.Join(quoted, ", ")+"; combine rules with all or any")
		return nil, false
	}
	kind, v := n.keys[0], n.vals[0]
	p := keyPath(path, kind)
	switch kind {
	case kindBornBetween:
		get, ok := d.object(p, v, "from", "to")
		if get == nil {
			return nil, false
		}
		from, ok1 := d.date(join(p, "from"), get("from"), false)
		to, ok2 := d.date(join(p, "to"), get("to"), false)
		if ok && ok1 && ok2 && from.IsZero() && to.IsZero() {
			d.errs.addf(p, "needs from, to or both")
			return nil, false
		}
		return BornBetween(from, to), ok && ok1 && ok2
	case kindAgeBetween:
		get, ok := d.object(p, v, "min", "max", "on")
		if get == nil {
			return nil, false
		}
		lo, ok1 := d.integer(join(p, "min"), get("min"), 0, maxAge)
		hi, ok2 := d.integer(join(p, "max"), get("max"), 0, maxAge)
		on, ok3 := d.date(join(p, "on"), get("on"), false)
		return AgeBetween(lo, hi, on), ok && ok1 && ok2 && ok3
	case kindKoreanAgeBetween:
		get, ok := d.object(p, v, "min", "max", "year")
		if get == nil {
			return nil, false
		}
		lo, ok1 := d.integer(join(p, "min"), get("min"), 0, maxAge)
		hi, ok2 := d.integer(join(p, "max"), get("max"), 0, maxAge)
		year, ok3 := 0, true
		if yn := get("year"); yn != nil {
			year, ok3 = d.integer(join(p, "year"), yn, 1, 9999)
		}
		return KoreanAgeBetween(lo, hi, year), ok && ok1 && ok2 && ok3
	case kindBirthYearDigit, kindBirthDayDigit:
		if v.kind != jArray {
			d.errs.addf(p, "want an array of digits, got "+v.kind.String())
			return nil, false
		}
		ds := make([]int, len(v.elems))
		ok := true
		for i, e := range v.elems {
			var good bool
			ds[i], good = d.integer(p+"["+strconv.Itoa(i)+"]", e, 0, 9)
			ok = ok && good
		}
		if kind == kindBirthYearDigit {
			return BirthYearLastDigit(ds...), ok
		}
		return BirthDayLastDigit(ds...), ok
	case kindDayMatchesToday, kindEveryone:
		if v.kind != jBool || !v.b {
			d.errs.addf(p, "want true (negate a rule with not)")
			return nil, false
		}
		if kind == kindEveryone {
			return Everyone(), true
		}
		return BirthDayLastDigitMatchesToday(), true
	case kindAll, kindAny:
		if v.kind != jArray {
			d.errs.addf(p, "want an array of rules, got "+v.kind.String())
			return nil, false
		}
		rules := make([]Rule, len(v.elems))
		ok := true
		for i, e := range v.elems {
			var good bool
			rules[i], good = d.rule(p+"["+strconv.Itoa(i)+"]", e, depth+1)
			ok = ok && good
		}
		if kind == kindAll {
			return All(rules...), ok
		}
		return Any(rules...), ok
	case kindNot:
		r, ok := d.rule(p, v, depth+1)
		return Not(r), ok
	}
	d.errs.addf(p, "unknown rule (want one of "+orList(ruleKinds)+")")
	return nil, false
}

// MarshalJSON writes the campaign in the form Parse reads: windows as civil
// times in the campaign's zone. Parsing the result gives a campaign that
// decides exactly as c does. It fails for a campaign holding a rule from
// outside this package, or a window edge that the campaign's
// disambiguation would not read back as the same instant (an instant in a
// repeated hour under window.Reject, say).
func (c *Campaign) MarshalJSON() ([]byte, error) {
	type win struct {
		Start string `json:"start"`
		End   string `json:"end"`
	}
	type coh struct {
		Name        string          `json:"name"`
		Description string          `json:"description,omitempty"`
		Rule        json.RawMessage `json:"rule"`
		Windows     []win           `json:"windows"`
	}
	type camp struct {
		Name           string `json:"name"`
		Description    string `json:"description,omitempty"`
		Zone           string `json:"zone"`
		Disambiguation string `json:"disambiguation,omitempty"`
		Cohorts        []coh  `json:"cohorts"`
	}
	out := camp{Name: c.cfg.Name, Description: c.cfg.Description, Zone: c.cfg.Zone, Cohorts: make([]coh, len(c.cfg.Cohorts))}
	if c.cfg.Disambiguation != window.Reject {
		out.Disambiguation = c.cfg.Disambiguation.String()
	}
	for i, co := range c.cfg.Cohorts {
		path := "cohorts[" + strconv.Itoa(i) + "]"
		r, err := marshalRule(co.Rule)
		if err != nil {
			return nil, &CampaignError{Path: join(path, "rule"), Err: err}
		}
		o := coh{Name: co.Name, Description: co.Description, Rule: r, Windows: make([]win, len(co.Windows))}
		for j, w := range co.Windows {
			p := join(path, "windows["+strconv.Itoa(j)+"]")
			s, err := c.civilText(w.Start)
			if err != nil {
				return nil, &CampaignError{Path: join(p, "start"), Err: err}
			}
			e, err := c.civilText(w.End)
			if err != nil {
				return nil, &CampaignError{Path: join(p, "end"), Err: err}
			}
			o.Windows[j] = win{s, e}
		}
		out.Cohorts[i] = o
	}
	return json.Marshal(out)
}

// errNotCivil reports an instant that cannot be written as a civil time.
var errNotCivil = errors.New("instant cannot be written as a civil time in the campaign's zone under its disambiguation")

// civilText writes t as the civil time the campaign reads back as t:
// 2006-01-02T15:04, with seconds and a fraction only when needed.
func (c *Campaign) civilText(t time.Time) (string, error) {
	civ := window.CivilOf(t.In(c.zone))
	back, err := window.Resolve(civ, c.zone, c.cfg.Disambiguation)
	if err != nil || !back.Equal(t) {
		return "", fmt.Errorf("%w: %s", errNotCivil, t.In(c.zone).Format(time.RFC3339Nano))
	}
	if civ.Second == 0 && civ.Nanosecond == 0 {
		s := civ.String()
		return s[:len(s)-3], nil
	}
	return civ.String(), nil
}
