package pages

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"maps"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/gatehouse-go/gatehouse/admission"
	"github.com/gatehouse-go/gatehouse/window/problem"
)

//go:embed templates/*.html
var builtinTemplates embed.FS

//go:embed static
var staticFS embed.FS

// Defaults of Options.
const (
	DefaultLanguage    = "en"
	DefaultAssetPrefix = "/gatehouse/"
	DefaultMaxPoll     = 30 * time.Second
)

// The pages' script asks for its page again with PollHeader: 1. A page
// answered to it is always 200, the real status (503 in maintenance, say)
// in PollStatusHeader, so that a browser does not log an expected refusal
// as a failed request; Retry-After is sent as usual. Browsers that load
// the page themselves (the <noscript> refresh, a reload) get the real
// status.
const (
	PollHeader       = "X-Gatehouse-Poll"
	PollStatusHeader = "X-Gatehouse-Status"
)

// Template names a host may replace through Options.Templates.
const (
	TemplateBase    = "base.html"    // the layout: defines "base", calls "main"
	TemplateWaiting = "waiting.html" // defines "main" for the waiting room
	TemplateRefusal = "refusal.html" // defines "main" for a refusal
)

// Options configure New. Zone is required; the zero value of every other
// field is its documented default.
type Options struct {
	// Zone is the campaign's zone: every date and time is written in it.
	// Required.
	Zone *time.Location
	// Default is the language of a request whose Accept-Language names
	// none of the page's languages. "" means DefaultLanguage ("en").
	Default string
	// Languages add languages (a new tag) or override strings of a
	// built-in one ("en", "ko"): tag -> key -> string. A new language's
	// missing keys fall back to English. Keys are those of English; a
	// host may add its own keys for its own templates (Lang.T).
	Languages map[string]map[string]string
	// Templates, when set, replaces built-in templates by name
	// (TemplateBase, TemplateWaiting, TemplateRefusal): a file of that
	// name in Templates is parsed instead of the built-in one.
	Templates fs.FS
	// AssetPrefix is the path Assets is mounted at (mux.Handle("GET
	// "+prefix, p.Assets())); pages link their style sheet and script
	// under it. "" means DefaultAssetPrefix ("/gatehouse/"). Classify it
	// window.Always, so pages keep their style and script in maintenance.
	AssetPrefix string
	// MaxPoll caps how long a page waits before asking again. 0 means
	// DefaultMaxPoll (30 s).
	MaxPoll time.Duration
	// WaitingURL is the waiting room page, linked from refusals that need
	// a pass. "" means none.
	WaitingURL string
	// SignInURL is linked from refusals that need a signed-in person.
	// "" means none.
	SignInURL string
	// HomeURL is linked from refusals the public can do something about
	// elsewhere (not yet, closed, not found); never from maintenance or
	// outage pages, which retry by themselves. "" means "/".
	HomeURL string
	// Site names the service in every page's title and header. "" means
	// none.
	Site string
	// IconURL, when set, is the pages' icon (<link rel="icon">); without
	// one, browsers ask for /favicon.ico.
	IconURL string
	// Clock gives "last updated". Nil means clock.New().
	Clock clock.Clock
	// Notice, when set, gives the operator's message for the waiting
	// page of request r, shown above the person's place and refreshed
	// with it ("" for none). It is the host's own text, in whatever
	// language the operator wrote it.
	Notice func(r *http.Request) string
}

// Pages renders the waiting room and the refusals of the gate and the room
// as HTML for people, in the language each request asks for. Build it with
// New; it is safe for concurrent use.
type Pages struct {
	o     Options
	langs map[string]*Lang
	avail map[string]bool
	def   string
	tmpl  map[string]*template.Template
}

// New returns pages for opts.
func New(opts Options) (*Pages, error) {
	if opts.Zone == nil {
		return nil, errors.New("pages: Options.Zone is required")
	}
	if opts.MaxPoll < 0 {
		return nil, errors.New("pages: Options.MaxPoll is negative")
	}
	if opts.MaxPoll == 0 {
		opts.MaxPoll = DefaultMaxPoll
	}
	if opts.AssetPrefix == "" {
		opts.AssetPrefix = DefaultAssetPrefix
	}
	if !strings.HasPrefix(opts.AssetPrefix, "/") || !strings.HasSuffix(opts.AssetPrefix, "/") {
		return nil, fmt.Errorf("pages: Options.AssetPrefix %q must begin and end with /", opts.AssetPrefix)
	}
	if opts.HomeURL == "" {
		opts.HomeURL = "/"
	}
	if opts.Clock == nil {
		opts.Clock = clock.New()
	}
	p := &Pages{o: opts, langs: map[string]*Lang{}, avail: map[string]bool{}, tmpl: map[string]*template.Template{}}
	p.def = strings.ToLower(opts.Default)
	if p.def == "" {
		p.def = DefaultLanguage
	}
	cats := map[string]map[string]string{"en": maps.Clone(English), "ko": maps.Clone(Korean)}
	for tag, strs := range opts.Languages {
		tag = strings.ToLower(tag)
		if tag == "" || strings.ContainsAny(tag, " ,;*") {
			return nil, fmt.Errorf("pages: Options.Languages: invalid tag %q", tag)
		}
		c, ok := cats[tag]
		if !ok {
			c = maps.Clone(English)
			cats[tag] = c
		}
		maps.Copy(c, strs)
	}
	for tag, c := range cats {
		p.langs[tag] = &Lang{tag: tag, strings: c, zone: opts.Zone}
		p.avail[tag] = true
	}
	if !p.avail[p.def] {
		return nil, fmt.Errorf("pages: Options.Default %q is not a language of the pages", p.def)
	}
	read := func(name string) (string, error) {
		if opts.Templates != nil {
			if b, err := fs.ReadFile(opts.Templates, name); err == nil {
				return string(b), nil
			} else if !errors.Is(err, fs.ErrNotExist) {
				return "", err
			}
		}
		b, err := builtinTemplates.ReadFile("templates/" + name)
		return string(b), err
	}
	baseText, err := read(TemplateBase)
	if err != nil {
		return nil, fmt.Errorf("pages: %s: %w", TemplateBase, err)
	}
	base, err := template.New(TemplateBase).Parse(baseText)
	if err != nil {
		return nil, fmt.Errorf("pages: %w", err)
	}
	for _, name := range []string{TemplateWaiting, TemplateRefusal} {
		text, err := read(name)
		if err != nil {
			return nil, fmt.Errorf("pages: %s: %w", name, err)
		}
		t, err := template.Must(base.Clone()).New(name).Parse(text)
		if err != nil {
			return nil, fmt.Errorf("pages: %w", err)
		}
		p.tmpl[name] = t
	}
	return p, nil
}

// Languages returns the tags of the pages' languages.
func (p *Pages) Languages() []string {
	tags := make([]string, 0, len(p.langs))
	for t := range p.langs {
		tags = append(tags, t)
	}
	slices.Sort(tags)
	return tags
}

// View is what every template gets.
type View struct {
	L       *Lang      // the request's language: .L.T "key", .L.When t, ...
	Site    string     // Options.Site
	Title   string     // the page's title
	State   string     // the page's state, for the script: waiting, admitted, maintenance, ...
	Poll    int        // seconds until the page asks again; 0: it does not
	Assets  string     // Options.AssetPrefix
	Zone    string     // the campaign's zone name
	Now     time.Time  // the instant rendered, in the campaign's zone
	Home    string     // Options.HomeURL
	Waiting string     // Options.WaitingURL
	SignIn  string     // Options.SignInURL
	Data    any        // *WaitingData or *RefusalData
	Langs   []LangLink // the pages' languages, for a switch
	MaxPoll int        // Options.MaxPoll in seconds
	Icon    string     // Options.IconURL
}

// LangLink is one language of the switch at the foot of a page.
type LangLink struct {
	Tag, Name string
	Current   bool
}

// PollFor writes the time until the page asks again, for people.
func (v View) PollFor() string { return v.L.Duration(time.Duration(v.Poll) * time.Second) }

// WaitingData is the waiting room's View.Data.
type WaitingData struct {
	Status admission.Status
	// State is Status.State, or "sold_out" once nothing is left to book.
	State string
	// NextURL is where an admitted person goes to book.
	NextURL string
	// Notice is the operator's message (Options.Notice), "" for none.
	Notice string
	// Place is the place in line counted from 1; 0 before the draw.
	Place int64
	// Ahead is the number of people ahead, -1 before the draw.
	Ahead int64
	// Gone and Total are the progress: Gone of the Total people who were
	// ahead have gone in. Total is 0 before the draw.
	Gone, Total int64
	// ETA is the estimated wait written for people.
	ETA string
}

// RefusalData is a refusal page's View.Data.
type RefusalData struct {
	Ref *problem.Refusal
	// Kind picks the page's text: maintenance, outage, not_yet,
	// pre_queue, closed, not_allowed, not_found, pass, pass_expired,
	// signin or error.
	Kind string
	// Kept reports that the page says the waiting place is kept (and
	// retries by itself): maintenance, outage, an unavailable room.
	Kept bool
}

// Waiting writes the waiting room page for st, the person's status from
// Room.Join or Room.Status: position, ETA range, progress, last updated,
// what to do and not to do. The page asks again by itself after
// st.PollAfter (capped by Options.MaxPoll): with JavaScript, by fetching
// itself and updating its live region (aria-live); without, by a
// <noscript> meta refresh. Through maintenance and outages (a 503 from the
// gate or the room, or no connection at all) it keeps asking, honouring
// Retry-After, and says the place is kept. Once admitted it offers
// nextURL.
func (p *Pages) Waiting(w http.ResponseWriter, r *http.Request, st admission.Status, nextURL string) {
	l := p.Lang(r)
	d := &WaitingData{Status: st, State: string(st.State), NextURL: nextURL, Ahead: -1}
	if p.o.Notice != nil {
		d.Notice = p.o.Notice(r)
	}
	if st.Place >= 0 && st.Ahead >= 0 {
		d.Place, d.Ahead = st.Place+1, st.Ahead
		d.Total = max(st.Place, st.Ahead)
		d.Gone = d.Total - d.Ahead
	}
	switch {
	case st.State != admission.StateWaiting:
	case st.Ahead < 0:
		d.ETA = l.T("eta.after_draw")
	case st.ETA.PlacesShort:
		d.ETA = l.T("eta.places_short")
	case !st.ETA.Known:
		d.ETA = l.T("eta.measuring")
	default:
		d.ETA = l.Range(st.ETA.Min, st.ETA.Max)
	}
	poll := 0
	if st.State == admission.StateWaiting || st.State == admission.StateSoldOut {
		// Sold out keeps asking, slowly (the room says when): if holds
		// lapse and places come back, the line resumes.
		poll = p.pollSeconds(st.PollAfter)
	}
	title := l.T("waiting.title")
	if st.State == admission.StateAdmitted {
		title = l.T("admitted.title")
	}
	p.render(w, r, http.StatusOK, TemplateWaiting, title, d.State, poll, d, 0)
}

func (p *Pages) pollSeconds(d time.Duration) int {
	if d <= 0 {
		d = 5 * time.Second
	}
	return int(problem.RetryAfterSeconds(min(d, p.o.MaxPoll)))
}

// WantsHTML reports whether r asks for a page rather than a problem
// document: its Accept header names text/html.
func WantsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// Deny is a problem.DenyFunc for window.GateOptions.Deny and
// admission.Options.Deny: a request that asks for HTML (WantsHTML) gets a
// page in its language with the refusal's status and Retry-After;
// any other gets the problem document. Maintenance, outage and an
// unavailable room say that the waiting place is kept and ask again by
// themselves after Retry-After; "not yet open" gives the opening in the
// campaign's zone.
func (p *Pages) Deny(w http.ResponseWriter, r *http.Request, ref *problem.Refusal) {
	if !WantsHTML(r) {
		ref.Write(w)
		return
	}
	p.RefusalPage(w, r, ref)
}

// RefusalPage writes the page for ref whatever r accepts: for a host whose
// own rule decides who gets pages (Deny decides by WantsHTML).
func (p *Pages) RefusalPage(w http.ResponseWriter, r *http.Request, ref *problem.Refusal) {
	l := p.Lang(r)
	d := &RefusalData{Ref: ref, Kind: ref.Code}
	var title string
	switch ref.Code {
	case problem.CodeMaintenance:
		title, d.Kept = l.T("maintenance.title"), true
	case problem.CodeOutage, problem.CodeUnavailable:
		title, d.Kind, d.Kept = l.T("outage.title"), "outage", true
	case problem.CodeNotYet, problem.CodePreQueue:
		title = l.T("notyet.title")
	case problem.CodeClosed:
		title = l.T("closed.title")
	case problem.CodeNotAllowed:
		title = l.T("notyet.title")
	case problem.CodeNotFound, problem.CodeNotJoined, problem.CodeMethod:
		title, d.Kind = l.T("notfound.title"), "not_found"
		if ref.Code == problem.CodeNotJoined {
			d.Kind = "pass"
		}
	case problem.CodePassRequired, problem.CodeInvalidPass:
		title, d.Kind = l.T("pass.title"), "pass"
	case problem.CodePassExpired:
		title, d.Kind = l.T("pass.title"), "pass_expired"
	case problem.CodeIdentityRequired:
		title, d.Kind = l.T("signin.heading"), "signin"
	default:
		title, d.Kind = l.T("error.title"), "error"
	}
	poll := 0
	if d.Kept {
		poll = p.pollSeconds(ref.RetryAfter)
	}
	state := d.Kind
	p.render(w, r, ref.Status, TemplateRefusal, title, state, poll, d, ref.RetryAfter)
}

func (p *Pages) render(w http.ResponseWriter, r *http.Request, status int, name, title, state string, poll int, data any, retry time.Duration) {
	l := p.Lang(r)
	v := View{L: l, Site: p.o.Site, Title: title, State: state, Poll: poll, Assets: p.o.AssetPrefix,
		Zone: p.o.Zone.String(), Now: p.o.Clock.Now().In(p.o.Zone), Home: p.o.HomeURL,
		Waiting: p.o.WaitingURL, SignIn: p.o.SignInURL, Data: data, MaxPoll: int(p.o.MaxPoll / time.Second), Icon: p.o.IconURL}
	for _, t := range p.Languages() {
		v.Langs = append(v.Langs, LangLink{Tag: t, Name: p.langs[t].T("lang.name"), Current: t == l.Tag()})
	}
	var buf bytes.Buffer
	if err := p.tmpl[name].ExecuteTemplate(&buf, "base", v); err != nil {
		problem.Write(w, problem.Problem{Status: http.StatusInternalServerError, Detail: "rendering the page failed"}, 0)
		return
	}
	h := w.Header()
	if retry > 0 {
		h.Set("Retry-After", strconv.FormatInt(problem.RetryAfterSeconds(retry), 10))
	}
	if r.Header.Get(PollHeader) == "1" {
		// The page's own script asking again: the refusal is the page's
		// next state, not a failure of the request.
		h.Set(PollStatusHeader, strconv.Itoa(status))
		status = http.StatusOK
	}
	WriteHTML(w, l, status, buf.Bytes())
}

// WriteHTML writes a rendered page in the language l with the headers
// every page has: Content-Type, Content-Language, Cache-Control: no-store,
// nosniff, and Vary on Accept and Accept-Language. A host writing its own
// pages with the same languages (Pages.Lang) writes them with it too.
func WriteHTML(w http.ResponseWriter, l *Lang, status int, page []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Language", l.Tag())
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Add("Vary", "Accept, Accept-Language")
	w.WriteHeader(status)
	w.Write(page)
}

// Assets serves the pages' style sheet and script; mount it at
// Options.AssetPrefix: mux.Handle("GET /gatehouse/", p.Assets()).
func (p *Pages) Assets() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := path.Base(r.URL.Path)
		b, err := staticFS.ReadFile("static/" + name)
		if err != nil || !strings.HasPrefix(r.URL.Path, p.o.AssetPrefix) {
			http.NotFound(w, r)
			return
		}
		switch path.Ext(name) {
		case ".css":
			w.Header().Set("Content-Type", "text/css; charset=utf-8")
		case ".js":
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		}
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Write(b)
	})
}
