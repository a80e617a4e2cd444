package main

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"
)

//go:embed web/templates/*.html
var templateFS embed.FS

//go:embed web/static
var staticFS embed.FS

// timeLayout is how pages show an instant: in the campaign's zone, with
// the zone's abbreviation.
const timeLayout = "Mon 2 January 2006, 15:04 MST"

// pages holds one parsed template set per page, each the base layout plus
// the page's "main" block.
type pages struct {
	set  map[string]*template.Template
	zone *time.Location
}

// view is what every page template gets. Data is the page's own content.
type view struct {
	Title    string
	Campaign string
	Phase    string
	ZoneName string
	ZoneNow  string
	Session  *session
	Errors   []fieldError
	Form     map[string]string
	Refresh  int // seconds; a <noscript> meta refresh when non-zero
	// AutoRefresh, when non-zero, reloads the page every so many seconds
	// (the operator console).
	AutoRefresh int
	Data        any
}

var pageNames = []string{
	"landing", "signin", "eligibility", "queue", "book", "hold", "booking",
	"operator", "operator_signin", "operator_confirm", "error",
}

func loadPages(zone *time.Location) (*pages, error) {
	when := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(zone).Format(timeLayout)
	}
	funcs := template.FuncMap{
		"when":    when,
		"rfc3339": func(t time.Time) string { return t.In(zone).Format(time.RFC3339) },
		"clock":   func(t time.Time) string { return t.In(zone).Format("15:04:05 MST") },
		"whenString": func(s any) string {
			str, _ := s.(string)
			t, err := time.Parse(time.RFC3339, str)
			if err != nil {
				return str
			}
			return when(t)
		},
		"phaseLabel": phaseLabel,
		"fieldLabel": fieldLabel,
		"fieldError": func(errs []fieldError, field string) string {
			for _, e := range errs {
				if e.Field == field {
					return e.Message
				}
			}
			return ""
		},
		"leftText": leftText,
	}
	p := &pages{set: make(map[string]*template.Template), zone: zone}
	base, err := template.New("").Funcs(funcs).ParseFS(templateFS, "web/templates/base.html", "web/templates/partials.html")
	if err != nil {
		return nil, err
	}
	for _, name := range pageNames {
		t, err := template.Must(base.Clone()).ParseFS(templateFS, "web/templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", name, err)
		}
		p.set[name] = t
	}
	return p, nil
}

// phaseLabel names a phase for people.
func phaseLabel(phase string) string {
	switch phase {
	case "not_yet":
		return "Not open yet"
	case "pre_queue":
		return "Waiting room open"
	case "open":
		return "Booking open"
	case "closed":
		return "Closed"
	case "maintenance":
		return "Maintenance"
	}
	return phase
}

// fieldLabel names a form field for people.
func fieldLabel(field string) string {
	switch field {
	case "name":
		return "Name"
	case "birth_date":
		return "Birth date"
	case "slot":
		return "Slot"
	case "token":
		return "Token"
	}
	return field
}

// humanDuration writes a duration for people: "5 minutes", "90 seconds".
func humanDuration(d time.Duration) string {
	switch {
	case d%time.Hour == 0 && d >= 2*time.Hour:
		return fmt.Sprintf("%d hours", d/time.Hour)
	case d%time.Minute == 0 && d >= 2*time.Minute:
		return fmt.Sprintf("%d minutes", d/time.Minute)
	case d == time.Minute:
		return "1 minute"
	}
	return fmt.Sprintf("%d seconds", d/time.Second)
}

func leftText(left, capacity int) string {
	switch {
	case left <= 0:
		return "full"
	case left == 1:
		return fmt.Sprintf("1 place left of %d", capacity)
	}
	return fmt.Sprintf("%d places left of %d", left, capacity)
}

// render writes page name with status. The common fields of v are filled
// in here. Rendering goes to a buffer first so that a template error
// becomes a clean 500, not half a page.
func (s *server) render(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	now := s.clk.Now()
	phase, _ := s.phase(r.Context(), now)
	v.Campaign = s.camp.name
	v.Phase = phase.String()
	v.ZoneName = s.camp.zone.String()
	v.ZoneNow = "now " + now.In(s.camp.zone).Format("15:04 MST")
	if v.Session == nil {
		if sess, err := s.readSession(r, now); err == nil {
			v.Session = &sess
		}
	}
	var buf bytes.Buffer
	t := s.pages.set[name]
	if t == nil {
		panic("no page " + name)
	}
	if err := t.ExecuteTemplate(&buf, "base", v); err != nil {
		s.log.Error("rendering page", "page", name, "err", err)
		http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// staticHandler serves the embedded CSS, script and icon.
func (s *server) staticHandler() http.Handler {
	sub, err := fs.Sub(staticFS, "web")
	if err != nil {
		panic(err)
	}
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			s.fail(w, r, http.StatusNotFound, "Not found", "There is no such file.", 0)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=300")
		files.ServeHTTP(w, r)
	})
}
