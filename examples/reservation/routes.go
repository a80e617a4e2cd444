package main

import (
	"net/http"

	"github.com/gatehouse-go/gatehouse/window"
)

// access is a class of routes that the gate opens together. Every route is
// registered with exactly one class, from the one table in routes; a
// request that matches no route is refused in every phase.
type access int

const (
	// accessInfra: health check, metrics, static assets, the operator
	// sign-in form. Open in every phase, maintenance included.
	accessInfra access = iota + 1
	// accessLanding: the front page. Open in every phase but maintenance.
	accessLanding
	// accessCheckIn: signing in and out, the eligibility answer. From the
	// pre-queue on, also after closing (to read one's answer).
	accessCheckIn
	// accessQueue: the waiting room's pages, join and status. Pre-queue
	// and open.
	accessQueue
	// accessBooking: slot choice, hold, confirm, move, cancel. Open only,
	// and newServer wraps every route of the class in the pass check
	// (needPass): there is no way to register one without it.
	accessBooking
	// accessMyBooking: reading one's own booking. Open and closed; needs
	// a session, not a pass.
	accessMyBooking
	// accessOperator: the operator console. Only an operator passes, in
	// every phase.
	accessOperator
)

func (a access) String() string {
	switch a {
	case accessInfra:
		return "infra"
	case accessLanding:
		return "landing"
	case accessCheckIn:
		return "check-in"
	case accessQueue:
		return "queue"
	case accessBooking:
		return "booking"
	case accessMyBooking:
		return "my-booking"
	case accessOperator:
		return "operator"
	}
	return "unclassified"
}

// allowance is the set of phases in which the gate opens the class to
// the public. Maintenance closes everything but accessInfra; operators
// pass everywhere (the gate checks their token).
func (a access) allowance() window.Allowance {
	switch a {
	case accessInfra:
		return window.Always
	case accessLanding:
		return window.AnyPhase
	case accessCheckIn:
		return window.DuringPreQueue | window.DuringOpen | window.DuringClosed
	case accessQueue:
		return window.DuringPreQueue | window.DuringOpen
	case accessBooking:
		return window.DuringOpen
	case accessMyBooking:
		return window.DuringOpen | window.DuringClosed
	}
	return window.OperatorsOnly
}

// route is one entry of the route table: the ServeMux pattern, the class
// the gate opens it with, and the handler.
type route struct {
	pattern string
	access  access
	handler http.Handler
}

// routes is the server's one route table. The mux is built from it, and the
// gate classifies a request by the pattern the mux matched, so a handler
// cannot be registered without a class; the route table test walks the same
// slice.
func (s *server) routes() []route {
	h := func(f http.HandlerFunc) http.Handler { return f }
	return []route{
		{"GET /healthz", accessInfra, h(s.healthz)},
		{"GET /metrics", accessInfra, s.metricsHandler()},
		{"GET /static/", accessInfra, s.staticHandler()},
		{"GET /gatehouse/", accessInfra, s.ui.Assets()},
		{"GET /operator/signin", accessInfra, h(s.operatorSignInPage)},
		{"POST /operator/signin", accessInfra, h(s.operatorSignIn)},

		{"GET /{$}", accessLanding, h(s.landingPage)},

		{"GET /signin", accessCheckIn, h(s.signInPage)},
		{"POST /signin", accessCheckIn, h(s.signIn)},
		{"POST /signout", accessCheckIn, h(s.signOut)},
		{"GET /eligibility", accessCheckIn, h(s.eligibilityPage)},
		{"POST /api/session", accessCheckIn, h(s.apiSession)},
		{"GET /api/eligibility", accessCheckIn, h(s.apiEligibility)},

		{"GET /queue", accessQueue, h(s.queuePage)},
		{"POST /queue/join", accessQueue, h(s.queueJoin)},
		{"POST /api/queue/join", accessQueue, h(s.apiQueueJoin)},
		{"GET /api/queue/status", accessQueue, h(s.apiQueueStatus)},

		{"GET /book", accessBooking, h(s.bookPage)},
		{"POST /book/hold", accessBooking, h(s.bookHold)},
		{"GET /book/hold/{id}", accessBooking, h(s.holdPage)},
		{"POST /book/hold/{id}/confirm", accessBooking, h(s.bookConfirm)},
		{"POST /book/hold/{id}/release", accessBooking, h(s.bookRelease)},
		{"POST /booking/move", accessBooking, h(s.bookingMove)},
		{"POST /booking/cancel", accessBooking, h(s.bookingCancel)},
		{"GET /api/slots", accessBooking, h(s.apiSlots)},
		{"POST /api/holds", accessBooking, h(s.apiHold)},
		{"POST /api/holds/{id}/confirm", accessBooking, h(s.apiConfirm)},
		{"DELETE /api/holds/{id}", accessBooking, h(s.apiRelease)},
		{"POST /api/bookings/me/move", accessBooking, h(s.apiMove)},
		{"DELETE /api/bookings/me", accessBooking, h(s.apiCancel)},

		{"GET /booking", accessMyBooking, h(s.bookingPage)},
		{"GET /api/bookings/me", accessMyBooking, h(s.apiBooking)},

		{"GET /operator", accessOperator, h(s.operatorPage)},
		{"POST /operator/maintenance", accessOperator, h(s.operatorMaintenance)},
		{"POST /operator/signout", accessOperator, h(s.operatorSignOut)},
		{"GET /api/operator/stats", accessOperator, h(s.apiOperatorStats)},
		{"POST /operator/limits", accessOperator, h(s.operatorLimits)},
		{"POST /api/operator/limits", accessOperator, h(s.operatorLimits)},
		{"POST /operator/message", accessOperator, h(s.operatorNotice)},
		{"POST /api/operator/message", accessOperator, h(s.operatorNotice)},
	}
}
