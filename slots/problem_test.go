package slots_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/gatehouse-go/gatehouse/slots"
	"github.com/gatehouse-go/gatehouse/window"
	"github.com/gatehouse-go/gatehouse/window/problem"
)

func TestProblem(t *testing.T) {
	if slots.Problem(nil, nil) != nil {
		t.Fatal("Problem(nil) is not nil")
	}
	wrap := func(e error) error { return fmt.Errorf("hold s1: %w", e) }
	cases := []struct {
		err    error
		status int
		code   string
		retry  bool
	}{
		{wrap(slots.ErrFull), 409, problem.CodeFull, false},
		{wrap(slots.ErrAlreadyBooked), 409, problem.CodeAlreadyBooked, false},
		{wrap(slots.ErrInUse), 409, problem.CodeInUse, false},
		{wrap(slots.ErrHoldExpired), 410, problem.CodeHoldExpired, false},
		{wrap(slots.ErrNotFound), 404, problem.CodeNotFound, false},
		{wrap(slots.ErrConflict), 422, problem.CodeKeyReused, false},
		{wrap(slots.ErrInvalid), 422, problem.CodeInvalid, false},
		{wrap(slots.ErrClosed), 403, problem.CodeClosed, false},
		{wrap(slots.ErrUnavailable), 503, problem.CodeUnavailable, true},
		{errors.Join(slots.ErrUnavailable, slots.ErrNotReplicated), 503, problem.CodeUnavailable, true},
		{wrap(context.DeadlineExceeded), 500, problem.CodeInternal, false},
	}
	for _, c := range cases {
		req := httptest.NewRequest("POST", "/book/s1", nil)
		ref := slots.Problem(c.err, req)
		if ref.Status != c.status || ref.Code != c.code || ref.Package != "slots" || (ref.RetryAfter > 0) != c.retry || !errors.Is(ref.Err, c.err) {
			t.Errorf("%v: got %d %s %s retry %v", c.err, ref.Status, ref.Package, ref.Code, ref.RetryAfter)
			continue
		}
		w := httptest.NewRecorder()
		ref.Write(w)
		body := w.Body.String()
		if w.Code != c.status || w.Header().Get("Content-Type") != "application/problem+json" ||
			!strings.Contains(body, `"type":"`+problem.TypeURI("slots", c.code)+`"`) || !strings.Contains(body, `"instance":"/book/s1"`) {
			t.Errorf("%v: wrote %d %q %s", c.err, w.Code, w.Header().Get("Content-Type"), body)
		}
		if c.retry {
			if w.Header().Get("Retry-After") == "" {
				t.Errorf("%v: no Retry-After", c.err)
			}
			// An unknown outcome is never told as "nothing happened".
			if strings.Contains(body, "nothing") || !strings.Contains(body, "not known") {
				t.Errorf("%v: the detail must say the outcome is unknown: %s", c.err, body)
			}
		}
		if strings.Contains(body, "hold s1") {
			t.Errorf("%v: the error's text reached the public: %s", c.err, body)
		}
	}
	doc, err := os.ReadFile("../docs/problems.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if !strings.Contains(string(doc), "### slots-"+c.code+"\n") {
			t.Errorf("docs/problems.md has no section slots-%s", c.code)
		}
	}
}

// A refusal of the Service's gate is answered as the gate answers it, so
// the booking routes and the gated routes speak alike.
func TestProblemKeepsTheGatesRefusal(t *testing.T) {
	seoul := window.MustLoadZone("Asia/Seoul")
	open := time.Date(2021, 7, 12, 20, 0, 0, 0, seoul)
	gate, err := window.NewGate(window.GateOptions{Schedule: window.Schedule{Zone: seoul,
		Openings: []window.Opening{{Booking: window.Window{Start: open, End: open.Add(time.Hour)}}}}})
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewMock()
	clk.Set(open.Add(-time.Minute))
	svc, err := slots.NewService(slots.NewMemoryStore(), slots.ServiceOptions{Gate: slots.Window(gate), Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	_, err = svc.Hold(t.Context(), slots.HoldRequest{Campaign: "c", Slot: "s", Person: "p", Key: "k"})
	ref := slots.Problem(err, nil)
	if !errors.Is(err, slots.ErrClosed) || ref.Package != "window" || ref.Code != problem.CodeNotYet || ref.Status != 403 || !ref.OpensAt.Equal(open) {
		t.Fatalf("%v → %+v", err, ref)
	}
}

func ExampleProblem() {
	w := httptest.NewRecorder()
	slots.Problem(fmt.Errorf("hold: %w", slots.ErrFull), httptest.NewRequest("POST", "/book/1400", nil)).Write(w)
	fmt.Println(w.Code, w.Header().Get("Content-Type"))
	fmt.Println(w.Body.String())

	w = httptest.NewRecorder()
	slots.Problem(slots.ErrUnavailable, nil).Write(w)
	fmt.Println(w.Code, "Retry-After:", w.Header().Get("Retry-After"))
	// Output:
	// 409 application/problem+json
	// {"code":"full","detail":"This slot has no free place left.","instance":"/book/1400","status":409,"title":"Slot full","type":"https://github.com/gatehouse-go/gatehouse/blob/main/docs/problems.md#slots-full"}
	//
	// 503 Retry-After: 2
}
