package problem

import (
	"net/http"
	"time"
)

// Codes of the refusals gatehouse's handlers make: the Refusal.Code, the
// "code" member of the problem document, and the last part of its type
// URI (TypeURI).
const (
	// The gate (package window).
	CodeNotYet      = "not_yet"     // before the opening (or its waiting room)
	CodePreQueue    = "pre_queue"   // the waiting room is open, booking is not
	CodeClosed      = "closed"      // every opening is over
	CodeMaintenance = "maintenance" // an operator closed everything
	CodeOutage      = "outage"      // the maintenance switch cannot be read: closed until it can
	CodeNotAllowed  = "not_allowed" // the route is not open in this phase, though another would allow it
	CodeNotFound    = "not_found"   // no such route (unclassified, or operators only)

	// The waiting room (package admission).
	CodeIdentityRequired = "identity_required" // no signed-in person
	CodePassRequired     = "pass_required"     // no pass: wait for your turn
	CodeInvalidPass      = "invalid_pass"      // forged, malformed, other person or room, retired key
	CodePassExpired      = "pass_expired"      // the session is over
	CodeNotJoined        = "not_joined"        // status or done before joining
	CodeCrossOrigin      = "cross_origin"      // join or done sent by a browser from another site
	CodeUnavailable      = "unavailable"       // the store cannot be asked; the place is kept
	CodeMethod           = "method_not_allowed"
	CodeInternal         = "internal"

	// The slot store (package slots, slots.Problem). A refusal of the
	// booking gate keeps the gate's code; a store that cannot be asked is
	// CodeUnavailable, its outcome unknown.
	CodeFull          = "full"           // the slot has no free place
	CodeAlreadyBooked = "already_booked" // one place per person and campaign
	CodeHoldExpired   = "hold_expired"   // the hold's time ran out; its place was freed
	CodeKeyReused     = "key_reused"     // the idempotency key was used for another request
	CodeInvalid       = "invalid"        // malformed input; nothing changed
	CodeInUse         = "in_use"         // a resize below what is booked and held
)

// Refusal is a refusal a gatehouse handler is about to send, as a value a
// host can shape: the gate (window.GateOptions.Deny) and the waiting room
// (admission.Options.Deny) hand it to a DenyFunc instead of writing their
// problem document, in the manner of http.CrossOriginProtection's deny
// handler and httputil.ReverseProxy's ErrorHandler.
//
// Times are in the campaign's zone. Problem is the document the default
// answer writes (Refusal.Write); a DenyFunc may send it as is, render a page
// from the other fields, or both, according to the request.
type Refusal struct {
	// Status is the HTTP status: 403, 404, 401, 503, ...
	Status int
	// Package names the package refusing: "window", "admission" or
	// "slots".
	Package string
	// Code says why, for programs: one of the Code constants.
	Code string
	// Phase is the campaign's phase when the gate refused ("not_yet",
	// "pre_queue", "open", "closed", "maintenance"), "" otherwise.
	Phase string
	// OpensAt and ClosesAt are the current or next booking window, in the
	// campaign's zone, when known.
	OpensAt, ClosesAt time.Time
	// RetryAfter is when to ask again; 0 when asking again will not help.
	RetryAfter time.Duration
	// Room is the waiting room's name, for the room's refusals.
	Room string
	// Err is the error behind the refusal, for logs; never shown to the
	// public.
	Err error
	// Problem is the RFC 9457 document of the default answer.
	Problem Problem
}

// DenyFunc answers a refused request. It must write a response (the
// status should be ref.Status) and must not call the handler the refusal
// protects.
type DenyFunc func(w http.ResponseWriter, r *http.Request, ref *Refusal)

// Write is the default answer: ref.Problem as application/problem+json,
// with Retry-After when ref.RetryAfter is positive.
func (ref *Refusal) Write(w http.ResponseWriter) {
	Write(w, ref.Problem, ref.RetryAfter)
}

// New returns a refusal by package pkg with the given status, code, title
// and detail, its problem document filled in: type TypeURI(pkg, code),
// members "code" (and "phase", "opens_at", "closes_at", "room" when the
// caller sets them afterwards and calls Finish).
func New(pkg string, status int, code, title, detail, instance string) *Refusal {
	return &Refusal{Status: status, Package: pkg, Code: code,
		Problem: Problem{Type: TypeURI(pkg, code), Title: title, Status: status, Detail: detail,
			Instance: instance, Extensions: map[string]any{"code": code}}}
}

// Finish copies the typed fields (Phase, OpensAt, ClosesAt, Room) into the
// problem document's members and returns ref. Times are written in RFC 3339
// with their own offset (the campaign's zone).
func (ref *Refusal) Finish() *Refusal {
	if ref.Problem.Extensions == nil {
		ref.Problem.Extensions = map[string]any{}
	}
	if ref.Phase != "" {
		ref.Problem.Extensions["phase"] = ref.Phase
	}
	if !ref.OpensAt.IsZero() {
		ref.Problem.Extensions["opens_at"] = ref.OpensAt.Format(time.RFC3339Nano)
	}
	if !ref.ClosesAt.IsZero() {
		ref.Problem.Extensions["closes_at"] = ref.ClosesAt.Format(time.RFC3339Nano)
	}
	if ref.Room != "" {
		ref.Problem.Extensions["room"] = ref.Room
	}
	return ref
}

// Deny answers r with ref: with deny when it is not nil, else with
// ref.Write.
func Deny(deny DenyFunc, w http.ResponseWriter, r *http.Request, ref *Refusal) {
	if deny != nil {
		deny(w, r, ref)
		return
	}
	ref.Write(w)
}
