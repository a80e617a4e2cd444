package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse-go/gatehouse/admission"
	"github.com/gatehouse-go/gatehouse/admission/pages"
	"github.com/gatehouse-go/gatehouse/eligibility"
	"github.com/gatehouse-go/gatehouse/window/problem"
)

// identityOf is the waiting room's IdentityFunc: the signed-in person.
func (s *server) identityOf(r *http.Request) (string, bool) {
	sess, err := s.readSession(r, s.clk.Now())
	if err != nil {
		return "", false
	}
	return sess.identity(), true
}

// queueError answers a failed room call: 503 with Retry-After when the
// store is unavailable (nobody is admitted then), 404 before joining.
func (s *server) queueError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, admission.ErrNotJoined):
		s.fail(w, r, http.StatusNotFound, "err.not_joined", 0)
	case errors.Is(err, errNoRoom):
		s.fail(w, r, http.StatusForbidden, "err.no_room", 0)
	case errors.Is(err, admission.ErrUnavailable):
		s.log.Warn("waiting room unavailable", "err", err)
		if room := s.roomAt(s.clk.Now()); room != nil && wantsHTML(r) {
			// The library's outage page: it says the place is kept and
			// keeps asking by itself.
			s.ui.RefusalPage(w, r, room.Refusal(r, err))
			return
		}
		s.fail(w, r, http.StatusServiceUnavailable, "err.room_down", admission.RetryAfterUnavailable)
	default:
		s.log.Error("waiting room", "err", err)
		s.fail(w, r, http.StatusInternalServerError, "err.room_failed", 0)
	}
}

// mayJoin checks that the person may join the room that is open now: the
// answer for them is open, or opens at the opening the room serves.
func (s *server) mayJoin(w http.ResponseWriter, r *http.Request, sess session) bool {
	now := s.clk.Now()
	phase, st := s.phase(r.Context(), now)
	d := s.decide(sess, now)
	if s.mayQueue(d, phase, st) {
		return true
	}
	l := s.lang(r)
	detail := l.T("err.not_eligible.d")
	switch d.Status {
	case eligibility.StatusNotYet:
		detail = l.T("err.turn_later.d", "time", l.When(d.OpensAt))
	case eligibility.StatusClosed:
		detail = l.T("err.cohort_closed.d")
	}
	s.failProblem(w, r, problem.Problem{Status: http.StatusForbidden, Title: l.T("err.not_your_opening.t"), Detail: detail,
		Instance: r.URL.Path, Extensions: map[string]any{"eligibility": d.Status.String()}}, 0)
	return false
}

// join puts the signed-in person in the current room.
func (s *server) join(w http.ResponseWriter, r *http.Request) (session, admission.Status, bool) {
	now := s.clk.Now()
	sess, ok := s.needSession(w, r, now)
	if !ok || s.overLimit(w, r, now, sess.identity()) || !s.mayJoin(w, r, sess) {
		return session{}, admission.Status{}, false
	}
	room := s.roomFor(now, sess)
	if room == nil {
		s.queueError(w, r, errNoRoom)
		return session{}, admission.Status{}, false
	}
	// With the ticket a reloaded page or a reconnecting client still
	// holds, the room answers from its snapshot, without a store call.
	ticket := room.TicketOf(r)
	st, err := room.Rejoin(r.Context(), sess.identity(), ticket)
	if err != nil {
		s.queueError(w, r, err)
		return session{}, admission.Status{}, false
	}
	if st.Ticket != ticket {
		s.keepTicket(w, r, st)
	}
	return sess, st, true
}

// status asks the current room for the person's standing with the place
// ticket the browser (cookie) or API client (header Gatehouse-Ticket)
// keeps: while the place is not yet called the room answers from its
// snapshot, without asking the store. Once admitted it sets the pass
// cookie.
func (s *server) status(w http.ResponseWriter, r *http.Request, sess session) (admission.Status, error) {
	room := s.roomFor(s.clk.Now(), sess)
	if room == nil {
		return admission.Status{}, errNoRoom
	}
	ticket := room.TicketOf(r)
	st, err := room.Poll(r.Context(), sess.identity(), ticket)
	if err != nil {
		return st, err
	}
	if st.Pass != "" {
		s.setCookie(w, r, passCookie, st.Pass, st.PassExpires.Sub(s.clk.Now())+time.Minute)
	}
	if st.Ticket != ticket {
		s.keepTicket(w, r, st)
	}
	return st, nil
}

// keepTicket sets the place ticket cookie while the person waits.
func (s *server) keepTicket(w http.ResponseWriter, r *http.Request, st admission.Status) {
	if st.Ticket != "" {
		s.setCookie(w, r, ticketCookie, st.Ticket, admission.DefaultTicketTTL)
	}
}

func (s *server) apiQueueJoin(w http.ResponseWriter, r *http.Request) {
	_, st, ok := s.join(w, r)
	if !ok {
		return
	}
	if st.Pass != "" {
		s.setCookie(w, r, passCookie, st.Pass, st.PassExpires.Sub(s.clk.Now())+time.Minute)
	}
	s.writeStatus(w, r, st)
}

func (s *server) apiQueueStatus(w http.ResponseWriter, r *http.Request) {
	now := s.clk.Now()
	sess, ok := s.needSession(w, r, now)
	if !ok {
		return
	}
	st, err := s.status(w, r, sess)
	if err != nil {
		s.queueError(w, r, err)
		return
	}
	s.writeStatus(w, r, st)
}

// writeStatus answers with the room's own Status JSON (documented on
// admission.Status) plus three members for people, in the request's
// language: "people_ahead", "headline" and "eta_text". Times are in the
// campaign's zone.
func (s *server) writeStatus(w http.ResponseWriter, r *http.Request, st admission.Status) {
	b, err := json.Marshal(st.In(s.camp.zone))
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, nil)
		return
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	if st.Ahead >= 0 {
		m["people_ahead"] = st.Ahead
	} else {
		m["people_ahead"] = nil
	}
	l := s.lang(r)
	m["headline"] = headline(l, st)
	m["eta_text"] = etaText(l, st)
	m["operator_message"] = s.currentNotice()
	writeJSON(w, http.StatusOK, m)
}

// headline says where the person stands, in a sentence, in the words of
// the library's waiting room page.
func headline(l *pages.Lang, st admission.Status) string {
	switch st.State {
	case admission.StateAdmitted:
		return l.T("admitted.heading")
	case admission.StateExpired:
		return l.T("expired.heading")
	case admission.StateDone:
		return l.T("done.heading")
	case admission.StateSoldOut:
		return l.T("sold_out.heading")
	}
	switch {
	case st.Returning:
		return l.T("waiting.returning")
	case st.Ahead < 0:
		return l.T("waiting.before_opening", "time", l.When(st.Opening))
	case st.Ahead == 0:
		return l.T("waiting.next")
	}
	return l.N("waiting.ahead", st.Ahead)
}

// etaText is the ETA range for people, or why there is none.
func etaText(l *pages.Lang, st admission.Status) string {
	switch {
	case st.State != admission.StateWaiting:
		return l.T("err.not_waiting")
	case st.Ahead < 0:
		return l.T("eta.after_draw")
	case !st.ETA.Known:
		return l.T("eta.measuring")
	}
	return l.Range(st.ETA.Min, st.ETA.Max)
}

// queuePage is the library's waiting room page (admission/pages) for the
// person's place: it refreshes itself, with and without JavaScript, and
// keeps going through maintenance and outages. One not yet in line is
// sent to the eligibility page and its join button.
func (s *server) queuePage(w http.ResponseWriter, r *http.Request) {
	now := s.clk.Now()
	sess, ok := s.needSession(w, r, now)
	if !ok {
		return
	}
	st, err := s.status(w, r, sess)
	if errors.Is(err, admission.ErrNotJoined) {
		http.Redirect(w, r, "/eligibility", http.StatusSeeOther)
		return
	}
	if err != nil {
		s.queueError(w, r, err)
		return
	}
	if st.State == admission.StateAdmitted {
		// On to the slots: the page's script follows the redirect too.
		http.Redirect(w, r, "/book", http.StatusSeeOther)
		return
	}
	s.ui.Waiting(w, r, st, "/book")
}

// queueJoin is the join form's target: join, then show the room.
func (s *server) queueJoin(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := s.join(w, r); !ok {
		return
	}
	http.Redirect(w, r, "/queue", http.StatusSeeOther)
}
