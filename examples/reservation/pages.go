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

	"github.com/gatehouse-go/gatehouse/admission/pages"
)

//go:embed web/templates/*.html
var templateFS embed.FS

//go:embed web/static
var staticFS embed.FS

// templates holds one parsed template set per page, each the base layout
// plus the page's "main" block. The waiting room and the refusals are the
// library's pages (admission/pages); these are the server's own.
type templates struct {
	set map[string]*template.Template
}

// view is what every page template gets. Data is the page's own content.
// L is the request's language (admission/pages): every word of a page
// comes from L.T, every date from L.When in the campaign's zone.
type view struct {
	L        *pages.Lang
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
	"landing", "signin", "eligibility", "book", "hold", "booking",
	"operator", "operator_signin", "operator_confirm", "error",
}

func loadTemplates() (*templates, error) {
	funcs := template.FuncMap{
		"rfc3339": func(t time.Time) string { return t.Format(time.RFC3339) },
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
	p := &templates{set: make(map[string]*template.Template)}
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

// leftText says how many places a slot has left, for people.
func leftText(l *pages.Lang, left, capacity int) string {
	switch {
	case left <= 0:
		return l.T("left.full")
	case left == 1:
		return l.T("left.one", "cap", capacity)
	}
	return l.T("left.other", "n", left, "cap", capacity)
}

// lang is the request's language.
func (s *server) lang(r *http.Request) *pages.Lang { return s.ui.Lang(r) }

// slotLabel is a slot's label in the request's language: the catalog's
// "slot.<id>" when it has one, else the configured label.
func slotLabel(l *pages.Lang, sl slotSpec) string {
	if k := "slot." + sl.ID; l.Has(k) {
		return l.T(k)
	}
	return sl.Label
}

// render writes page name with status. The common fields of v are filled
// in here. Rendering goes to a buffer first so that a template error
// becomes a clean 500, not half a page.
func (s *server) render(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	now := s.clk.Now()
	phase, _ := s.phase(r.Context(), now)
	l := s.lang(r)
	v.L = l
	v.Campaign = s.campaignTitle(l)
	v.Phase = phase.String()
	v.ZoneName = s.camp.zone.String()
	v.ZoneNow = l.Clock(now)
	if v.Session == nil {
		if sess, err := s.readSession(r, now); err == nil {
			v.Session = &sess
		}
	}
	var buf bytes.Buffer
	t := s.tmpl.set[name]
	if t == nil {
		panic("no page " + name)
	}
	if err := t.ExecuteTemplate(&buf, "base", v); err != nil {
		s.log.Error("rendering page", "page", name, "err", err)
		http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	pages.WriteHTML(w, l, status, buf.Bytes())
}

// campaignTitle is the campaign's name for people: the demo campaign's in
// the request's language, a campaign file's as written.
func (s *server) campaignTitle(l *pages.Lang) string {
	if s.cfg.CampaignFile == "" {
		return l.T("demo.name")
	}
	return s.camp.name
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
			s.fail(w, r, http.StatusNotFound, "err.no_file", 0)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=300")
		files.ServeHTTP(w, r)
	})
}
