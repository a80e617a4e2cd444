package slots

import (
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse-go/gatehouse/window"
	"github.com/gatehouse-go/gatehouse/window/problem"
)

// UnavailableRetryAfter is the Retry-After of Problem's answer to
// ErrUnavailable.
const UnavailableRetryAfter = 2 * time.Second

// Problem returns the refusal a booking handler sends for err, an error of
// a Service or Store call, as the typed value the other packages' deny
// hooks receive (window.GateOptions.Deny, admission.Options.Deny): an RFC
// 9457 document of type problem.TypeURI("slots", code), so a host answers
// every package's refusals one way, as JSON (Refusal.Write) or as a page.
// req gives the instance; it may be nil. Problem returns nil for a nil err.
//
// The statuses and codes (listed in docs/problems.md):
//
//   - a refusal of the Service's Gate: the gate's own refusal (window's
//     codes and statuses, such as 403 not_yet or 503 maintenance);
//   - ErrFull: 409 full; ErrAlreadyBooked: 409 already_booked; ErrInUse:
//     409 in_use; ErrHoldExpired: 410 hold_expired; ErrNotFound: 404
//     not_found; ErrConflict: 422 key_reused; ErrInvalid: 422 invalid;
//   - ErrUnavailable (ErrNotReplicated included): 503 unavailable with
//     Retry-After UnavailableRetryAfter, saying that whether the request
//     took effect is not known and that sending it again with the same
//     idempotency key tells; never that nothing happened;
//   - anything else: 500 internal.
func Problem(err error, req *http.Request) *problem.Refusal {
	if err == nil {
		return nil
	}
	var gate *window.Refusal
	if errors.As(err, &gate) {
		ref := gate.Problem(req)
		ref.Err = err
		return ref
	}
	instance := ""
	if req != nil && req.URL != nil {
		instance = req.URL.Path
	}
	status, code, title, detail := http.StatusInternalServerError, problem.CodeInternal, "Internal error", "The booking could not be processed."
	var retry time.Duration
	switch {
	case errors.Is(err, ErrUnavailable):
		status, code, title = http.StatusServiceUnavailable, problem.CodeUnavailable, "Booking store unavailable"
		detail = "The booking store did not answer in time, so whether this request took effect is not known. Send it again with the same Idempotency-Key to find out."
		retry = UnavailableRetryAfter
	case errors.Is(err, ErrClosed):
		status, code, title, detail = http.StatusForbidden, problem.CodeClosed, "Booking is not open", "Booking is not open now."
	case errors.Is(err, ErrFull):
		status, code, title, detail = http.StatusConflict, problem.CodeFull, "Slot full", "This slot has no free place left."
	case errors.Is(err, ErrAlreadyBooked):
		status, code, title, detail = http.StatusConflict, problem.CodeAlreadyBooked, "Already holding or booked", "You already hold or have booked a place in this campaign."
	case errors.Is(err, ErrInUse):
		status, code, title, detail = http.StatusConflict, problem.CodeInUse, "Capacity in use", "The capacity would fall below what is booked and held; nothing was changed."
	case errors.Is(err, ErrHoldExpired):
		status, code, title, detail = http.StatusGone, problem.CodeHoldExpired, "Hold expired", "The hold's time ran out and its place was freed."
	case errors.Is(err, ErrNotFound):
		status, code, title, detail = http.StatusNotFound, problem.CodeNotFound, "Not found", "No such slot, hold or booking of yours."
	case errors.Is(err, ErrConflict):
		status, code, title, detail = http.StatusUnprocessableEntity, problem.CodeKeyReused, "Idempotency key reused", "This Idempotency-Key was already used for a different request; nothing was changed."
	case errors.Is(err, ErrInvalid):
		status, code, title, detail = http.StatusUnprocessableEntity, problem.CodeInvalid, "Invalid request", "The request is malformed; nothing was changed."
	}
	ref := problem.New("slots", status, code, title, detail, instance)
	ref.RetryAfter, ref.Err = retry, err
	return ref.Finish()
}
