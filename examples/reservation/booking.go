package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/gatehouse-go/gatehouse/admission"
	"github.com/gatehouse-go/gatehouse/window/problem"
	"github.com/gatehouse-go/gatehouse/slots"
	"github.com/gatehouse-go/gatehouse/window"
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
// Bearer <pass>" (or Gatehouse-Pass); browsers carry it in a cookie. A
// browser without a pass is sent to the waiting room.
func (s *server) needPass(next http.Handler) http.Handler {
	protected := make([]http.Handler, len(s.rooms))
	wrap := func(inner http.Handler) http.Handler {
		for i, room := range s.rooms {
			protected[i] = room.Protect(inner, s.identityOf)
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			i := s.openingAt(s.clk.Now())
			if i < 0 {
				s.fail(w, r, http.StatusForbidden, "Closed", "Every opening of this campaign is over.", 0)
				return
			}
			protected[i].ServeHTTP(w, r)
		})
	}
	return s.reshapeRefusals(wrap, next, func(w http.ResponseWriter, r *http.Request, status int, p problem.Problem) bool {
		if r.Method == http.MethodGet && status == http.StatusUnauthorized {
			if _, err := s.readSession(r, s.clk.Now()); err != nil {
				http.Redirect(w, r, "/signin", http.StatusSeeOther)
			} else {
				http.Redirect(w, r, "/queue", http.StatusSeeOther)
			}
			return true
		}
		return false
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

func (s *server) holdOut(h slots.Hold) holdJSON {
	return holdJSON{ID: h.ID, Slot: h.Slot, Label: s.slotByID[h.Slot].Label,
		CreatedAt: h.Created.In(s.camp.zone), ExpiresAt: h.Expires.In(s.camp.zone)}
}

func (s *server) bookingOut(b slots.Booking) bookingJSON {
	return bookingJSON{ID: b.ID, Slot: b.Slot, Label: s.slotByID[b.Slot].Label,
		CreatedAt: b.Created.In(s.camp.zone), ConfirmedAt: b.Confirmed.In(s.camp.zone)}
}

// availability lists the slots with what is left, in the configured order.
func (s *server) availability(ctx context.Context) ([]slotJSON, error) {
	av, err := s.booking.Availability(ctx, slotCampaign)
	if err != nil {
		return nil, err
	}
	by := make(map[string]slots.Availability, len(av))
	for _, a := range av {
		by[a.Slot] = a
	}
	out := make([]slotJSON, 0, len(s.slots))
	for _, sl := range s.slots {
		a, ok := by[sl.ID]
		if !ok {
			continue
		}
		out = append(out, slotJSON{ID: sl.ID, Label: sl.Label, Capacity: a.Capacity, Booked: a.Booked,
			Held: a.Held, Left: a.Free, LeftText: leftText(a.Free, a.Capacity)})
	}
	return out, nil
}

// bookingError answers a failed slot call with a clear status: 409 full or
// already booked, 410 hold expired, 404 not found, 403 refused at commit
// (window, eligibility or pass), 503 store unavailable.
func (s *server) bookingError(w http.ResponseWriter, r *http.Request, err error) {
	p, retry := s.bookingProblem(r, err)
	s.failProblem(w, r, p, retry)
}

func (s *server) bookingProblem(r *http.Request, err error) (problem.Problem, time.Duration) {
	p := problem.Problem{Instance: r.URL.Path}
	var ref *window.Refusal
	switch {
	case errors.As(err, &ref):
		rec := httptest.NewRecorder()
		ref.ServeHTTP(rec, r)
		var raw map[string]any
		json.Unmarshal(rec.Body.Bytes(), &raw)
		p = problemFrom(raw, rec.Code)
		p.Instance = r.URL.Path
		return p, ref.RetryAfter
	case errors.Is(err, admission.ErrPassExpired):
		p.Status, p.Title, p.Detail = http.StatusForbidden, "Pass expired", "Your time to book has run out."
	case errors.Is(err, admission.ErrInvalidPass):
		p.Status, p.Title, p.Detail = http.StatusForbidden, "Invalid pass", "Pass through the waiting room first."
	case errors.Is(err, errNotEligibleNow):
		p.Status, p.Title, p.Detail = http.StatusForbidden, "Not eligible now", "Your cohort may not book at this time."
	case errors.Is(err, errNoRoom):
		p.Status, p.Title, p.Detail = http.StatusForbidden, "Closed", "Every opening of this campaign is over."
	case errors.Is(err, slots.ErrFull):
		p.Status, p.Title, p.Detail = http.StatusConflict, "Slot full", "That slot has just filled up; choose another."
	case errors.Is(err, slots.ErrAlreadyBooked):
		p.Status, p.Title, p.Detail = http.StatusConflict, "Already booked", "You already hold or have booked a slot; move or cancel it instead."
	case errors.Is(err, slots.ErrHoldExpired):
		p.Status, p.Title, p.Detail = http.StatusGone, "Hold expired", "Your hold ran out before you confirmed it; the place went back to the pool."
	case errors.Is(err, slots.ErrNotFound):
		p.Status, p.Title, p.Detail = http.StatusNotFound, "Not found", "No such slot, hold or booking of yours."
	case errors.Is(err, slots.ErrConflict):
		p.Status, p.Title, p.Detail = http.StatusUnprocessableEntity, "Idempotency key reused", "This Idempotency-Key was already used for a different request."
	case errors.Is(err, slots.ErrInvalid):
		p.Status, p.Title, p.Detail = http.StatusUnprocessableEntity, "Invalid input", err.Error()
	case errors.Is(err, slots.ErrUnavailable):
		s.log.Warn("slot store unavailable", "err", err)
		p.Status, p.Title, p.Detail = http.StatusServiceUnavailable, "Booking unavailable",
			"Bookings cannot be reached just now; nothing was booked. Try again (the same request is safe to repeat)."
		return p, 2 * time.Second
	case errors.Is(err, errNoBooker):
		fallthrough
	default:
		s.log.Error("booking", "err", err)
		p.Status, p.Title, p.Detail = http.StatusInternalServerError, "Internal error", "Booking failed; nothing was booked."
	}
	return p, 0
}

// slotRequest is the body of POST /api/holds and POST /api/bookings/me/move.
type slotRequest struct {
	Slot string `json:"slot"`
}

// checkSlot refuses a slot that is not on offer.
func (s *server) checkSlot(id string) []fieldError {
	if id == "" {
		return []fieldError{{Field: "slot", Message: "is required"}}
	}
	if _, ok := s.slotByID[id]; !ok {
		return []fieldError{{Field: "slot", Message: "is not a slot on offer"}}
	}
	return nil
}

// ---- JSON API ----

func (s *server) apiSlots(w http.ResponseWriter, r *http.Request) {
	list, err := s.availability(r.Context())
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
		if errs := s.checkSlot(req.Slot); errs != nil {
			s.invalid(w, r, errs)
			return sess, "", "", false
		}
		slot = req.Slot
	}
	if key, ok = s.idempotencyKey(r, sess); !ok {
		s.invalid(w, r, []fieldError{{Field: "Idempotency-Key", Message: "must be 1 to 128 printable ASCII characters without spaces"}})
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
		Campaign: slotCampaign, Slot: slot, Person: s.personID(sess), Key: key, Proof: proof(r, sess),
	})
	if err != nil {
		s.bookingError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"hold": s.holdOut(h)})
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
	writeJSON(w, http.StatusOK, map[string]any{"booking": s.bookingOut(b)})
}

// confirm books the hold and then tells the waiting room the person is
// done, so that the next one may come in.
func (s *server) confirm(r *http.Request, sess session, holdID, key string) (slots.Booking, error) {
	b, err := s.booking.Confirm(r.Context(), slots.ConfirmRequest{
		Campaign: slotCampaign, HoldID: holdID, Person: s.personID(sess), Key: key, Proof: proof(r, sess),
	})
	if err != nil {
		return b, err
	}
	if room := s.roomAt(s.clk.Now()); room != nil {
		if _, err := room.Done(r.Context(), sess.identity()); err != nil {
			s.log.Warn("waiting room: done after booking", "err", err)
		}
	}
	return b, nil
}

func (s *server) apiRelease(w http.ResponseWriter, r *http.Request) {
	sess, _, key, ok := s.apiRequest(w, r, false)
	if !ok {
		return
	}
	if err := s.booking.Cancel(r.Context(), slots.CancelRequest{
		Campaign: slotCampaign, ID: r.PathValue("id"), Person: s.personID(sess), Key: key,
	}); err != nil {
		s.bookingError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"released": r.PathValue("id")})
}

// myEntry is the person's hold or booking.
func (s *server) myEntry(ctx context.Context, sess session) (slots.Entry, error) {
	return s.booking.Lookup(ctx, slotCampaign, s.personID(sess))
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
		writeJSON(w, http.StatusOK, map[string]any{"booking": s.bookingOut(*e.Booking)})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"hold": s.holdOut(*e.Hold)})
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
	writeJSON(w, http.StatusOK, map[string]any{"booking": s.bookingOut(b)})
}

func (s *server) move(r *http.Request, sess session, to, key string) (slots.Booking, error) {
	cur, err := s.myBooking(r.Context(), sess)
	if err != nil {
		return cur, err
	}
	return s.booking.Move(r.Context(), slots.MoveRequest{
		Campaign: slotCampaign, ID: cur.ID, Person: s.personID(sess), To: to, Key: key, Proof: proof(r, sess),
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
		Campaign: slotCampaign, ID: cur.ID, Person: s.personID(sess), Key: key,
	})
}
