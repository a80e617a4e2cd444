package window

import (
	"net/http"
	"strings"
	"sync"
)

// Mux is the one registration of a gated application: Handle classifies a
// route on the gate and mounts its handler on the application's
// ServeMux in one call, so a route cannot be mounted without a class (a
// forgotten Allow would otherwise be a 404 at run time) nor classified
// without a handler. A Mux serves through the gate: ServeHTTP is
// Gate.Guard of its ServeMux. Build one with Gate.NewMux.
//
//	mux := gate.NewMux()
//	mux.HandleFunc(window.Always, "GET /healthz", health)
//	mux.Handle(window.DuringPreQueue|window.DuringOpen, "/queue/", room.Handler(id))
//	mux.Handle(window.DuringOpen, "POST /book", room.Protect(book, id))
//	http.ListenAndServe(addr, mux)
type Mux struct {
	g       *Gate
	mux     *http.ServeMux
	once    sync.Once
	guarded http.Handler
}

// NewMux returns an empty Mux on the gate.
func (g *Gate) NewMux() *Mux { return &Mux{g: g, mux: http.NewServeMux()} }

// Handle classifies pattern with a on the gate (Gate.Allow) and mounts h
// for it. Like http.ServeMux.Handle it panics on an invalid or conflicting
// pattern, a nil handler, and on an invalid allowance.
func (m *Mux) Handle(a Allowance, pattern string, h http.Handler) {
	if h == nil {
		panic("window: Mux.Handle: nil handler for " + pattern)
	}
	m.g.Allow(a, pattern)
	m.mux.Handle(pattern, h)
}

// HandleFunc is Handle for a function.
func (m *Mux) HandleFunc(a Allowance, pattern string, f func(http.ResponseWriter, *http.Request)) {
	m.Handle(a, pattern, http.HandlerFunc(f))
}

// ServeHTTP serves r through the gate, then the route's handler.
func (m *Mux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.once.Do(func() { m.guarded = m.g.Guard(m.mux) })
	m.guarded.ServeHTTP(w, r)
}

// Handler returns the handler and pattern r would reach once let through,
// as http.ServeMux.Handler does.
func (m *Mux) Handler(r *http.Request) (http.Handler, string) { return m.mux.Handler(r) }

// probeMethods are the methods allowedMethods tries.
var probeMethods = [...]string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// allowedMethods returns the methods (comma-separated) of the public
// routes that r's path matches with another method, or "": what a 405's
// Allow header says. Operators-only routes are not told.
func (g *Gate) allowedMethods(r *http.Request) string {
	var allow []string
	for _, m := range probeMethods {
		if m == r.Method {
			continue
		}
		r2 := *r
		r2.Method = m
		if rc := g.match(&r2); rc != nil && rc.allow != OperatorsOnly {
			allow = append(allow, m)
		}
	}
	return strings.Join(allow, ", ")
}
