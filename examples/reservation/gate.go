package main

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gatehouse-go/gatehouse/internal/problem"
	"github.com/gatehouse-go/gatehouse/window"
)

// maintenanceRetry is the Retry-After sent while maintenance is on.
const maintenanceRetry = time.Minute

// gateState is the phase-1 stand-in for window's gate: the schedule and a
// maintenance flag.
type gateState struct {
	maintenance atomic.Bool
	token       string
}

func newOperatorToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *server) operatorToken() string { return s.gate.token }

// isOperator reports whether r carries a valid operator credential: the
// operator cookie set by /operator/signin, or an X-Operator-Token header.
func (s *server) isOperator(r *http.Request, now time.Time) bool {
	tok := r.Header.Get("X-Operator-Token")
	if tok == "" {
		if c, err := r.Cookie(operatorCookie); err == nil {
			tok = c.Value
		}
	}
	return tok != "" && s.verifyOperatorToken(tok, now)
}

func (s *server) verifyOperatorToken(tok string, now time.Time) bool {
	return subtle.ConstantTimeCompare([]byte(tok), []byte(s.gate.token)) == 1
}

// phase is the campaign's phase at now, maintenance included.
func (s *server) phase(now time.Time) (window.Phase, window.State) {
	st := s.camp.schedule.At(now)
	if s.gate.maintenance.Load() {
		return window.Maintenance, st
	}
	return st.Phase, st
}

// guard is the gate around the whole mux: a request passes only if the
// route it matches is open in the current phase, or the caller is an
// operator. A request that matches no route never reaches a handler.
func (s *server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := s.clk.Now()
		phase, st := s.phase(now)
		_, class, ok := s.route(r)
		op := s.isOperator(r, now)
		switch {
		case !ok && phase == window.Maintenance && !op:
			s.refuse(w, r, accessLanding, phase, st)
		case !ok:
			s.unrouted(w, r)
		case op || class.allows(phase):
			next.ServeHTTP(w, r)
		default:
			s.refuse(w, r, class, phase, st)
		}
	})
}

// refuse explains why the gate stopped a request of class a in phase p.
func (s *server) refuse(w http.ResponseWriter, r *http.Request, a access, p window.Phase, st window.State) {
	ext := map[string]any{"phase": p.String()}
	if !st.OpensAt.IsZero() {
		ext["opens_at"] = st.OpensAt.In(s.camp.zone).Format(time.RFC3339)
		ext["closes_at"] = st.ClosesAt.In(s.camp.zone).Format(time.RFC3339)
	}
	pr := problem.Problem{Status: http.StatusForbidden, Instance: r.URL.Path, Extensions: ext}
	var retry time.Duration
	switch {
	case p == window.Maintenance:
		pr.Status, pr.Title = http.StatusServiceUnavailable, "Closed for maintenance"
		pr.Detail = "The service is closed for maintenance. Please come back in a few minutes."
		retry = maintenanceRetry
	case a == accessOperator:
		pr.Status, pr.Title = http.StatusUnauthorized, "Operators only"
		pr.Detail = "This page is for operators; sign in at /operator/signin."
	case p == window.Closed:
		pr.Title, pr.Detail = "Closed", "Booking for this campaign has closed."
	case p == window.NotYet:
		pr.Title = "Not open yet"
		pr.Detail = "This page opens with the waiting room at " + s.fmtTime(st.Next) + "."
		retry = s.clk.Until(st.Next)
	case a == accessBooking:
		pr.Title = "Booking has not opened"
		pr.Detail = "Booking opens at " + s.fmtTime(st.OpensAt) + "."
		retry = s.clk.Until(st.OpensAt)
	default:
		pr.Title, pr.Detail = "Not available now", "This page is not available in the current phase ("+p.String()+")."
	}
	s.failProblem(w, r, pr, retry)
}

// fmtTime formats an instant in the campaign's zone for people.
func (s *server) fmtTime(t time.Time) string {
	if t.IsZero() {
		return "(none)"
	}
	return t.In(s.camp.zone).Format("Mon 2 Jan 2006 15:04 MST")
}

// bearer returns the token of an "Authorization: Bearer" header.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}
