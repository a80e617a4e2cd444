package main

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse-go/gatehouse/admission/pages"
	"github.com/gatehouse-go/gatehouse/window"
)

// operatorTTL bounds how long the console's cookie is kept; the token in
// it expires on its own schedule.
const operatorTTL = 8 * time.Hour

func (s *server) operatorSignInPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "operator_signin", view{Title: s.lang(r).T("op.signin_title")})
}

// operatorSignIn checks the token (window.Keyring.Verify) and, if valid,
// keeps it in an HttpOnly cookie that the gate verifies on every request.
func (s *server) operatorSignIn(w http.ResponseWriter, r *http.Request) {
	now := s.clk.Now()
	if s.overLimit(w, r, now) {
		return
	}
	if err := r.ParseForm(); err != nil {
		s.badBody(w, r, err)
		return
	}
	tok := r.PostForm.Get("token")
	if _, err := s.operators.Verify(now, tok); tok == "" || err != nil {
		s.render(w, r, http.StatusUnauthorized, "operator_signin", view{Title: s.lang(r).T("op.signin_title"),
			Errors: localized(s.lang(r), []fieldError{{Field: "token", Message: "fe.bad_token"}})})
		return
	}
	s.setCookie(w, r, operatorCookie, tok, operatorTTL)
	http.Redirect(w, r, "/operator", http.StatusSeeOther)
}

// operatorOnly checks, behind the gate, that the request came through as
// an operator: the gate lets only operators reach these routes, and this
// says so again where it matters.
func (s *server) operatorOnly(w http.ResponseWriter, r *http.Request) bool {
	if _, ok := window.OperatorFromContext(r.Context()); ok {
		return true
	}
	s.fail(w, r, http.StatusNotFound, "err.not_found", 0)
	return false
}

func (s *server) operatorSignOut(w http.ResponseWriter, r *http.Request) {
	if !s.operatorOnly(w, r) {
		return
	}
	s.clearCookie(w, r, operatorCookie)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *server) operatorMaintenance(w http.ResponseWriter, r *http.Request) {
	if !s.operatorOnly(w, r) {
		return
	}
	if err := r.ParseForm(); err != nil {
		s.badBody(w, r, err)
		return
	}
	on, err := strconv.ParseBool(r.PostForm.Get("on"))
	if err != nil {
		s.invalid(w, r, []fieldError{{Field: "on", Message: "fe.bool"}})
		return
	}
	if err := s.setMaintenance(r.Context(), on); err != nil {
		s.fail(w, r, http.StatusServiceUnavailable, "err.switch", 5*time.Second)
		return
	}
	op, _ := window.OperatorFromContext(r.Context())
	s.log.Info("maintenance switched", "on", on, "operator", op.Name)
	if !wantsHTML(r) {
		writeJSON(w, http.StatusOK, map[string]bool{"maintenance": on})
		return
	}
	http.Redirect(w, r, "/operator", http.StatusSeeOther)
}

// namedValue is one figure on the console.
type namedValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// slotFigures is one slot's line on the console.
type slotFigures struct {
	ID       string `json:"id"`
	Label    string `json:"label"`
	Capacity int    `json:"capacity"`
	Booked   int    `json:"booked"`
	Held     int    `json:"held"`
	Left     int    `json:"left"`
}

// roomFigures is the waiting room's state on the console and in
// GET /api/operator/stats.
type roomFigures struct {
	Room           string  `json:"room"`
	OpensAt        string  `json:"opens_at"`
	Joined         uint64  `json:"joined"`
	EarlyArrivals  int64   `json:"early_arrivals"`
	Waiting        int64   `json:"waiting"`
	Active         int64   `json:"active"`
	Admitted       uint64  `json:"admitted"`
	AdmittedPerMin float64 `json:"admitted_per_minute"`
	RateLimit      int     `json:"rate_limit_per_minute"`
	MaxActive      int     `json:"max_active"`
	SeedCommitment string  `json:"seed_commitment"`
	Seed           string  `json:"seed,omitempty"`
	ETASamples     int64   `json:"eta_samples"`
	ETAInside      float64 `json:"eta_inside_ratio"`
	Error          string  `json:"error,omitempty"`
}

type operatorView struct {
	Maintenance bool          `json:"maintenance"`
	SwitchError string        `json:"switch_error,omitempty"`
	Phase       string        `json:"phase"`
	Room        *roomFigures  `json:"room"`
	RoomList    []namedValue  `json:"-"`
	Slots       []slotFigures `json:"slots"`
	SlotsError  string        `json:"slots_error,omitempty"`
}

func (s *server) operatorFigures(ctx context.Context, l *pages.Lang) operatorView {
	now := s.clk.Now()
	phase, _ := s.phase(ctx, now)
	v := operatorView{Phase: phase.String()}
	on, err := s.maintenanceOn(ctx)
	v.Maintenance = on
	if err != nil {
		v.SwitchError = err.Error()
	}
	if room := s.roomAt(now); room != nil {
		rf := &roomFigures{Room: room.Name(), OpensAt: room.Opening().In(s.camp.zone).Format(time.RFC3339),
			SeedCommitment: room.SeedCommitment(), RateLimit: s.cfg.Rate, MaxActive: s.cfg.MaxActive}
		if seed, ok := room.Seed(now); ok {
			rf.Seed = seed.String()
		}
		st, err := room.Stats(ctx)
		if err != nil {
			rf.Error = err.Error()
		} else {
			rf.Joined, rf.EarlyArrivals, rf.Waiting = st.Joined, st.Early, st.Waiting()
			rf.Active, rf.Admitted, rf.AdmittedPerMin = st.Active, st.Admitted, st.Drain.PerMinute()
			rf.ETASamples, rf.ETAInside = st.Calibration.Samples, st.Calibration.Ratio()
		}
		v.Room = rf
		v.RoomList = rf.list(l)
	}
	av, err := s.availability(ctx, l)
	if err != nil {
		v.SlotsError = err.Error()
	}
	for _, a := range av {
		v.Slots = append(v.Slots, slotFigures{ID: a.ID, Label: a.Label, Capacity: a.Capacity, Booked: a.Booked, Held: a.Held, Left: a.Left})
	}
	return v
}

// list is the room's figures for people, in the language l.
func (rf *roomFigures) list(l *pages.Lang) []namedValue {
	if rf.Error != "" {
		return []namedValue{{l.T("op.f.room"), rf.Room}, {l.T("op.f.store"), l.T("op.f.unavailable", "err", rf.Error)}}
	}
	early := l.T("op.f.early_unfixed")
	if rf.EarlyArrivals >= 0 {
		early = strconv.FormatInt(rf.EarlyArrivals, 10)
	}
	seed := l.T("op.f.seed_later")
	if rf.Seed != "" {
		seed = rf.Seed
	}
	opens := rf.OpensAt
	if t, err := time.Parse(time.RFC3339, rf.OpensAt); err == nil {
		opens = l.When(t)
	}
	return []namedValue{
		{l.T("op.f.room"), rf.Room},
		{l.T("op.f.opens"), opens},
		{l.T("op.f.joined"), strconv.FormatUint(rf.Joined, 10)},
		{l.T("op.f.early"), early},
		{l.T("op.f.waiting"), strconv.FormatInt(rf.Waiting, 10)},
		{l.T("op.f.active"), l.T("op.f.active_v", "n", rf.Active, "max", rf.MaxActive)},
		{l.T("op.f.admitted"), strconv.FormatUint(rf.Admitted, 10)},
		{l.T("op.f.rate"), l.T("op.f.rate_v", "rate", fmt.Sprintf("%.1f", rf.AdmittedPerMin), "limit", rf.RateLimit)},
		{l.T("op.f.eta"), l.T("op.f.eta_v", "pct", fmt.Sprintf("%.0f", 100*rf.ETAInside), "n", rf.ETASamples)},
		{l.T("op.f.commitment"), rf.SeedCommitment},
		{l.T("op.f.seed"), seed},
	}
}

func (s *server) operatorPage(w http.ResponseWriter, r *http.Request) {
	if !s.operatorOnly(w, r) {
		return
	}
	s.render(w, r, http.StatusOK, "operator", view{Title: s.lang(r).T("op.title"), Data: s.operatorFigures(r.Context(), s.lang(r))})
}

func (s *server) apiOperatorStats(w http.ResponseWriter, r *http.Request) {
	if !s.operatorOnly(w, r) {
		return
	}
	writeJSON(w, http.StatusOK, s.operatorFigures(r.Context(), s.lang(r)))
}
