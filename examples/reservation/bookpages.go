package main

import (
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse-go/gatehouse/slots"
	"github.com/gatehouse-go/gatehouse/window"
)

// The booking pages: the same operations as the JSON API, as forms that
// work without JavaScript. Every form carries a fresh idempotency key, so
// a double click or a resubmitted form books once.

type bookView struct {
	Slots    []slotJSON
	Booking  *bookingJSON
	HoldFor  string
	ClosesAt time.Time
	Key      string
	MaxPoll  int // seconds between availability refreshes
}

type holdView struct {
	ID      string
	Label   string
	Expires time.Time
	Key     string
}

type bookingView struct {
	Booking   *bookedView
	Others    []slotJSON
	CanChange bool
	NeedPass  bool
	Key       string
}

// bookedView is a booking as the booking page shows it.
type bookedView struct {
	Label string
	Ref   string
	At    time.Time
}

// pageError turns a failed slot call into the field-less error shown at
// the top of a form (a catalog key), with the call's status.
func (s *server) pageError(err error) (int, []fieldError, bool) {
	status, key, _ := s.bookingProblem(err)
	return status, []fieldError{{Message: key + ".d"}}, status < 500
}

// bookPage is the slot choice. A person with a live hold goes to it; one
// with a booking is told so.
func (s *server) bookPage(w http.ResponseWriter, r *http.Request) {
	s.renderBook(w, r, http.StatusOK, nil)
}

func (s *server) renderBook(w http.ResponseWriter, r *http.Request, status int, errs []fieldError) {
	now := s.clk.Now()
	sess, ok := s.needSession(w, r, now)
	if !ok {
		return
	}
	l := s.lang(r)
	v := bookView{HoldFor: l.Duration(s.cfg.HoldFor), Key: formKey(), MaxPoll: int(min(s.cfg.MaxPoll, 5*time.Second) / time.Second)}
	_, st := s.phase(r.Context(), now)
	v.ClosesAt = st.ClosesAt
	e, err := s.myEntry(r.Context(), sess)
	switch {
	case err == nil && e.Hold != nil && status == http.StatusOK:
		http.Redirect(w, r, "/book/hold/"+e.Hold.ID, http.StatusSeeOther)
		return
	case err == nil && e.Booking != nil:
		b := s.bookingOut(s.lang(r), *e.Booking)
		v.Booking = &b
	case err != nil && !errors.Is(err, slots.ErrNotFound):
		s.bookingError(w, r, err)
		return
	}
	if v.Slots, err = s.availability(r.Context(), s.lang(r), s.partOf(sess)); err != nil {
		s.bookingError(w, r, err)
		return
	}
	s.render(w, r, status, "book", view{Title: l.T("book.title"), Session: &sess, Errors: localized(l, errs), Data: v})
}

// pageForm starts the POST of a booking page's form: the signed-in
// session, the parsed form, the slot it names (when withSlot: one on offer)
// and its idempotency key. When one is missing or wrong it has answered,
// with again re-rendering the page with its message, and ok is false.
func (s *server) pageForm(w http.ResponseWriter, r *http.Request,
	again func(http.ResponseWriter, *http.Request, int, []fieldError), withSlot bool) (sess session, slot, key string, ok bool) {
	if sess, ok = s.needSession(w, r, s.clk.Now()); !ok {
		return sess, "", "", false
	}
	if err := r.ParseForm(); err != nil {
		s.badBody(w, r, err)
		return sess, "", "", false
	}
	if withSlot {
		slot = r.PostForm.Get("slot")
		if errs := s.checkSlot(slot, sess); errs != nil {
			again(w, r, http.StatusUnprocessableEntity, []fieldError{{Message: "fe.choose_slot"}})
			return sess, "", "", false
		}
	}
	if key, ok = s.idempotencyKey(r, sess); !ok {
		again(w, r, http.StatusBadRequest, []fieldError{{Message: "fe.form_damaged"}})
		return sess, "", "", false
	}
	return sess, slot, key, true
}

// bookHold holds the chosen slot and shows the confirmation page.
func (s *server) bookHold(w http.ResponseWriter, r *http.Request) {
	sess, slot, key, ok := s.pageForm(w, r, s.renderBook, true)
	if !ok {
		return
	}
	h, err := s.booking.Hold(r.Context(), slots.HoldRequest{
		Campaign: s.campaignOf(sess), Slot: slot, Person: s.personID(sess), Key: key, Proof: proof(r, sess),
	})
	if err != nil {
		s.formFailed(w, r, err, s.renderBook)
		return
	}
	http.Redirect(w, r, "/book/hold/"+h.ID, http.StatusSeeOther)
}

// formFailed shows a failed slot call on the page the form came from, or
// the error page when the failure is not the person's to fix.
func (s *server) formFailed(w http.ResponseWriter, r *http.Request, err error,
	again func(http.ResponseWriter, *http.Request, int, []fieldError)) {
	var ref *window.Refusal
	status, errs, fixable := s.pageError(err)
	if !fixable || errors.As(err, &ref) || status == http.StatusForbidden {
		s.bookingError(w, r, err)
		return
	}
	again(w, r, status, errs)
}

// holdPage shows a live hold with its confirm and release buttons.
func (s *server) holdPage(w http.ResponseWriter, r *http.Request) {
	now := s.clk.Now()
	sess, ok := s.needSession(w, r, now)
	if !ok {
		return
	}
	e, err := s.myEntry(r.Context(), sess)
	switch {
	case errors.Is(err, slots.ErrNotFound):
		http.Redirect(w, r, "/book", http.StatusSeeOther)
		return
	case err != nil:
		s.bookingError(w, r, err)
		return
	case e.Booking != nil:
		http.Redirect(w, r, "/booking", http.StatusSeeOther)
		return
	case e.Hold.ID != r.PathValue("id"):
		http.Redirect(w, r, "/book/hold/"+e.Hold.ID, http.StatusSeeOther)
		return
	}
	l := s.lang(r)
	s.render(w, r, http.StatusOK, "hold", view{Title: l.T("hold.title"), Session: &sess, Data: holdView{
		ID: e.Hold.ID, Label: slotLabel(l, s.slotByID[e.Hold.Slot]), Expires: e.Hold.Expires, Key: formKey(),
	}})
}

func (s *server) bookConfirm(w http.ResponseWriter, r *http.Request) {
	sess, _, key, ok := s.pageForm(w, r, s.renderBook, false)
	if !ok {
		return
	}
	if _, err := s.confirm(r, sess, r.PathValue("id"), key); err != nil {
		s.formFailed(w, r, err, s.renderBook)
		return
	}
	http.Redirect(w, r, "/booking", http.StatusSeeOther)
}

func (s *server) bookRelease(w http.ResponseWriter, r *http.Request) {
	sess, _, key, ok := s.pageForm(w, r, s.renderBook, false)
	if !ok {
		return
	}
	err := s.booking.Cancel(r.Context(), slots.CancelRequest{
		Campaign: s.campaignOf(sess), ID: r.PathValue("id"), Person: s.personID(sess), Key: key,
	})
	if err != nil && !errors.Is(err, slots.ErrHoldExpired) {
		s.formFailed(w, r, err, s.renderBook)
		return
	}
	http.Redirect(w, r, "/book", http.StatusSeeOther)
}

// bookingPage shows the person's booking, with move and cancel forms while
// booking is open and they hold a valid pass.
func (s *server) bookingPage(w http.ResponseWriter, r *http.Request) {
	s.renderBooking(w, r, http.StatusOK, nil)
}

func (s *server) renderBooking(w http.ResponseWriter, r *http.Request, status int, errs []fieldError) {
	now := s.clk.Now()
	sess, ok := s.needSession(w, r, now)
	if !ok {
		return
	}
	phase, _ := s.phase(r.Context(), now)
	v := bookingView{Key: formKey()}
	if phase == window.Open {
		room := s.roomFor(now, sess)
		v.CanChange = room != nil && room.Verify(now, passFor(r), sess.identity()) == nil
		v.NeedPass = !v.CanChange
	}
	b, err := s.myBooking(r.Context(), sess)
	switch {
	case err == nil:
		v.Booking = &bookedView{Label: slotLabel(s.lang(r), s.slotByID[b.Slot]), Ref: b.ID, At: b.Confirmed}
		if passFor(r) != "" {
			s.doneAfterBooking(r.Context(), sess) // see apiBooking
		}
	case !errors.Is(err, slots.ErrNotFound):
		s.bookingError(w, r, err)
		return
	}
	if v.Booking != nil && v.CanChange {
		all, err := s.availability(r.Context(), s.lang(r), s.partOf(sess))
		if err != nil {
			s.bookingError(w, r, err)
			return
		}
		for _, sl := range all {
			if sl.ID != b.Slot {
				v.Others = append(v.Others, sl)
			}
		}
	}
	s.render(w, r, status, "booking", view{Title: s.lang(r).T("booking.title"), Session: &sess, Errors: localized(s.lang(r), errs), Data: v})
}

func (s *server) bookingMove(w http.ResponseWriter, r *http.Request) {
	sess, to, key, ok := s.pageForm(w, r, s.renderBooking, true)
	if !ok {
		return
	}
	if _, err := s.move(r, sess, to, key); err != nil {
		s.formFailed(w, r, err, s.renderBooking)
		return
	}
	http.Redirect(w, r, "/booking", http.StatusSeeOther)
}

func (s *server) bookingCancel(w http.ResponseWriter, r *http.Request) {
	sess, _, key, ok := s.pageForm(w, r, s.renderBooking, false)
	if !ok {
		return
	}
	if _, err := s.cancelBooking(r, sess, key); err != nil {
		s.formFailed(w, r, err, s.renderBooking)
		return
	}
	http.Redirect(w, r, "/booking", http.StatusSeeOther)
}
