package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/gatehouse-go/gatehouse/admission"
	"github.com/gatehouse-go/gatehouse/eligibility"
	"github.com/gatehouse-go/gatehouse/internal/problem"
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
		s.fail(w, r, http.StatusNotFound, "Not in the waiting room", "Join the waiting room first: POST /api/queue/join.", 0)
	case errors.Is(err, errNoRoom):
		s.fail(w, r, http.StatusForbidden, "No waiting room open", "Every opening of this campaign is over.", 0)
	case errors.Is(err, admission.ErrUnavailable):
		s.log.Warn("waiting room unavailable", "err", err)
		s.fail(w, r, http.StatusServiceUnavailable, "Waiting room unavailable",
			"The waiting room cannot be reached just now. Your place is kept; try again in a few seconds.", admission.RetryAfterUnavailable)
	default:
		s.log.Error("waiting room", "err", err)
		s.fail(w, r, http.StatusInternalServerError, "Internal error", "The waiting room failed to answer.", 0)
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
	detail := "You are not eligible in this campaign."
	switch d.Status {
	case eligibility.NotYet:
		detail = "Your turn opens at " + s.fmtTime(d.OpensAt) + "; join the waiting room of that opening."
	case eligibility.Closed:
		detail = "Booking for your cohort has closed."
	}
	s.failProblem(w, r, problem.Problem{Status: http.StatusForbidden, Title: "Not your opening", Detail: detail,
		Instance: r.URL.Path, Extensions: map[string]any{"eligibility": d.Status.String()}}, 0)
	return false
}

// join puts the signed-in person in the current room.
func (s *server) join(w http.ResponseWriter, r *http.Request) (session, admission.Status, bool) {
	now := s.clk.Now()
	if s.overLimit(w, r, now) {
		return session{}, admission.Status{}, false
	}
	sess, ok := s.needSession(w, r, now)
	if !ok || !s.mayJoin(w, r, sess) {
		return session{}, admission.Status{}, false
	}
	room := s.roomAt(now)
	if room == nil {
		s.queueError(w, r, errNoRoom)
		return session{}, admission.Status{}, false
	}
	st, err := room.Join(r.Context(), sess.identity())
	if err != nil {
		s.queueError(w, r, err)
		return session{}, admission.Status{}, false
	}
	s.keepTicket(w, r, st)
	return sess, st, true
}

// status asks the current room for the person's standing with the place
// ticket the browser (cookie) or API client (header Gatehouse-Ticket)
// keeps: while the place is not yet called the room answers from its
// snapshot, without asking the store. Once admitted it sets the pass
// cookie.
func (s *server) status(w http.ResponseWriter, r *http.Request, sess session) (admission.Status, error) {
	room := s.roomAt(s.clk.Now())
	if room == nil {
		return admission.Status{}, errNoRoom
	}
	ticket := r.Header.Get(admission.DefaultTicketHeader)
	if c, err := r.Cookie(ticketCookie); ticket == "" && err == nil {
		ticket = c.Value
	}
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
	sess, st, ok := s.join(w, r)
	if !ok {
		return
	}
	if st.Pass != "" {
		s.setCookie(w, r, passCookie, st.Pass, st.PassExpires.Sub(s.clk.Now())+time.Minute)
	}
	s.writeStatus(w, sess, st)
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
	s.writeStatus(w, sess, st)
}

// writeStatus answers with the room's own Status JSON (documented on
// admission.Status) plus three members for people: "people_ahead",
// "headline" and "eta_text".
func (s *server) writeStatus(w http.ResponseWriter, sess session, st admission.Status) {
	for _, t := range []*time.Time{&st.Opening, &st.Joined, &st.Admitted, &st.PassExpires} {
		if !t.IsZero() {
			*t = t.In(s.camp.zone)
		}
	}
	b, err := json.Marshal(st)
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
	m["headline"] = s.headline(st)
	m["eta_text"] = etaText(st)
	m["operator_message"] = s.currentNotice()
	writeJSON(w, http.StatusOK, m)
}

// headline says where the person stands, in a sentence.
func (s *server) headline(st admission.Status) string {
	switch st.State {
	case admission.StateAdmitted:
		return "It is your turn. You may choose a slot now."
	case admission.StateExpired:
		return "Your time to book has run out."
	case admission.StateDone:
		return "You have finished booking."
	case admission.StateSoldOut:
		return "Every place is booked: there is nothing left to book. We keep your place in case places come back."
	}
	switch {
	case st.Returning:
		return "You were called while you were away: you are back at the head of the line."
	case st.Ahead < 0:
		return "You are in the waiting room. Places are drawn at random when booking opens at " + s.fmtTime(st.Opening) + "."
	case st.Ahead == 0:
		return "You are next in line."
	case st.Ahead == 1:
		return "You are in line. 1 person is ahead of you."
	}
	return fmt.Sprintf("You are in line. %d people are ahead of you.", st.Ahead)
}

// etaText is the ETA range for people, or why there is none.
func etaText(st admission.Status) string {
	switch {
	case st.State == admission.StateSoldOut:
		return "none: sold out"
	case st.State != admission.StateWaiting:
		return "none: you are not waiting"
	case st.Ahead < 0:
		return "known once places are drawn"
	case !st.ETA.Known:
		return "being measured: the line has to move for a minute first"
	}
	return minutes(st.ETA.Min, st.ETA.Max)
}

// minutes writes a wait range for people.
func minutes(lo, hi time.Duration) string {
	m := func(d time.Duration) int { return int(math.Ceil(d.Minutes())) }
	switch {
	case hi < time.Minute:
		return "less than a minute"
	case m(lo) == m(hi):
		return fmt.Sprintf("about %d minutes", m(hi))
	}
	return fmt.Sprintf("%d to %d minutes", m(lo), m(hi))
}

// ahead is the number of people ahead, when known.
type ahead struct {
	N     int64
	Known bool
}

type queueView struct {
	Headline string
	Ahead    ahead
	ETA      string
	Admitted bool
	Joined   bool
	Final    bool
	MaxPoll  int    // seconds: the longest the page's script waits between polls
	Notice   string // the operator's message, if any
}

// queuePage shows the person's place; an admitted person is sent on to
// the slots (the pass cookie set), and one not yet in line is offered the
// join button.
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
		http.Redirect(w, r, "/book", http.StatusSeeOther)
		return
	}
	v := queueView{
		Headline: s.headline(st),
		Ahead:    ahead{N: st.Ahead, Known: st.Ahead >= 0},
		ETA:      etaText(st),
		Joined:   true,
		Final:    st.State == admission.StateExpired || st.State == admission.StateDone,
		MaxPoll:  int(s.cfg.MaxPoll / time.Second),
		Notice:   s.currentNotice(),
	}
	refresh := 0
	if st.State == admission.StateWaiting || st.State == admission.StateSoldOut {
		refresh = 10
	}
	s.render(w, r, http.StatusOK, "queue", view{Title: "Waiting room", Session: &sess, Refresh: refresh, Data: v})
}

// queueJoin is the join form's target: join, then show the room.
func (s *server) queueJoin(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := s.join(w, r); !ok {
		return
	}
	http.Redirect(w, r, "/queue", http.StatusSeeOther)
}
