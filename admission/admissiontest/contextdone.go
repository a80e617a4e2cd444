package admissiontest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/admission"
)

// testContextDone: a call whose context is already done (cancelled, or past
// its deadline) returns an error matching admission.ErrUnavailable and
// changes nothing, as slotstest's ContextDone checks for slots.
func testContextDone(t *testing.T, s admission.Store) {
	p := Params()
	now := at(time.Second)
	if _, err := s.Join(t.Context(), now, room, p, ID(1)); err != nil {
		t.Fatal(err)
	}
	// The first Status claims the place (Join does not); the record to
	// compare is the one after the claim.
	if _, err := s.Status(t.Context(), now, room, p, ID(1), admission.PlaceHint{}); err != nil {
		t.Fatal(err)
	}
	before, err := s.Status(t.Context(), now, room, p, ID(1), admission.PlaceHint{})
	if err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	expired, cancel2 := context.WithDeadline(t.Context(), time.Unix(1, 0))
	defer cancel2()
	for _, c := range []context.Context{cancelled, expired} {
		want := func(what string, err error) {
			t.Helper()
			if !errors.Is(err, admission.ErrUnavailable) || !errors.Is(err, c.Err()) {
				t.Fatalf("%s with a done context (%v): %v, want ErrUnavailable wrapping it", what, c.Err(), err)
			}
		}
		_, err := s.Join(c, now, room, p, ID(2))
		want("Join", err)
		_, err = s.Status(c, now, room, p, ID(1), admission.PlaceHint{})
		want("Status", err)
		_, err = s.Done(c, now, room, p, ID(1))
		want("Done", err)
		_, err = s.Advance(c, now, room, p)
		want("Advance", err)
		_, err = s.SetLimits(c, now, room, p, admission.Limits{Rate: 1, Burst: 1})
		want("SetLimits", err)
	}
	// Nothing changed: the second person never joined, the first is not
	// done and stands where he stood.
	if _, err := s.Status(t.Context(), now, room, p, ID(2), admission.PlaceHint{}); !errors.Is(err, admission.ErrNotJoined) {
		t.Fatalf("Join with a done context joined: Status = %v, want ErrNotJoined", err)
	}
	after, err := s.Status(t.Context(), now, room, p, ID(1), admission.PlaceHint{})
	if err != nil {
		t.Fatal(err)
	}
	if !equal(after, before) {
		t.Fatalf("calls with a done context changed the record:\nbefore %+v\nafter  %+v", before, after)
	}
}
