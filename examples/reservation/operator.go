package main

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-go/gatehouse/admission"
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
	// No person signs in here: the limit applies only per address, when
	// the operator asked for that (a token's 256-bit MAC cannot be
	// guessed, and one shared bucket would let anyone lock operators out).
	if s.overLimit(w, r, now, "") {
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
	if wantsHTML(r) && r.PostForm.Get("confirm") != "yes" {
		// The console asks first: maintenance closes the site to everyone.
		s.render(w, r, http.StatusOK, "operator_confirm", view{Title: s.lang(r).T("op.confirm_title"), Data: on})
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
	ID string `json:"id"`
	// Partition is the slot's region with -partition.
	Partition string `json:"partition,omitempty"`
	Label     string `json:"label"`
	Capacity  int    `json:"capacity"`
	Booked    int    `json:"booked"`
	Held      int    `json:"held"`
	Left      int    `json:"left"`
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
	Burst          int     `json:"burst"`
	MaxActive      int     `json:"max_active"`
	MinRate        int     `json:"min_rate_per_minute,omitempty"`
	MaxRate        int     `json:"max_rate_per_minute,omitempty"`
	Pacing         bool    `json:"pacing"`
	// DrainSeconds estimates how long the people waiting take to be
	// admitted at the measured drain (or the rate, before a measurement).
	DrainSeconds *float64 `json:"drain_estimate_seconds"`
	// Supply: places free and held, and whether the room is sold out.
	Free           int64   `json:"places_free"`
	Held           int64   `json:"places_held"`
	SoldOut        bool    `json:"sold_out"`
	SeedCommitment string  `json:"seed_commitment"`
	Seed           string  `json:"seed,omitempty"`
	ETASamples     int64   `json:"eta_samples"`
	ETAInside      float64 `json:"eta_inside_ratio"`
	Error          string  `json:"error,omitempty"`
}

type operatorView struct {
	Maintenance bool          `json:"maintenance"`
	Message     string        `json:"message"`
	SwitchError string        `json:"switch_error,omitempty"`
	Phase       string        `json:"phase"`
	Room        *roomFigures  `json:"room"`
	RoomList    []namedValue  `json:"-"`
	Slots       []slotFigures `json:"slots"`
	SlotsError  string        `json:"slots_error,omitempty"`
	// Partitions, with -partition: each region's room; Room is then
	// the regions' figures added up.
	Partitions []partitionFigures `json:"partitions,omitempty"`
}

func (s *server) operatorFigures(ctx context.Context, l *pages.Lang) operatorView {
	now := s.clk.Now()
	phase, _ := s.phase(ctx, now)
	v := operatorView{Phase: phase.String(), Message: s.currentNotice()}
	on, err := s.maintenanceOn(ctx)
	v.Maintenance = on
	if err != nil {
		v.SwitchError = err.Error()
	}
	if i := s.openingAt(now); i >= 0 {
		for _, p := range s.parts {
			rf := s.roomFigures(ctx, now, p.rooms[i])
			if s.partitions == nil {
				v.Room = rf
				break
			}
			v.Partitions = append(v.Partitions, partitionFigures{Name: p.name, Campaign: string(p.campaign), Places: p.places, Room: rf})
			if v.Room == nil {
				v.Room = &roomFigures{Room: roomName(i, p.rooms[i].Opening()), OpensAt: rf.OpensAt, Pacing: rf.Pacing, SoldOut: true}
			}
			sumFigures(v.Room, rf)
		}
		v.RoomList = v.Room.list(l)
	}
	for _, p := range s.parts {
		av, err := s.availability(ctx, l, p)
		if err != nil {
			v.SlotsError = err.Error()
		}
		for _, a := range av {
			v.Slots = append(v.Slots, slotFigures{ID: a.ID, Partition: p.name, Label: a.Label, Capacity: a.Capacity, Booked: a.Booked, Held: a.Held, Left: a.Left})
		}
	}
	return v
}

// roomFigures are one room's figures.
func (s *server) roomFigures(ctx context.Context, now time.Time, room *admission.Room) *roomFigures {
	rf := &roomFigures{Room: room.Name(), OpensAt: room.Opening().In(s.camp.zone).Format(time.RFC3339),
		SeedCommitment: room.SeedCommitment(), Pacing: s.cfg.Pacing}
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
		rf.RateLimit, rf.Burst, rf.MaxActive = st.Limits.Rate, st.Limits.Burst, st.Limits.Cap
		rf.MinRate, rf.MaxRate = st.Limits.MinRate, st.Limits.MaxRate
		rf.Free, rf.Held, rf.SoldOut = st.Supply.Free, st.Supply.Held, st.Supply.SoldOut()
		per := st.Drain.PerMinute()
		if per <= 0 {
			per = float64(st.Limits.Rate)
		}
		if per > 0 {
			d := float64(st.Waiting()) / per * 60
			rf.DrainSeconds = &d
		}
	}
	return rf
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
	drain := l.T("op.f.drain_unknown")
	if rf.DrainSeconds != nil {
		drain = l.Range(time.Duration(*rf.DrainSeconds*0.8)*time.Second, time.Duration(*rf.DrainSeconds*1.25)*time.Second)
	}
	supply := l.T("op.f.places_v", "free", rf.Free, "held", rf.Held)
	if rf.SoldOut {
		supply = l.T("op.f.sold_out")
	}
	bounds := l.T("op.f.bounds_none")
	if rf.Pacing {
		bounds = l.T("op.f.bounds_v", "min", rf.MinRate, "max", rf.MaxRate)
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
		{l.T("op.f.drain"), drain},
		{l.T("op.f.places"), supply},
		{l.T("op.f.bounds"), bounds},
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
	s.render(w, r, http.StatusOK, "operator", view{Title: s.lang(r).T("op.title"), AutoRefresh: 15, Data: s.operatorFigures(r.Context(), s.lang(r))})
}

func (s *server) apiOperatorStats(w http.ResponseWriter, r *http.Request) {
	if !s.operatorOnly(w, r) {
		return
	}
	writeJSON(w, http.StatusOK, s.operatorFigures(r.Context(), s.lang(r)))
}

// limitsForm is the console's and the API's request to change the
// current room's limits: every field optional, the rest kept.
type limitsForm struct {
	Rate    *int `json:"rate_per_minute"`
	Burst   *int `json:"burst"`
	Cap     *int `json:"cap"`
	MinRate *int `json:"min_rate_per_minute"`
	MaxRate *int `json:"max_rate_per_minute"`
}

// readLimits reads a limits change from a JSON body (the API) or a form
// (the console), over the limits in force.
func readLimits(r *http.Request, cur admission.Limits) (admission.Limits, []fieldError, error) {
	var f limitsForm
	if wantsHTML(r) {
		if err := r.ParseForm(); err != nil {
			return cur, nil, err
		}
		var errs []fieldError
		for _, x := range []struct {
			name string
			dst  **int
		}{{"rate_per_minute", &f.Rate}, {"burst", &f.Burst}, {"cap", &f.Cap}, {"min_rate_per_minute", &f.MinRate}, {"max_rate_per_minute", &f.MaxRate}} {
			v := strings.TrimSpace(r.PostForm.Get(x.name))
			if v == "" {
				continue
			}
			n, err := strconv.Atoi(v)
			if err != nil {
				errs = append(errs, fieldError{Field: x.name, Message: "fe.int"})
				continue
			}
			*x.dst = &n
		}
		if errs != nil {
			return cur, errs, nil
		}
	} else if err := decodeJSON(r, &f); err != nil {
		return cur, nil, err
	}
	l := cur
	for _, x := range []struct {
		src *int
		dst *int
	}{{f.Rate, &l.Rate}, {f.Burst, &l.Burst}, {f.Cap, &l.Cap}, {f.MinRate, &l.MinRate}, {f.MaxRate, &l.MaxRate}} {
		if x.src != nil {
			*x.dst = *x.src
		}
	}
	if err := l.Validate(); err != nil {
		return cur, []fieldError{{Field: "limits", Message: "fe.limits"}}, nil
	}
	return l, nil, nil
}

// operatorLimits changes the current room's rate, burst, cap and the
// pacing bounds, live, for every instance (POST /operator/limits from the
// console, POST /api/operator/limits as JSON).
func (s *server) operatorLimits(w http.ResponseWriter, r *http.Request) {
	if !s.operatorOnly(w, r) {
		return
	}
	i := s.openingAt(s.clk.Now())
	if i < 0 {
		s.fail(w, r, http.StatusConflict, "err.no_room", 0)
		return
	}
	cur, err := s.partLimits(r.Context(), i)
	if err != nil {
		s.fail(w, r, http.StatusServiceUnavailable, "err.limits", admission.RetryAfterUnavailable)
		return
	}
	l, errs, err := readLimits(r, cur)
	switch {
	case err != nil:
		s.badBody(w, r, err)
		return
	case errs != nil:
		s.invalid(w, r, errs)
		return
	}
	if _, err := l.Split(s.partWeights()); err != nil {
		s.invalid(w, r, []fieldError{{Field: "limits", Message: "fe.limits"}})
		return
	}
	inForce, err := s.setPartLimits(r.Context(), i, l)
	if err != nil {
		s.fail(w, r, http.StatusServiceUnavailable, "err.limits", admission.RetryAfterUnavailable)
		return
	}
	op, _ := window.OperatorFromContext(r.Context())
	s.log.Info("room limits changed", "opening", i+1, "parts", len(s.parts), "rate", l.Rate, "burst", l.Burst, "cap", l.Cap,
		"min_rate", l.MinRate, "max_rate", l.MaxRate, "operator", op.Name)
	if !wantsHTML(r) {
		writeJSON(w, http.StatusOK, inForce)
		return
	}
	http.Redirect(w, r, "/operator", http.StatusSeeOther)
}

// maxNotice is the longest operator message, in bytes.
const maxNotice = 500

// operatorNotice sets the message the waiting page shows (empty: none):
// POST /operator/message (form field message) or /api/operator/message
// ({"message": "..."}). It is this instance's: run one instance, or send
// it to each.
func (s *server) operatorNotice(w http.ResponseWriter, r *http.Request) {
	if !s.operatorOnly(w, r) {
		return
	}
	var msg string
	if wantsHTML(r) {
		if err := r.ParseForm(); err != nil {
			s.badBody(w, r, err)
			return
		}
		msg = r.PostForm.Get("message")
	} else {
		var b struct {
			Message string `json:"message"`
		}
		if err := decodeJSON(r, &b); err != nil {
			s.badBody(w, r, err)
			return
		}
		msg = b.Message
	}
	msg = strings.TrimSpace(msg)
	if len(msg) > maxNotice || !utf8.ValidString(msg) {
		s.invalid(w, r, []fieldError{{Field: "message", Message: "fe.message"}})
		return
	}
	s.noticeMu.Lock()
	s.notice = msg
	s.noticeMu.Unlock()
	if !wantsHTML(r) {
		writeJSON(w, http.StatusOK, map[string]string{"message": msg})
		return
	}
	http.Redirect(w, r, "/operator", http.StatusSeeOther)
}

// currentNotice is the operator's message to the people waiting.
func (s *server) currentNotice() string {
	s.noticeMu.Lock()
	defer s.noticeMu.Unlock()
	return s.notice
}
