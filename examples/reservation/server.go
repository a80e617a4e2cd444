package main

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/gatehouse-go/gatehouse/admission"
	"github.com/gatehouse-go/gatehouse/admission/pages"
	"github.com/gatehouse-go/gatehouse/slots"
	"github.com/gatehouse-go/gatehouse/window"
	"github.com/gatehouse-go/gatehouse/window/problem"
)

// maxBody bounds every request body. The largest legitimate one is a
// sign-in form of a name and a date.
const maxBody = 8 << 10

// server is the reservation server: the route table, the gate in front of
// it, and the libraries behind it.
type server struct {
	cfg config
	clk clock.Clock
	log *slog.Logger

	camp     *campaign
	slots    []slotSpec
	slotByID map[string]slotSpec

	sessions  cookieSigner
	limiter   *clientLimiter
	tmpl      *templates   // the server's own pages
	ui        *pages.Pages // the library's pages: waiting room, refusals, languages
	metrics   *metrics
	personKey []byte
	// limitHashKey keys the limiter's hash of an identity.
	limitHashKey []byte

	sw        window.Switch     // maintenance
	operators *window.Keyring   // operator tokens
	opToken   string            // the token printed at start
	gate      *window.Gate      // around the whole mux
	rooms     []*admission.Room // the first part's rooms, one per opening of the schedule
	booking   *slots.Service    // holds and bookings

	// parts are the campaign's partitions (one, the whole campaign,
	// without -partition); partitions routes people to them.
	parts      []*part
	partitions *slots.Partitions

	// notice is the operator's message to the people waiting (this
	// instance's; empty for none).
	noticeMu sync.Mutex
	notice   string

	table   []route
	mux     *window.Mux
	handler http.Handler

	// onHandle, when set (by tests), is told the pattern of every request
	// that reached a route's handler, that is, that the gate let through.
	onHandle func(pattern string)

	closers []func() error
}

// newServer builds a server from cfg. The configuration is validated;
// errors that a person can fix in flags or the campaign file wrap
// errConfig.
func newServer(cfg config) (*server, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &server{cfg: cfg, clk: cfg.Clock, log: cfg.Logger}
	if s.clk == nil {
		s.clk = clock.New()
		if !cfg.StartAt.IsZero() {
			s.clk = shiftedClock{Clock: s.clk, offset: time.Until(cfg.StartAt)}
		}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.cfg.Namespace == "" {
		s.cfg.Namespace = "demo"
	}
	secret := cfg.Secret
	if secret == nil {
		secret = make([]byte, 32)
		rand.Read(secret)
	}
	s.sessions = cookieSigner{key: deriveKey(secret, s.cfg.Namespace, "session")}
	s.limiter = newClientLimiter(cfg.ClientLimit, 10_000)

	var err error
	if s.camp, err = loadCampaign(cfg, s.clk.Now()); err != nil {
		return nil, err
	}
	s.slots = cfg.Slots
	switch {
	case s.slots != nil && s.camp.slots != nil:
		return nil, fmt.Errorf("%w: -slots and a campaign file with slots: give them once", errConfig)
	case s.slots == nil && s.camp.slots != nil:
		s.slots = s.camp.slots
		if errs := checkSlots(s.slots); errs != nil {
			return nil, fmt.Errorf("%w: -campaign: %s", errConfig, strings.Join(errs, "; "))
		}
	case s.slots == nil:
		s.slots = demoSlots()
	}
	s.slotByID = make(map[string]slotSpec, len(s.slots))
	for _, sl := range s.slots {
		s.slotByID[sl.ID] = sl
	}
	if err := s.initParts(secret); err != nil {
		return nil, err
	}
	if s.tmpl, err = loadTemplates(); err != nil {
		return nil, err
	}
	if s.ui, err = pages.New(pages.Options{
		Zone:       s.camp.zone,
		Languages:  map[string]map[string]string{"en": appEnglish, "ko": appKorean},
		WaitingURL: "/queue",
		SignInURL:  "/signin",
		IconURL:    "/static/favicon.svg",
		MaxPoll:    s.cfg.MaxPoll,
		Clock:      s.clk,
		Notice:     func(*http.Request) string { return s.currentNotice() },
	}); err != nil {
		return nil, err
	}
	s.metrics = newMetrics()
	if err := s.initBackends(secret); err != nil {
		s.Close()
		return nil, err
	}
	s.metrics.reg.MustRegister(newFiguresCollector(s))

	if err := s.initGate(); err != nil {
		s.Close()
		return nil, err
	}
	// The one route table, registered through the gate's Mux: each route
	// is classified and mounted in one call, so none is unclassified.
	s.table = s.routes()
	s.mux = s.gate.NewMux()
	for _, rt := range s.table {
		if rt.access == 0 {
			return nil, fmt.Errorf("route table: %q has no class", rt.pattern)
		}
		h := rt.handler
		if rt.access == accessBooking {
			h = s.needPass(h)
		}
		s.mux.Handle(rt.access.allowance(), rt.pattern, s.observe(rt.pattern, h))
	}
	s.handler = s.secure(s.crossOrigin(s.mux))
	return s, nil
}

// Handler is the server's whole HTTP handler, gate included.
func (s *server) Handler() http.Handler { return s.handler }

// Close releases what the server opened (Redis clients it dialled).
func (s *server) Close() error {
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i]())
	}
	s.closers = nil
	return errors.Join(errs...)
}

func (s *server) campaignName() string { return s.camp.name }

// observe wraps a route's handler: it counts the request for the metrics
// and tells tests which route ran.
func (s *server) observe(pattern string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.onHandle != nil {
			s.onHandle(pattern)
		}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		start := time.Now() // latency is real elapsed time, whatever the injected clock says
		h.ServeHTTP(sw, r)
		s.metrics.observeRequest(pattern, sw.status, time.Since(start))
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// secure sets the headers every response carries, bounds the request body,
// and turns a panic into a 500 instead of a dropped connection.
func (s *server) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "+
			"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic serving request", "path", r.URL.Path, "panic", v)
				s.fail(w, r, http.StatusInternalServerError, "err.panic", 0)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// crossOrigin refuses state-changing requests sent by a browser from
// another origin (cross-site request forgery), for forms and JSON alike.
// Requests without browser headers (API clients, the rush simulator) pass.
func (s *server) crossOrigin(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, http.StatusForbidden, "err.cross_origin", 0)
	}))
	return cop.Handler(next)
}

// wantsHTML reports whether the response should be a page rather than a
// problem document: not an /api/ path, and a client that accepts HTML.
func wantsHTML(r *http.Request) bool {
	if strings.HasPrefix(r.URL.Path, "/api/") || r.URL.Path == "/healthz" || r.URL.Path == "/metrics" {
		return false
	}
	accept := r.Header.Get("Accept")
	return accept == "" || strings.Contains(accept, "text/html") || strings.Contains(accept, "*/*")
}

// fail answers with an error: a problem+json document for API clients, an
// error page (same status) for browsers, in the request's language: the
// title is the catalog's key+".t", the detail key+".d" (with args).
func (s *server) fail(w http.ResponseWriter, r *http.Request, status int, key string, retryAfter time.Duration, args ...any) {
	l := s.lang(r)
	s.failProblem(w, r, problem.Problem{Status: status, Title: l.T(key + ".t"), Detail: l.T(key+".d", args...),
		Instance: r.URL.Path}, retryAfter)
}

// deny answers a refusal of the gate or the waiting room
// (window.GateOptions.Deny, admission.Options.Deny): the library's page
// for people in their language, the problem document for programs.
func (s *server) deny(w http.ResponseWriter, r *http.Request, ref *problem.Refusal) {
	if wantsHTML(r) {
		s.ui.RefusalPage(w, r, ref)
		return
	}
	ref.Write(w)
}

// roomDeny answers the pass check's refusals (Room.Protect): a browser
// without a session or a pass is sent to sign in or to the waiting room;
// anything else as deny does.
func (s *server) roomDeny(w http.ResponseWriter, r *http.Request, ref *problem.Refusal) {
	if wantsHTML(r) && r.Method == http.MethodGet && ref.Status == http.StatusUnauthorized {
		if _, err := s.readSession(r, s.clk.Now()); err != nil {
			http.Redirect(w, r, "/signin", http.StatusSeeOther)
		} else {
			http.Redirect(w, r, "/queue", http.StatusSeeOther)
		}
		return
	}
	s.deny(w, r, ref)
}

func (s *server) failProblem(w http.ResponseWriter, r *http.Request, p problem.Problem, retryAfter time.Duration) {
	if !wantsHTML(r) {
		problem.Write(w, p, retryAfter)
		return
	}
	if retryAfter > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(problem.RetryAfterSeconds(retryAfter)))
	}
	s.render(w, r, p.Status, "error", view{Title: p.Title, Data: p})
}

// localized returns errs with each message (a catalog key) and field
// label in the language l, as people read them.
func localized(l *pages.Lang, errs []fieldError) []fieldError {
	out := make([]fieldError, len(errs))
	for i, e := range errs {
		out[i] = fieldError{Field: e.Field, Message: l.T(e.Message, "max", maxNameRunes)}
	}
	return out
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		problem.Write(w, problem.Problem{Status: http.StatusInternalServerError, Detail: "encoding the answer failed"}, 0)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// errBody is a request body that could not be read as the JSON object the
// endpoint wants.
type errBody struct {
	status int
	msg    string
}

func (e errBody) Error() string { return e.msg }

// decodeJSON reads the request's JSON object into v: the content type must
// be JSON, unknown fields and trailing data are refused, and the body is
// bounded by secure's MaxBytesReader.
func decodeJSON(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return errBody{http.StatusUnsupportedMediaType, "send the body as application/json"}
		}
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return errBody{http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes", mbe.Limit)}
		case errors.Is(err, io.EOF):
			return errBody{http.StatusBadRequest, "the body is empty; send a JSON object"}
		}
		return errBody{http.StatusBadRequest, "the body is not the JSON object expected: " + err.Error()}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errBody{http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes", mbe.Limit)}
		}
		return errBody{http.StatusBadRequest, "the body has data after the JSON object"}
	}
	return nil
}

// badBody answers a body decodeJSON refused, or a form ParseForm refused.
func (s *server) badBody(w http.ResponseWriter, r *http.Request, err error) {
	var eb errBody
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &eb):
		s.failProblem(w, r, problem.Problem{Status: eb.status, Title: http.StatusText(eb.status), Detail: eb.msg, Instance: r.URL.Path}, 0)
	case errors.As(err, &mbe):
		s.fail(w, r, http.StatusRequestEntityTooLarge, "err.too_large", 0, "n", mbe.Limit)
	default:
		s.fail(w, r, http.StatusBadRequest, "err.bad_form", 0)
	}
}

// invalid answers a request whose fields are wrong: 422 with the list of
// problems.
func (s *server) invalid(w http.ResponseWriter, r *http.Request, errs []fieldError) {
	l := s.lang(r)
	errs = localized(l, errs)
	detail := make([]string, len(errs))
	for i, e := range errs {
		detail[i] = e.Error()
	}
	s.failProblem(w, r, problem.Problem{
		Status:     http.StatusUnprocessableEntity,
		Title:      l.T("err.invalid.t"),
		Detail:     strings.Join(detail, "; "),
		Instance:   r.URL.Path,
		Extensions: map[string]any{"errors": errs},
	}, 0)
}

func (s *server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	io.WriteString(w, "ok\n")
}
