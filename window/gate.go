package window

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/gatehouse-go/gatehouse/window/problem"
)

// Sentinel errors of Gate.Require, wrapped by every *Refusal.
var (
	// ErrNotOpen: booking has not opened yet (phase NotYet or PreQueue).
	ErrNotOpen = errors.New("window: not open yet")
	// ErrClosed: every opening is over.
	ErrClosed = errors.New("window: closed")
	// ErrMaintenance: the maintenance switch is on, or cannot be read (the
	// refusal then also wraps the switch's error, which wraps
	// ErrSwitchUnavailable).
	ErrMaintenance = errors.New("window: under maintenance")
	// ErrNoRoute: no public route matches the request (unclassified,
	// operators only, or the wrong method); Guard answers 404 or 405.
	ErrNoRoute = errors.New("window: no such route")
	// ErrNotAllowed: the route is not available in the current phase,
	// though another phase would allow it (only Guard refuses with it,
	// for example a pre-queue-only route while booking is open).
	ErrNotAllowed = errors.New("window: not available in this phase")
)

// Defaults of GateOptions.
const (
	// DefaultMaintenanceRetryAfter is the default Retry-After of a
	// maintenance refusal.
	DefaultMaintenanceRetryAfter = time.Minute
	// DefaultOutageRetryAfter is the default Retry-After of a refusal
	// because the maintenance switch cannot be read.
	DefaultOutageRetryAfter = 5 * time.Second
)

// GateOptions configures a Gate. Only Schedule is required; the zero value
// of every other field is its documented default.
type GateOptions struct {
	// Schedule is the campaign's openings and zone. Required, and must
	// pass Schedule.Validate. The gate keeps a copy.
	Schedule Schedule
	// Switch is the maintenance switch, shared by every instance in
	// production (NewRedisSwitch). Nil means a new MemorySwitch, off,
	// which Gate.Switch returns.
	Switch Switch
	// Operators verifies operator tokens (a *Keyring). Nil means no
	// operator can pass.
	Operators OperatorVerifier
	// OperatorCookie, when set, names a cookie that may carry the operator
	// token, besides the "Authorization: Operator <token>" header (which
	// wins when both are present). Protect cookie-authenticated mutating
	// routes against cross-site requests (http.CrossOriginProtection).
	OperatorCookie string
	// Routes classify the public routes; Gate.Allow adds more. A route
	// nobody classified is refused in every phase.
	Routes []Route
	// Clock is where Guard reads the time. Nil means clock.New().
	Clock clock.Clock
	// Logger receives switch outages and recoveries (Warn, Info) and
	// refusals (Debug). Nil discards. Operator names and request paths are
	// never logged.
	Logger *slog.Logger
	// Observer, when set, is called with every decision Guard makes, on
	// the request's goroutine, before the request is served or refused.
	// It must be fast and safe for concurrent use (count, don't block).
	Observer func(Event)
	// Deny, when set, answers every request Guard refuses, with the typed
	// refusal (status, code, phase, opening times in the campaign's zone,
	// Retry-After and the problem document), in the manner of
	// http.CrossOriginProtection.SetDenyHandler: to render a page for
	// people, or shape the answer otherwise. Nil writes the problem
	// document (problem.Refusal.Write).
	Deny problem.DenyFunc
	// MaintenanceRetryAfter is the Retry-After sent with maintenance
	// refusals. Default DefaultMaintenanceRetryAfter (1 min).
	MaintenanceRetryAfter time.Duration
	// OutageRetryAfter is the Retry-After sent when the switch cannot be
	// read. Default DefaultOutageRetryAfter (5 s).
	OutageRetryAfter time.Duration
}

// OpGuard is the Op of the Event of each request Guard decides.
const OpGuard = "guard"

// Event is what Guard decided for one request, for GateOptions.Observer:
// the same shape as every gatehouse package's observer event (Op,
// Duration, Err) with the gate's own fields.
type Event struct {
	// Op is OpGuard.
	Op string
	// Duration is the time the decision took, measured on the gate's
	// injected clock (zero under a mock clock that does not move).
	Duration time.Duration
	// Err is why the request was refused (a *Refusal, or ErrNoRoute),
	// nil when it was let through.
	Err error
	// Phase is the phase the decision was made in: Maintenance when the
	// switch is on or cannot be read. For a route open both in the
	// scheduled phase and in maintenance Guard does not ask the switch,
	// and Phase is the schedule's.
	Phase Phase
	// Pattern is the classified pattern the request matched, or "" if
	// none did.
	Pattern string
	// Allowed reports whether the request was let through.
	Allowed bool
	// Operator reports that it was let through only because it carried a
	// valid operator token.
	Operator bool
	// Status is the HTTP status of a refusal; 0 when allowed.
	Status int
	// SwitchErr is the maintenance switch's error, when it could not be
	// read.
	SwitchErr error
	// TokenErr is why an operator token the request carried was refused.
	TokenErr error
}

// Gate decides, at every instant, which routes the public may use: it
// wraps the whole mux (Guard) and denies by default, and gives the same
// decision to the booking path (Require). Build it with NewGate and
// classify routes with Allow (or GateOptions.Routes) before serving.
//
// The rules, in order:
//
//  1. The phase is the schedule's at the gate's clock's now, unless the
//     maintenance switch is on or cannot be read: then it is Maintenance.
//  2. A request whose route allows the phase passes.
//  3. A request carrying a valid operator token passes, whatever the
//     phase and route (classified or not), including during maintenance.
//  4. Anything else is refused with an RFC 9457 problem (see Refusal):
//     503 in maintenance; otherwise 404 for a route that is unclassified or
//     OperatorsOnly (the gate does not tell that it exists), or 405 with
//     Allow when only the method is wrong for a public route; otherwise 403
//     with the phase and the times of the current or next opening. Every
//     refusal goes through GateOptions.Deny when set.
//
// A Gate is safe for concurrent use.
type Gate struct {
	sched       Schedule
	sw          Switch
	ops         OperatorVerifier
	cookie      string
	clk         clock.Clock
	log         *slog.Logger
	observe     func(Event)
	deny        problem.DenyFunc
	maintRetry  time.Duration
	outageRetry time.Duration

	mux    *http.ServeMux
	routes routeMemo

	switchFailing atomic.Bool
}

// NewGate returns a gate for opts, or an error naming the option at fault.
func NewGate(opts GateOptions) (*Gate, error) {
	if err := opts.Schedule.Validate(); err != nil {
		return nil, fmt.Errorf("window: NewGate: %w", err)
	}
	if opts.MaintenanceRetryAfter < 0 || opts.OutageRetryAfter < 0 {
		return nil, errors.New("window: NewGate: negative Retry-After")
	}
	if opts.OperatorCookie != "" {
		if err := (&http.Cookie{Name: opts.OperatorCookie, Value: "x"}).Valid(); err != nil {
			return nil, fmt.Errorf("window: NewGate: OperatorCookie: %w", err)
		}
	}
	g := &Gate{
		sched:       Schedule{Zone: opts.Schedule.Zone, Openings: slices.Clone(opts.Schedule.Openings)},
		sw:          opts.Switch,
		ops:         opts.Operators,
		cookie:      opts.OperatorCookie,
		clk:         opts.Clock,
		log:         opts.Logger,
		observe:     opts.Observer,
		deny:        opts.Deny,
		maintRetry:  opts.MaintenanceRetryAfter,
		outageRetry: opts.OutageRetryAfter,
		mux:         http.NewServeMux(),
	}
	if g.sw == nil {
		g.sw = new(MemorySwitch)
	}
	if g.clk == nil {
		g.clk = clock.New()
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	if g.maintRetry == 0 {
		g.maintRetry = DefaultMaintenanceRetryAfter
	}
	if g.outageRetry == 0 {
		g.outageRetry = DefaultOutageRetryAfter
	}
	for i, r := range opts.Routes {
		if len(r.Patterns) == 0 {
			return nil, fmt.Errorf("window: NewGate: Routes[%d]: no patterns", i)
		}
		if err := g.allow(r.Allow, r.Patterns...); err != nil {
			return nil, fmt.Errorf("window: NewGate: Routes[%d]: %w", i, err)
		}
	}
	return g, nil
}

// Allow classifies routes: the public may use requests matching any of the
// patterns in the phases a names. Patterns are net/http ServeMux patterns
// ("GET /healthz", "/static/", "POST /api/book/{slot}", "example.com/"),
// matched by an internal ServeMux exactly as the application's ServeMux
// would match them, precedence included. A request that ServeMux would
// redirect (a missing trailing slash, an unclean path) or answer 405 does
// not match.
//
// Like http.ServeMux.Handle, Allow panics on an invalid pattern or one that
// conflicts with a pattern already classified, and on an invalid allowance;
// GateOptions.Routes reports the same mistakes as an error from NewGate.
// Classify routes before serving.
func (g *Gate) Allow(a Allowance, patterns ...string) {
	if err := g.allow(a, patterns...); err != nil {
		panic(err)
	}
}

func (g *Gate) allow(a Allowance, patterns ...string) (err error) {
	if err := a.valid(); err != nil {
		return err
	}
	for _, p := range patterns {
		if strings.TrimSpace(p) == "" {
			return errors.New("window: empty route pattern")
		}
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("window: classify route: %v", r)
		}
	}()
	for _, p := range patterns {
		g.mux.Handle(p, &routeClass{allow: a, pattern: p})
	}
	g.routes.reset()
	return nil
}

// Classify returns the allowance and pattern of the classified route r
// matches, or 0 and "" when it matches none. Use it to check, in a test,
// that every route of an application's mux is classified.
func (g *Gate) Classify(r *http.Request) (Allowance, string) {
	if rc := g.classify(r); rc != nil {
		return rc.allow, rc.pattern
	}
	return 0, ""
}

// classify finds the classified route r matches, through the memo when it
// can: net/http's ServeMux allocates to match wildcard and prefix
// patterns, and the allow path should not.
func (g *Gate) classify(r *http.Request) *routeClass {
	if r.Method == http.MethodConnect || r.URL == nil {
		return g.match(r)
	}
	k := routeKey{method: r.Method, host: r.Host, path: r.URL.Path, rawPath: r.URL.RawPath}
	if rc, ok := g.routes.get(k); ok {
		return rc
	}
	rc := g.match(r)
	if rc != nil && len(k.host)+len(k.path)+len(k.rawPath) <= maxRouteMemoKey {
		g.routes.put(k, rc)
	}
	return rc
}

func (g *Gate) match(r *http.Request) *routeClass {
	h, _ := g.mux.Handler(r)
	rc, _ := h.(*routeClass)
	return rc
}

// Switch returns the gate's maintenance switch, for an operator console.
func (g *Gate) Switch() Switch { return g.sw }

// Schedule returns a copy of the gate's schedule.
func (g *Gate) Schedule() Schedule {
	return Schedule{Zone: g.sched.Zone, Openings: slices.Clone(g.sched.Openings)}
}

// State returns the campaign's state at now, for pages that show it: the
// schedule's, with Phase set to Maintenance when the switch is on or cannot
// be read (the error then says why; Scheduled keeps the schedule's phase).
func (g *Gate) State(ctx context.Context, now time.Time) (State, error) {
	st := g.sched.At(now)
	on, err := g.sw.On(ctx)
	g.noteSwitch(err)
	if on || err != nil {
		st.Phase = Maintenance
	}
	return st, err
}

// Require is the gate's decision for code that is not an HTTP handler: the
// booking path calls it with the same now it passes to the slot store. It
// returns nil only when the schedule is Open at now and the maintenance
// switch is readable and off. Otherwise it returns a *Refusal (use
// errors.As) wrapping ErrNotOpen (not yet, or pre-queue), ErrClosed or
// ErrMaintenance (also when the switch cannot be read, then wrapping the
// switch's error as well). Boundaries are half-open: at a booking window's
// Start exactly Require returns nil, at its End exactly it refuses.
//
// Require does not allocate when it returns nil.
func (g *Gate) Require(ctx context.Context, now time.Time) error {
	on, err := g.sw.On(ctx)
	g.noteSwitch(err)
	st := g.sched.At(now)
	if on || err != nil {
		return g.refusal(st, Maintenance, err, DuringOpen, now)
	}
	if st.Phase == Open {
		return nil
	}
	return g.refusal(st, st.Phase, nil, DuringOpen, now)
}

// noteSwitch logs when the switch starts and stops failing.
func (g *Gate) noteSwitch(err error) {
	failing := err != nil
	if g.switchFailing.Load() == failing || !g.switchFailing.CompareAndSwap(!failing, failing) {
		return
	}
	if failing {
		g.log.Warn("window: maintenance switch unreadable; refusing as in maintenance", "err", err)
	} else {
		g.log.Info("window: maintenance switch readable again")
	}
}

// refusal builds the refusal for a request or booking refused in phase,
// for a route allowed in a.
func (g *Gate) refusal(st State, phase Phase, swErr error, a Allowance, now time.Time) *Refusal {
	r := &Refusal{Phase: phase, OpensAt: st.OpensAt, ClosesAt: st.ClosesAt, Cause: swErr}
	switch {
	case phase == Maintenance && swErr != nil:
		r.RetryAfter = g.outageRetry
	case phase == Maintenance:
		r.RetryAfter = g.maintRetry
	default:
		if t := g.nextAllowed(a, now); !t.IsZero() && t.After(now) {
			r.RetryAfter = t.Sub(now)
		}
	}
	return r
}

// nextAllowed returns the first instant at or after now whose scheduled
// phase a allows, or the zero time if none.
func (g *Gate) nextAllowed(a Allowance, now time.Time) time.Time {
	t := now
	for range 3*len(g.sched.Openings) + 2 {
		st := g.sched.At(t)
		if a.Allows(st.Phase) {
			return t
		}
		if st.Next.IsZero() || !st.Next.After(t) {
			return time.Time{}
		}
		t = st.Next
	}
	return time.Time{}
}

// Guard wraps next, normally the application's whole mux, so that every
// request passes the gate's rules (see Gate) before next sees it. A request
// let through as an operator carries the Operator in its context
// (OperatorFromContext).
//
// Guard classifies the request before it asks the switch, and does not ask
// it for a route that allows both the scheduled phase and maintenance (such
// as an Always route): the answer is yes either way, so such routes never
// wait on a stalled switch (Decision.Phase is then the schedule's). Other
// routes wait at most for one switch read (RedisOptions.Timeout)
// and are refused with 503 when the switch cannot be read.
//
// On the allow path Guard does not allocate, given a switch whose On does
// not (MemorySwitch, a fresh RedisSwitch reading): net/http's ServeMux
// allocates to match prefix and wildcard patterns, so the gate remembers
// the ServeMux's answer for up to 4096 distinct requests (method, host and
// path of at most 256 bytes; never evicted, so a flood of distinct paths
// can fill it but not churn it, and it never changes an answer).
func (g *Gate) Guard(next http.Handler) http.Handler {
	if next == nil {
		panic("window: Guard(nil)")
	}
	return &guarded{g: g, next: next}
}

type guarded struct {
	g    *Gate
	next http.Handler
}

func (h *guarded) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g := h.g
	now := g.clk.Now()
	var allow Allowance
	var pattern string
	if rc := g.classify(r); rc != nil {
		allow, pattern = rc.allow, rc.pattern
	}
	st := g.sched.At(now)
	phase := st.Phase
	var swErr error
	// A route open both in the scheduled phase and in maintenance passes
	// whatever the switch says: it does not wait for a switch read, so a
	// stalled switch never slows health checks and static assets.
	if !allow.Allows(phase) || !allow.Allows(Maintenance) {
		var on bool
		on, swErr = g.sw.On(r.Context())
		g.noteSwitch(swErr)
		if on || swErr != nil {
			phase = Maintenance
		}
	}
	if allow.Allows(phase) {
		if g.observe != nil {
			g.emit(Event{Phase: phase, Pattern: pattern, Allowed: true, SwitchErr: swErr}, now)
		}
		h.next.ServeHTTP(w, r)
		return
	}
	d := Event{Phase: phase, Pattern: pattern, SwitchErr: swErr}
	debug := g.log.Enabled(r.Context(), slog.LevelDebug)
	if token, ok := g.operatorToken(r); ok {
		op, err := g.verify(token, now)
		if err == nil {
			d.Allowed, d.Operator = true, true
			if g.observe != nil {
				g.emit(d, now)
			}
			h.next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), operatorKey{}, op)))
			return
		}
		d.TokenErr = err
		if debug {
			g.log.Debug("window: operator token refused", "err", err)
		}
	}
	if phase != Maintenance && (allow == 0 || allow == OperatorsOnly) {
		allowed := ""
		if allow == 0 {
			allowed = g.allowedMethods(r)
		}
		d.Status, d.Err = http.StatusNotFound, ErrNoRoute
		if allowed != "" {
			d.Status = http.StatusMethodNotAllowed
		}
		if g.observe != nil {
			g.emit(d, now)
		}
		if debug {
			g.log.Debug("window: refused unclassified route", "method", r.Method, "phase", phase)
		}
		if allowed != "" {
			w.Header().Set("Allow", allowed)
			problem.Deny(g.deny, w, r, problem.New("window", http.StatusMethodNotAllowed, problem.CodeMethod,
				"Method Not Allowed", r.Method+" is not allowed here; use "+allowed+".", r.URL.Path))
			return
		}
		problem.Deny(g.deny, w, r, problem.New("window", http.StatusNotFound, problem.CodeNotFound,
			"Not Found", "No such route.", r.URL.Path))
		return
	}
	ref := g.refusal(st, phase, swErr, allow, now)
	d.Status, d.Err = ref.Status(), ref
	if g.observe != nil {
		g.emit(d, now)
	}
	if debug {
		g.log.Debug("window: refused", "pattern", pattern, "phase", phase, "status", d.Status)
	}
	problem.Deny(g.deny, w, r, ref.Problem(r))
}

// emit reports e to the observer, timed from start on the gate's clock.
func (g *Gate) emit(e Event, start time.Time) {
	e.Op, e.Duration = OpGuard, g.clk.Now().Sub(start)
	g.observe(e)
}

// operatorToken returns the operator token r carries, from the
// Authorization header (scheme "Operator", case-insensitive) or else the
// operator cookie.
func (g *Gate) operatorToken(r *http.Request) (string, bool) {
	if g.ops == nil {
		return "", false
	}
	const scheme = "Operator "
	if auth := r.Header.Get("Authorization"); len(auth) > len(scheme) && strings.EqualFold(auth[:len(scheme)], scheme) {
		return strings.TrimSpace(auth[len(scheme):]), true
	}
	if g.cookie != "" {
		if c, err := r.Cookie(g.cookie); err == nil && c.Value != "" {
			return c.Value, true
		}
	}
	return "", false
}

func (g *Gate) verify(token string, now time.Time) (Operator, error) {
	if g.ops == nil {
		return Operator{}, fmt.Errorf("%w: no operator verifier configured", ErrInvalidToken)
	}
	return g.ops.Verify(now, token)
}

// VerifyOperator checks the operator token r carries (see
// GateOptions.OperatorCookie) at the gate's clock's now. An operator
// console's handlers call it to know who is acting: Guard lets operators
// through but does not check tokens on requests the public may make anyway.
func (g *Gate) VerifyOperator(r *http.Request) (Operator, error) {
	token, ok := g.operatorToken(r)
	if !ok {
		return Operator{}, fmt.Errorf("%w: no operator token in the request", ErrInvalidToken)
	}
	return g.verify(token, g.clk.Now())
}

type operatorKey struct{}

// OperatorFromContext returns the operator that Guard let a request through
// as, from the request's context. It reports false when the request passed
// as a member of the public (or was not guarded): use Gate.VerifyOperator
// to authenticate an operator on a route the public may also use.
func OperatorFromContext(ctx context.Context) (Operator, bool) {
	op, ok := ctx.Value(operatorKey{}).(Operator)
	return op, ok
}

// Refusal is why a Gate refused: the error Require returns, and the body
// of Guard's phase refusals. It wraps ErrNotOpen, ErrClosed, ErrMaintenance
// or ErrNotAllowed according to Phase, and Cause when set.
//
// As an http.Handler it writes itself as an RFC 9457 problem
// (application/problem+json): status 503 for maintenance and 403 otherwise,
// with the members "phase", and "opens_at" and "closes_at" in RFC 3339 with
// the campaign's offset (such as 2021-07-12T20:00:00+09:00) when known, and
// a Retry-After header when RetryAfter is positive. A booking handler that
// gets a Refusal from Require can serve it as is.
type Refusal struct {
	// Phase is the phase refused in: NotYet, PreQueue, Closed, Maintenance,
	// or Open for a route not available while booking is open.
	Phase Phase
	// OpensAt and ClosesAt are the current or next booking window, in the
	// campaign's zone; after the last opening, the last one. Zero when the
	// schedule has none.
	OpensAt, ClosesAt time.Time
	// RetryAfter is when to ask again: until the route's next allowed
	// phase for phase refusals, GateOptions.MaintenanceRetryAfter or
	// OutageRetryAfter in maintenance; zero when nothing is ahead.
	RetryAfter time.Duration
	// Cause is the maintenance switch's error when it could not be read.
	Cause error
}

func (r *Refusal) sentinel() error {
	switch r.Phase {
	case NotYet, PreQueue:
		return ErrNotOpen
	case Closed:
		return ErrClosed
	case Maintenance:
		return ErrMaintenance
	}
	return ErrNotAllowed
}

// Error describes the refusal.
func (r *Refusal) Error() string {
	var b strings.Builder
	b.WriteString(r.sentinel().Error())
	b.WriteString(" (phase ")
	b.WriteString(r.Phase.String())
	if !r.OpensAt.IsZero() {
		b.WriteString("; window ")
		b.WriteString(Window{Start: r.OpensAt, End: r.ClosesAt}.String())
	}
	b.WriteString(")")
	if r.Cause != nil {
		b.WriteString(": ")
		b.WriteString(r.Cause.Error())
	}
	return b.String()
}

// Unwrap returns the phase's sentinel error and Cause, if any.
func (r *Refusal) Unwrap() []error {
	if r.Cause != nil {
		return []error{r.sentinel(), r.Cause}
	}
	return []error{r.sentinel()}
}

// Status is the HTTP status of the refusal: 503 in maintenance, else 403.
func (r *Refusal) Status() int {
	if r.Phase == Maintenance {
		return http.StatusServiceUnavailable
	}
	return http.StatusForbidden
}

// ServeHTTP writes the refusal as an RFC 9457 problem; see Refusal.
func (r *Refusal) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.Problem(req).Write(w)
}

// Problem returns the refusal as the typed value a deny hook receives
// (GateOptions.Deny), its problem document filled in: type
// problem.TypeURI("window", code) with code not_yet, pre_queue, closed,
// maintenance, outage (the switch cannot be read) or not_allowed, and the
// members "code", "phase", "opens_at" and "closes_at". req gives the
// instance; it may be nil.
func (r *Refusal) Problem(req *http.Request) *problem.Refusal {
	instance := ""
	if req != nil && req.URL != nil {
		instance = req.URL.Path
	}
	opens := r.OpensAt.Format(time.RFC3339)
	var code, title, detail string
	switch r.Phase {
	case NotYet:
		code, title, detail = problem.CodeNotYet, "Not open yet", "Booking opens at "+opens+"."
	case PreQueue:
		code, title, detail = problem.CodePreQueue, "Not open yet", "The waiting room is open; booking opens at "+opens+"."
	case Closed:
		code, title, detail = problem.CodeClosed, "Closed", "Booking has closed."
	case Maintenance:
		code, title, detail = problem.CodeMaintenance, "Under maintenance", "The service is under maintenance."
		if r.Cause != nil {
			code, detail = problem.CodeOutage, "The service cannot tell whether it is under maintenance, so it is closed until it can."
		}
	default:
		code, title = problem.CodeNotAllowed, "Not available now"
		detail = "This is not available while the campaign is in phase " + r.Phase.String() + "."
	}
	if r.OpensAt.IsZero() && (r.Phase == NotYet || r.Phase == PreQueue) {
		detail = "Booking is not open yet."
	}
	ref := problem.New("window", r.Status(), code, title, detail, instance)
	ref.Phase, ref.OpensAt, ref.ClosesAt, ref.RetryAfter, ref.Err = r.Phase.String(), r.OpensAt, r.ClosesAt, r.RetryAfter, r
	return ref.Finish()
}
