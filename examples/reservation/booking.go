package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gatehouse-go/gatehouse/admission"
	"github.com/gatehouse-go/gatehouse/admission/pages"
	"github.com/gatehouse-go/gatehouse/slots"
	"github.com/gatehouse-go/gatehouse/window"
	"github.com/gatehouse-go/gatehouse/window/problem"
)

// personID is the slot store's identifier for the person: a keyed hash of
// the identity, so the store never holds a name or a birth date.
func (s *server) personID(sess session) string {
	m := hmac.New(sha256.New, s.personKey)
	m.Write([]byte(sess.identity()))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// needPass lets a request through to next only with a valid pass of the
// current opening's waiting room for the signed-in person
// (admission.Room.Protect). API clients send the pass as "Authorization:
// Bearer <pass>" (or Gatehouse-Pass); browsers carry it in a cookie. The
// room's refusals go to roomDeny (admission.Options.Deny): a browser
// without a pass is sent to the waiting room.
func (s *server) needPass(next http.Handler) http.Handler {
	protected := map[*admission.Room]http.Handler{}
	for _, p := range s.parts {
		for _, room := range p.rooms {
			protected[room] = room.Protect(next, s.identityOf)
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := s.openingAt(s.clk.Now())
		if i < 0 {
			s.fail(w, r, http.StatusForbidden, "err.closed", 0)
			return
		}
		// The pass must be one of the person's own part's room.
		protected[s.partOfRequest(r).rooms[i]].ServeHTTP(w, r)
	})
}

// idempotencyKey is the slot store's idempotency key for a mutating call:
// the client's Idempotency-Key header (or the form's idempotency_key
// field), scoped to the person, or a fresh one when the client sent none.
// A malformed key is refused.
func (s *server) idempotencyKey(r *http.Request, sess session) (string, bool) {
	k := r.Header.Get("Idempotency-Key")
	if k == "" && r.PostForm != nil {
		k = r.PostForm.Get("idempotency_key")
	}
	if k == "" {
		k = "gen-" + rand.Text()
	}
	if len(k) > 128 {
		return "", false
	}
	for i := 0; i < len(k); i++ {
		if k[i] <= ' ' || k[i] > '~' {
			return "", false
		}
	}
	return s.personID(sess) + ":" + k, true
}

// formKey is a fresh idempotency key for a form, so that a form submitted
// twice books once.
func formKey() string { return rand.Text() }

// proof is who books, for the commit check (commitGate): the request's
// slots.*Request.Proof.
func proof(r *http.Request, sess session) booker {
	return booker{sess: sess, pass: passFor(r)}
}

// slotJSON is one slot in GET /api/slots.
type slotJSON struct {
	ID       string `json:"id"`
	Label    string `json:"label"`
	Capacity int    `json:"capacity"`
	Booked   int    `json:"booked"`
	Held     int    `json:"held"`
	Left     int    `json:"left"`
	LeftText string `json:"left_text"`
}

// holdJSON is a hold in the API.
type holdJSON struct {
	ID        string    `json:"id"`
	Slot      string    `json:"slot"`
	Label     string    `json:"label"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// bookingJSON is a booking in the API.
type bookingJSON struct {
	ID          string    `json:"id"`
	Slot        string    `json:"slot"`
	Label       string    `json:"label"`
	CreatedAt   time.Time `json:"created_at"`
	ConfirmedAt time.Time `json:"confirmed_at"`
}

func (s *server) holdOut(l *pages.Lang, h slots.Hold) holdJSON {
	return holdJSON{ID: h.ID, Slot: h.Slot, Label: slotLabel(l, s.slotByID[h.Slot]),
		CreatedAt: h.Created.In(s.camp.zone), ExpiresAt: h.Expires.In(s.camp.zone)}
}

func (s *server) bookingOut(l *pages.Lang, b slots.Booking) bookingJSON {
	return bookingJSON{ID: b.ID, Slot: b.Slot, Label: slotLabel(l, s.slotByID[b.Slot]),
		CreatedAt: b.Created.In(s.camp.zone), ConfirmedAt: b.Confirmed.In(s.camp.zone)}
}

// availability lists part p's slots with what is left, in the configured
// order.
func (s *server) availability(ctx context.Context, l *pages.Lang, p *part) ([]slotJSON, error) {
	av, err := s.booking.Availability(ctx, p.campaign)
	if err != nil {
		return nil, err
	}
	by := make(map[string]slots.Availability, len(av))
	for _, a := range av {
		by[a.Slot] = a
	}
	out := make([]slotJSON, 0, len(p.slots))
	for _, sl := range p.slots {
		a, ok := by[sl.ID]
		if !ok {
			continue
		}
		out = append(out, slotJSON{ID: sl.ID, Label: slotLabel(l, sl), Capacity: a.Capacity, Booked: a.Booked,
			Held: a.Held, Left: a.Free, LeftText: leftText(l, a.Free, a.Capacity)})
	}
	return out, nil
}

// bookingError answers a failed slot call with a clear status: 409 full or
// already booked, 410 hold expired, 404 not found, 403 refused at commit
// (window, eligibility or pass), 503 store unavailable. A refusal of the
// gate at commit is answered as the gate answers (deny).
func (s *server) bookingError(w http.ResponseWriter, r *http.Request, err error) {
	var ref *window.Refusal
	if errors.As(err, &ref) {
		s.deny(w, r, ref.Problem(r))
		return
	}
	status, key, retry := s.bookingProblem(err)
	l := s.lang(r)
	detail := l.T(key + ".d")
	if key == "err.invalid" {
		detail = err.Error()
	}
	p := problem.Problem{Status: status, Title: l.T(key + ".t"), Detail: detail, Instance: r.URL.Path}
	if key == "err.outcome_unknown" {
		p.Extensions = map[string]any{"outcome": "unknown"}
	}
	s.failProblem(w, r, p, retry)
}

// bookingProblem classifies a failed slot call: its status, the catalog
// key of its words, and its Retry-After.
func (s *server) bookingProblem(err error) (int, string, time.Duration) {
	var ref *window.Refusal
	switch {
	case errors.As(err, &ref):
		return ref.Status(), "err.closed", ref.RetryAfter
	case errors.Is(err, admission.ErrPassExpired):
		return http.StatusForbidden, "err.pass_expired", 0
	case errors.Is(err, admission.ErrInvalidPass):
		return http.StatusForbidden, "err.invalid_pass", 0
	case errors.Is(err, errNotEligibleNow):
		return http.StatusForbidden, "err.not_eligible_now", 0
	case errors.Is(err, errNoRoom):
		return http.StatusForbidden, "err.closed", 0
	case errors.Is(err, slots.ErrFull):
		return http.StatusConflict, "err.full", 0
	case errors.Is(err, slots.ErrAlreadyBooked):
		return http.StatusConflict, "err.already", 0
	case errors.Is(err, slots.ErrHoldExpired):
		return http.StatusGone, "err.hold_expired", 0
	case errors.Is(err, slots.ErrNotFound):
		return http.StatusNotFound, "err.nf", 0
	case errors.Is(err, slots.ErrConflict):
		return http.StatusUnprocessableEntity, "err.key_reused", 0
	case errors.Is(err, slots.ErrInvalid):
		return http.StatusUnprocessableEntity, "err.invalid", 0
	case errors.Is(err, errOutcomeUnknown):
		s.log.Warn("confirm: outcome still unknown", "err", err)
		return http.StatusServiceUnavailable, "err.outcome_unknown", 2 * time.Second
	case errors.Is(err, slots.ErrUnavailable):
		s.log.Warn("slot store unavailable", "err", err)
		return http.StatusServiceUnavailable, "err.booking_down", 2 * time.Second
	}
	s.log.Error("booking", "err", err)
	return http.StatusInternalServerError, "err.booking_failed", 0
}

// slotRequest is the body of POST /api/holds and POST /api/bookings/me/move.
type slotRequest struct {
	Slot string `json:"slot"`
}

// checkSlot refuses a slot that is not on offer to the person: one of
// another partition is not.
func (s *server) checkSlot(id string, sess session) []fieldError {
	if id == "" {
		return []fieldError{{Field: "slot", Message: "fe.required"}}
	}
	if sl, ok := s.slotByID[id]; !ok || (s.partitions != nil && sl.Region != s.partOf(sess).name) {
		return []fieldError{{Field: "slot", Message: "fe.not_offered"}}
	}
	return nil
}

// ---- JSON API ----

func (s *server) apiSlots(w http.ResponseWriter, r *http.Request) {
	list, err := s.availability(r.Context(), s.lang(r), s.partOfRequest(r))
	if err != nil {
		s.bookingError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"slots": list})
}

// apiSession returns the session or answers 401.
func (s *server) apiPerson(w http.ResponseWriter, r *http.Request) (session, bool) {
	return s.needSession(w, r, s.clk.Now())
}

// apiRequest starts a mutating API call: the signed-in session, the slot
// its JSON body names (when withSlot: {"slot"}, one on offer) and its
// idempotency key. When one is missing or wrong it has answered with a
// problem, and ok is false.
func (s *server) apiRequest(w http.ResponseWriter, r *http.Request, withSlot bool) (sess session, slot, key string, ok bool) {
	if sess, ok = s.apiPerson(w, r); !ok {
		return sess, "", "", false
	}
	if withSlot {
		var req slotRequest
		if err := decodeJSON(r, &req); err != nil {
			s.badBody(w, r, err)
			return sess, "", "", false
		}
		if errs := s.checkSlot(req.Slot, sess); errs != nil {
			s.invalid(w, r, errs)
			return sess, "", "", false
		}
		slot = req.Slot
	}
	if key, ok = s.idempotencyKey(r, sess); !ok {
		s.invalid(w, r, []fieldError{{Field: "Idempotency-Key", Message: "fe.bad_key"}})
		return sess, "", "", false
	}
	return sess, slot, key, true
}

func (s *server) apiHold(w http.ResponseWriter, r *http.Request) {
	sess, slot, key, ok := s.apiRequest(w, r, true)
	if !ok {
		return
	}
	h, err := s.booking.Hold(r.Context(), slots.HoldRequest{
		Campaign: s.campaignOf(sess), Slot: slot, Person: s.personID(sess), Key: key, Proof: proof(r, sess),
	})
	if err != nil {
		s.bookingError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"hold": s.holdOut(s.lang(r), h)})
}

func (s *server) apiConfirm(w http.ResponseWriter, r *http.Request) {
	sess, _, key, ok := s.apiRequest(w, r, false)
	if !ok {
		return
	}
	b, err := s.confirm(r, sess, r.PathValue("id"), key)
	if err != nil {
		s.bookingError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"booking": s.bookingOut(s.lang(r), b)})
}

// errOutcomeUnknown: a confirm whose store call failed, and whose outcome
// asking again could not learn: the booking may or may not exist.
var errOutcomeUnknown = errors.New("booking outcome unknown")

// confirmRetryPause is the pause before asking again about a confirm whose
// outcome is unknown.
const confirmRetryPause = 200 * time.Millisecond

// confirm books the hold and then tells the waiting room the person is
// done, so that the next one may come in.
//
// A store error does not say nothing was booked: Redis may run a script
// whose reply never arrived (a timeout, a stall, a dropped connection). So
// before telling the person anything, confirm asks again with the same
// idempotency key, which returns the recorded booking if the first call
// ran, or books now if it did not. Only if that fails too does it answer
// errOutcomeUnknown; the booking, if any, is found later (GET
// /api/bookings/me, the booking page), which then ends the person's place
// in the room (doneAfterBooking).
func (s *server) confirm(r *http.Request, sess session, holdID, key string) (slots.Booking, error) {
	req := slots.ConfirmRequest{
		Campaign: s.campaignOf(sess), HoldID: holdID, Person: s.personID(sess), Key: key, Proof: proof(r, sess),
	}
	b, err := s.booking.Confirm(r.Context(), req)
	if errors.Is(err, slots.ErrUnavailable) {
		s.log.Warn("confirm: outcome unknown; asking again with the same key", "err", err)
		// A real-time pause: network pacing, not a decision by time.
		t := time.NewTimer(confirmRetryPause)
		select {
		case <-t.C:
			b, err = s.booking.Confirm(r.Context(), req)
		case <-r.Context().Done():
			t.Stop()
		}
		if err != nil && (errors.Is(err, slots.ErrUnavailable) || r.Context().Err() != nil) {
			return b, fmt.Errorf("%w: %w", errOutcomeUnknown, err)
		}
	}
	if err != nil {
		return b, err
	}
	s.doneAfterBooking(r.Context(), sess)
	return b, nil
}

// doneAfterBooking tells the waiting room that the person, whose booking is
// known, is done, so that the next one may come in. Done is idempotent; a
// person who never joined this room is no error.
func (s *server) doneAfterBooking(ctx context.Context, sess session) {
	room := s.roomFor(s.clk.Now(), sess)
	if room == nil {
		return
	}
	if _, err := room.Done(ctx, sess.identity()); err != nil && !errors.Is(err, admission.ErrNotJoined) {
		s.log.Warn("waiting room: done after booking", "err", err)
	}
}

func (s *server) apiRelease(w http.ResponseWriter, r *http.Request) {
	sess, _, key, ok := s.apiRequest(w, r, false)
	if !ok {
		return
	}
	if err := s.booking.Cancel(r.Context(), slots.CancelRequest{
		Campaign: s.campaignOf(sess), ID: r.PathValue("id"), Person: s.personID(sess), Key: key,
	}); err != nil {
		s.bookingError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"released": r.PathValue("id")})
}

// myEntry is the person's hold or booking.
func (s *server) myEntry(ctx context.Context, sess session) (slots.Entry, error) {
	return s.booking.Lookup(ctx, s.campaignOf(sess), s.personID(sess))
}

func (s *server) apiBooking(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.apiPerson(w, r)
	if !ok {
		return
	}
	e, err := s.myEntry(r.Context(), sess)
	if err != nil {
		s.bookingError(w, r, err)
		return
	}
	if e.Booking != nil {
		if passFor(r) != "" {
			// A booking whose confirm answered "outcome unknown" is
			// known now: the place in the room can go to the next person.
			s.doneAfterBooking(r.Context(), sess)
		}
		writeJSON(w, http.StatusOK, map[string]any{"booking": s.bookingOut(s.lang(r), *e.Booking)})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"hold": s.holdOut(s.lang(r), *e.Hold)})
}

// myBooking is the person's confirmed booking, or ErrNotFound (a live hold
// is not a booking).
func (s *server) myBooking(ctx context.Context, sess session) (slots.Booking, error) {
	e, err := s.myEntry(ctx, sess)
	if err != nil {
		return slots.Booking{}, err
	}
	if e.Booking == nil {
		return slots.Booking{}, slots.ErrNotFound
	}
	return *e.Booking, nil
}

func (s *server) apiMove(w http.ResponseWriter, r *http.Request) {
	sess, slot, key, ok := s.apiRequest(w, r, true)
	if !ok {
		return
	}
	b, err := s.move(r, sess, slot, key)
	if err != nil {
		s.bookingError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"booking": s.bookingOut(s.lang(r), b)})
}

func (s *server) move(r *http.Request, sess session, to, key string) (slots.Booking, error) {
	cur, err := s.myBooking(r.Context(), sess)
	if err != nil {
		return cur, err
	}
	return s.booking.Move(r.Context(), slots.MoveRequest{
		Campaign: s.campaignOf(sess), ID: cur.ID, Person: s.personID(sess), To: to, Key: key, Proof: proof(r, sess),
	})
}

func (s *server) apiCancel(w http.ResponseWriter, r *http.Request) {
	sess, _, key, ok := s.apiRequest(w, r, false)
	if !ok {
		return
	}
	id, err := s.cancelBooking(r, sess, key)
	if err != nil {
		s.bookingError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"cancelled": id})
}

func (s *server) cancelBooking(r *http.Request, sess session, key string) (string, error) {
	cur, err := s.myBooking(r.Context(), sess)
	if err != nil {
		return "", err
	}
	return cur.ID, s.booking.Cancel(r.Context(), slots.CancelRequest{
		Campaign: s.campaignOf(sess), ID: cur.ID, Person: s.personID(sess), Key: key,
	})
}
