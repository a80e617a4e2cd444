package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/gatehouse-go/gatehouse/slots"
	"github.com/gatehouse-go/gatehouse/window/problem"
)

// guard is the gate around the whole mux (window.Gate.Guard): a request
// passes only if the route it matches is open in the current phase, or it
// carries a valid operator token. Refusals stay the gate's; this wrapper
// only changes their form: browsers get an HTML page with the same status
// and Retry-After, and a method the route does not take gets 405 with
// Allow instead of the gate's 404.
func (s *server) guard(next http.Handler) http.Handler {
	return s.reshapeRefusals(s.gate.Guard, next, nil)
}

// reshapeRefusals wraps next in the middleware wrap (the gate, or the
// waiting room's pass check) and reshapes the answers that wrap gives
// itself, without calling next: for a browser, the problem document
// becomes an error page, or whatever onPage does with it. Answers of next
// pass untouched.
func (s *server) reshapeRefusals(wrap func(http.Handler) http.Handler, next http.Handler,
	onPage func(w http.ResponseWriter, r *http.Request, status int, p problem.Problem) bool) http.Handler {
	reachedKey := new(int) // a context key of this wrapper alone
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f, ok := r.Context().Value(reachedKey).(*bool); ok {
			*f = true
		}
		next.ServeHTTP(w, r)
	})
	outer := wrap(inner)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached := new(bool)
		r = r.WithContext(context.WithValue(r.Context(), reachedKey, reached))
		cw := &catchWriter{ResponseWriter: w, reached: reached}
		outer.ServeHTTP(cw, r)
		if !cw.caught {
			return
		}
		status := cw.status
		var p problem.Problem
		var raw map[string]any
		if json.Unmarshal(cw.body.Bytes(), &raw) == nil {
			p = problemFrom(raw, status)
		} else {
			p = problem.Problem{Status: status, Title: http.StatusText(status)}
		}
		if status == http.StatusNotFound {
			if allow := s.allowedMethods(r); allow != "" {
				w.Header().Set("Allow", allow)
				status = http.StatusMethodNotAllowed
				p = problem.Problem{Status: status, Title: "Method not allowed",
					Detail: r.Method + " is not allowed here; use " + allow + "."}
			}
		}
		p.Instance = r.URL.Path
		if wantsHTML(r) {
			w.Header().Del("Content-Type")
			if onPage != nil && onPage(w, r, status, p) {
				return
			}
			s.render(w, r, status, "error", view{Title: p.Title, Data: p})
			return
		}
		if status != cw.status {
			problem.Write(w, p, 0) // Retry-After, if any, is already set
			return
		}
		w.WriteHeader(status)
		w.Write(cw.body.Bytes())
	})
}

// problemFrom rebuilds a problem from its JSON form.
func problemFrom(raw map[string]any, status int) problem.Problem {
	p := problem.Problem{Status: status, Extensions: map[string]any{}}
	for k, v := range raw {
		str, _ := v.(string)
		switch k {
		case "type":
			p.Type = str
		case "title":
			p.Title = str
		case "detail":
			p.Detail = str
		case "status", "instance":
		default:
			p.Extensions[k] = v
		}
	}
	if p.Title == "" {
		p.Title = http.StatusText(status)
	}
	return p
}

// catchWriter holds back what a middleware writes before it calls next: a
// refusal, which reshapeRefusals then rewrites.
type catchWriter struct {
	http.ResponseWriter
	reached *bool
	caught  bool
	decided bool
	status  int
	body    bytes.Buffer
}

func (w *catchWriter) WriteHeader(code int) {
	if w.decided {
		if !w.caught {
			w.ResponseWriter.WriteHeader(code)
		}
		return
	}
	w.decided = true
	if *w.reached {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.caught, w.status = true, code
}

func (w *catchWriter) Write(b []byte) (int, error) {
	if !w.decided {
		w.WriteHeader(http.StatusOK)
	}
	if w.caught {
		return w.body.Write(b)
	}
	return w.ResponseWriter.Write(b)
}

func (w *catchWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// allowedMethods returns the Allow header the mux gives a request whose
// path is routed but whose method is not, or "".
func (s *server) allowedMethods(r *http.Request) string {
	h, pattern := s.mux.Handler(r)
	if pattern != "" {
		return ""
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusMethodNotAllowed {
		return ""
	}
	return rec.Header().Get("Allow")
}

// commitGate is the slot service's Gate: at the one instant the service
// hands to the store, it checks the window (window.Gate.Require), the
// person's eligibility (eligibility.Campaign.Decide) and their pass
// (admission.Room.Verify). Who books comes in the request's Proof (a
// booker), which the service hands over as slots.Attempt.Proof.
type commitGate struct{ s *server }

// booker is who is booking, for commitGate.
type booker struct {
	sess session
	pass string
}

// Errors of the commit check (all wrapped in slots.ErrClosed by the
// service).
var (
	errNoBooker       = fmt.Errorf("no person in the booking request")
	errNotEligibleNow = fmt.Errorf("not eligible to book now")
)

func (g commitGate) Require(ctx context.Context, now time.Time, a slots.Attempt) error {
	if err := g.s.gate.Require(ctx, now); err != nil {
		return err
	}
	b, ok := a.Proof.(booker)
	if !ok || g.s.personID(b.sess) != a.Person {
		return errNoBooker
	}
	if d := g.s.decide(b.sess, now); d.Status.String() != "open" {
		return fmt.Errorf("%w: %s", errNotEligibleNow, d)
	}
	room := g.s.roomAt(now)
	if room == nil {
		return errNoRoom
	}
	return room.Verify(b.pass, b.sess.identity(), now)
}

// passFor returns the pass a request carries: the Gatehouse-Pass header,
// an "Authorization: Bearer" header, or the pass cookie.
func passFor(r *http.Request) string {
	if p := r.Header.Get("Gatehouse-Pass"); p != "" {
		return p
	}
	if p := bearer(r); p != "" {
		return p
	}
	if c, err := r.Cookie(passCookie); err == nil {
		return c.Value
	}
	return ""
}

// bearer returns the token of an "Authorization: Bearer" header.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// fmtTime formats an instant in the campaign's zone for people.
func (s *server) fmtTime(t time.Time) string {
	if t.IsZero() {
		return "(none)"
	}
	return t.In(s.camp.zone).Format(timeLayout)
}
