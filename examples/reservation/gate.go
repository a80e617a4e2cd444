package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-go/gatehouse/slots"
)

// commitGate is the slot service's Gate: at the one instant the service
// hands to the store, it checks the window (window.Gate.Require), the
// person's eligibility (eligibility.Campaign.Decide) and their pass
// (admission.Room.Verify). Who books comes in the request's Proof (a
// booker), which the service hands over as slots.Attempt.Proof.
type commitGate struct{ s *server }

// booker is who is booking, for commitGate.
type booker struct {
	sess session
	pass string
}

// Errors of the commit check (all wrapped in slots.ErrClosed by the
// service).
var (
	errNoBooker       = fmt.Errorf("no person in the booking request")
	errNotEligibleNow = fmt.Errorf("not eligible to book now")
)

func (g commitGate) Require(ctx context.Context, now time.Time, a slots.Attempt) error {
	if err := g.s.gate.Require(ctx, now); err != nil {
		return err
	}
	b, ok := a.Proof.(booker)
	if !ok || g.s.personID(b.sess) != a.Person {
		return errNoBooker
	}
	if d := g.s.decide(b.sess, now); d.Status.String() != "open" {
		return fmt.Errorf("%w: %s", errNotEligibleNow, d)
	}
	room := g.s.roomFor(now, b.sess)
	if room == nil {
		return errNoRoom
	}
	return room.Verify(now, b.pass, b.sess.identity())
}

// passFor returns the pass a request carries: the Gatehouse-Pass header,
// an "Authorization: Bearer" header, or the pass cookie.
func passFor(r *http.Request) string {
	if p := r.Header.Get("Gatehouse-Pass"); p != "" {
		return p
	}
	if p := bearer(r); p != "" {
		return p
	}
	if c, err := r.Cookie(passCookie); err == nil {
		return c.Value
	}
	return ""
}

// bearer returns the token of an "Authorization: Bearer" header.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}
