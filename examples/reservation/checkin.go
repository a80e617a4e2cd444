package main

import (
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse-go/gatehouse/eligibility"

	"github.com/gatehouse-go/gatehouse/window"
)

// overLimit applies the per-client limit on sign-in and join, for the
// person identity (see limitKey; "" for a request that is no person's,
// limited only per address). It answers 429 and returns true when the
// client is over it.
func (s *server) overLimit(w http.ResponseWriter, r *http.Request, now time.Time, identity string) bool {
	if identity == "" && s.cfg.LimitBy != limitByAddress {
		return false
	}
	ok, wait := s.limiter.allow(s.limitKey(r, identity), now)
	if ok {
		return false
	}
	s.metrics.limited.Inc()
	s.fail(w, r, http.StatusTooManyRequests, "err.too_many", wait)
	return true
}

// needSession returns the request's session, or answers 401 (API) or
// redirects to the sign-in page (pages) and returns false.
func (s *server) needSession(w http.ResponseWriter, r *http.Request, now time.Time) (session, bool) {
	sess, err := s.readSession(r, now)
	if err == nil {
		return sess, true
	}
	if wantsHTML(r) && r.Method == http.MethodGet {
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return session{}, false
	}
	key := "err.signin"
	if errors.Is(err, errBadSession) {
		key = "err.session_bad"
	}
	s.fail(w, r, http.StatusUnauthorized, key, 0)
	return session{}, false
}

// checkSignIn validates a name and a birth date.
func checkSignIn(rawName, birth string, now time.Time) (string, []fieldError) {
	var errs []fieldError
	name, err := checkName(rawName)
	if err != nil {
		errs = append(errs, err.(fieldError))
	}
	if _, err := parseBirthDate(birth, now); err != nil {
		errs = append(errs, err.(fieldError))
	}
	return name, errs
}

func (s *server) signInPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "signin", view{Title: s.lang(r).T("signin.title")})
}

func (s *server) signIn(w http.ResponseWriter, r *http.Request) {
	now := s.clk.Now()
	if err := r.ParseForm(); err != nil {
		s.badBody(w, r, err)
		return
	}
	name, errs := checkSignIn(r.PostForm.Get("name"), r.PostForm.Get("birth_date"), now)
	if len(errs) > 0 {
		s.render(w, r, http.StatusUnprocessableEntity, "signin", view{
			Title:  s.lang(r).T("signin.title"),
			Errors: localized(s.lang(r), errs),
			Form:   map[string]string{"name": r.PostForm.Get("name"), "birth_date": r.PostForm.Get("birth_date")},
		})
		return
	}
	if s.overLimit(w, r, now, session{Name: name, BirthDate: r.PostForm.Get("birth_date")}.identity()) {
		return
	}
	if err := s.startSession(w, r, name, r.PostForm.Get("birth_date"), now); err != nil {
		s.fail(w, r, http.StatusInternalServerError, "err.signin_failed", 0)
		return
	}
	http.Redirect(w, r, "/eligibility", http.StatusSeeOther)
}

func (s *server) signOut(w http.ResponseWriter, r *http.Request) {
	s.clearCookie(w, r, sessionCookie)
	s.clearCookie(w, r, passCookie)
	s.clearCookie(w, r, ticketCookie)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// sessionRequest is the body of POST /api/session.
type sessionRequest struct {
	Name      string `json:"name"`
	BirthDate string `json:"birth_date"`
}

// sessionResponse is the answer of POST /api/session.
type sessionResponse struct {
	Name      string    `json:"name"`
	BirthDate string    `json:"birth_date"`
	ExpiresAt time.Time `json:"expires_at"`
	// Partition is the region the person books in, with -partition.
	Partition string `json:"partition,omitempty"`
}

func (s *server) apiSession(w http.ResponseWriter, r *http.Request) {
	now := s.clk.Now()
	var req sessionRequest
	if err := decodeJSON(r, &req); err != nil {
		s.badBody(w, r, err)
		return
	}
	name, errs := checkSignIn(req.Name, req.BirthDate, now)
	if len(errs) > 0 {
		s.invalid(w, r, errs)
		return
	}
	if s.overLimit(w, r, now, session{Name: name, BirthDate: req.BirthDate}.identity()) {
		return
	}
	if err := s.startSession(w, r, name, req.BirthDate, now); err != nil {
		s.fail(w, r, http.StatusInternalServerError, "err.signin_failed", 0)
		return
	}
	writeJSON(w, http.StatusOK, sessionResponse{Name: name, BirthDate: req.BirthDate,
		ExpiresAt: now.Add(sessionTTL).In(s.camp.zone).Truncate(time.Second),
		Partition: s.partOf(session{Name: name, BirthDate: req.BirthDate}).name})
}

// decide is the person's eligibility at now.
func (s *server) decide(sess session, now time.Time) eligibility.Decision {
	bd, _ := eligibility.ParseDate(sess.BirthDate) // readSession checked it
	return s.camp.elig.Decide(now, eligibility.Person{BirthDate: bd})
}

// mayQueue reports whether a person with decision d should be offered the
// waiting room in phase p: their window is open, or it is the one whose
// waiting room is open now.
func (s *server) mayQueue(d eligibility.Decision, p window.Phase, st window.State) bool {
	if p != window.PreQueue && p != window.Open {
		return false
	}
	switch d.Status {
	case eligibility.StatusOpen:
		return true
	case eligibility.StatusNotYet:
		return p == window.PreQueue && d.OpensAt.Equal(st.OpensAt)
	}
	return false
}

type eligibilityView struct {
	Answer      eligibility.Decision
	Cohort      string // the deciding cohort's name, for people
	Status      string
	BirthDate   string
	CanQueue    bool
	BookingOpen bool
	HasBooking  bool
}

func (s *server) eligibilityPage(w http.ResponseWriter, r *http.Request) {
	now := s.clk.Now()
	sess, ok := s.needSession(w, r, now)
	if !ok {
		return
	}
	phase, st := s.phase(r.Context(), now)
	d := s.decide(sess, now)
	v := eligibilityView{
		Answer:      d,
		Cohort:      d.Cohort,
		Status:      d.Status.String(),
		BirthDate:   sess.BirthDate,
		CanQueue:    s.mayQueue(d, phase, st),
		BookingOpen: phase == window.Open,
	}
	if s.cfg.CampaignFile == "" && d.Cohort != "" {
		v.Cohort = s.lang(r).T("demo.cohort")
	}
	if phase == window.Open || phase == window.Closed {
		_, err := s.myBooking(r.Context(), sess)
		v.HasBooking = err == nil
		v.CanQueue = v.CanQueue && !v.HasBooking
	}
	s.render(w, r, http.StatusOK, "eligibility", view{Title: s.lang(r).T("elig.title"), Session: &sess, Data: v})
}

// eligibilityResponse is the answer of GET /api/eligibility: the
// eligibility package's Decision, plus the phase and whether joining the
// waiting room now makes sense.
type eligibilityResponse struct {
	eligibility.Decision
	Phase    string `json:"phase"`
	MayQueue bool   `json:"may_queue"`
	// Partition is the region the person books in, with -partition.
	Partition string `json:"partition,omitempty"`
}

func (s *server) apiEligibility(w http.ResponseWriter, r *http.Request) {
	now := s.clk.Now()
	sess, ok := s.needSession(w, r, now)
	if !ok {
		return
	}
	phase, st := s.phase(r.Context(), now)
	d := s.decide(sess, now)
	writeJSON(w, http.StatusOK, eligibilityResponse{Decision: d, Phase: phase.String(), MayQueue: s.mayQueue(d, phase, st), Partition: s.partOf(sess).name})
}

type landingView struct {
	Headline  string
	WaitFrom  time.Time
	Start     time.Time
	End       time.Time
	Cohorts   []cohortInfo
	CanSignIn bool
}

func (s *server) landingPage(w http.ResponseWriter, r *http.Request) {
	now := s.clk.Now()
	phase, st := s.phase(r.Context(), now)
	l := s.lang(r)
	lv := landingView{Cohorts: s.camp.cohorts, CanSignIn: accessCheckIn.allowance().Allows(phase)}
	if s.cfg.CampaignFile == "" {
		lv.Cohorts = make([]cohortInfo, len(s.camp.cohorts))
		for i, c := range s.camp.cohorts {
			lv.Cohorts[i] = cohortInfo{Name: l.T("demo.cohort"), Rule: l.T("demo.cohort_desc"), Windows: c.Windows}
		}
	}
	if !st.OpensAt.IsZero() {
		lv.Start, lv.End = st.OpensAt, st.ClosesAt
		lv.WaitFrom = st.OpensAt
		for _, o := range s.camp.schedule.Openings {
			if o.Booking.Start.Equal(st.OpensAt) && !o.PreQueue.IsZero() {
				lv.WaitFrom = o.PreQueue
			}
		}
	}
	switch phase {
	case window.NotYet:
		lv.Headline = l.T("landing.not_yet", "time", l.When(lv.WaitFrom))
	case window.PreQueue:
		lv.Headline = l.T("landing.pre_queue", "time", l.When(st.OpensAt))
	case window.Open:
		lv.Headline = l.T("landing.open", "time", l.When(st.ClosesAt))
	case window.Closed:
		lv.Headline = l.T("landing.closed")
	}
	s.render(w, r, http.StatusOK, "landing", view{Data: lv})
}
