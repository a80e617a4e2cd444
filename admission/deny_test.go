package admission_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/admission"
	"github.com/gatehouse-go/gatehouse/window/problem"
)

// TestDenyHook: Options.Deny answers every refusal of Handler and Protect
// with the typed refusal (status, code, room, Retry-After, problem
// document), and the protected handler never runs.
func TestDenyHook(t *testing.T) {
	clk := newClock(time.Minute)
	var got *problem.Refusal
	deny := func(w http.ResponseWriter, r *http.Request, ref *problem.Refusal) {
		got = ref
		w.WriteHeader(ref.Status)
		w.Write([]byte("page"))
	}
	up := newRoom(t, admission.NewMemoryStore(), options(t, "vaccine", clk, func(o *admission.Options) { o.Deny = deny }))
	down := newRoom(t, brokenStore{}, options(t, "vaccine", clk, func(o *admission.Options) { o.Deny = deny }))
	for _, tc := range []struct {
		name   string
		h      http.Handler
		c      call
		status int
		code   string
		retry  time.Duration
	}{
		{"no identity", up.Handler(identityFromHeader), call{path: "/q/status"}, 401, problem.CodeIdentityRequired, 0},
		{"not joined", up.Handler(identityFromHeader), call{path: "/q/status", user: person(1)}, 404, problem.CodeNotJoined, 0},
		{"store down", down.Handler(identityFromHeader), call{path: "/q/status", user: person(1)}, 503, problem.CodeUnavailable, admission.RetryAfterUnavailable},
		{"no pass", up.Protect(booked, identityFromHeader), call{path: "/book", user: person(1)}, 401, problem.CodePassRequired, 0},
		{"forged pass", up.Protect(booked, identityFromHeader), call{path: "/book", user: person(1), pass: "gh1.x.y.z"}, 403, problem.CodeInvalidPass, 0},
	} {
		got = nil
		w := do(t, tc.h, tc.c)
		if got == nil || w.Code != tc.status || w.Body.String() != "page" {
			t.Fatalf("%s: hook %v, answer %d %q", tc.name, got != nil, w.Code, w.Body)
		}
		if got.Status != tc.status || got.Code != tc.code || got.RetryAfter != tc.retry || got.Room != "vaccine" ||
			got.Problem.Type != problem.TypeURI("admission", tc.code) || got.Problem.Code() != tc.code {
			t.Errorf("%s: refusal %+v", tc.name, got)
		}
	}
}

// TestHandlerTimesInTheCampaignsZone: the JSON of the room's handlers
// writes its times in the zone Options.Opening is given in, as the gate
// and eligibility answer in the campaign's zone.
func TestHandlerTimesInTheCampaignsZone(t *testing.T) {
	seoul := time.FixedZone("KST", 9*3600)
	clk := newClock(time.Minute)
	room := newRoom(t, admission.NewMemoryStore(), options(t, "vaccine", clk, func(o *admission.Options) { o.Opening = opening.In(seoul) }))
	w := do(t, room.Handler(identityFromHeader), call{method: "POST", path: "/q/join", user: person(1)})
	for _, want := range []string{`"opens_at":"2021-07-12T20:00:00+09:00"`, `"joined_at":"2021-07-12T20:01:00+09:00"`} {
		if !strings.Contains(w.Body.String(), want) {
			t.Errorf("join answer lacks %s: %s", want, w.Body)
		}
	}
	w = do(t, room.Handler(identityFromHeader), call{path: "/q/fairness"})
	if !strings.Contains(w.Body.String(), `"opens_at":"2021-07-12T20:00:00+09:00"`) {
		t.Errorf("fairness: %s", w.Body)
	}
}
