package window

import (
	"errors"
	"fmt"
	"time"
)

// ErrEmptyWindow reports a window whose end is not after its start.
var ErrEmptyWindow = errors.New("window: end must be after start")

// Window is the half-open interval of instants [Start, End): open at Start
// exactly, closed at End exactly. The zero Window contains nothing.
type Window struct {
	Start time.Time
	End   time.Time
}

// New returns the window [start, end), or ErrEmptyWindow unless end is after
// start.
func New(start, end time.Time) (Window, error) {
	if !end.After(start) {
		return Window{}, fmt.Errorf("%w: [%s, %s)", ErrEmptyWindow, start.Format(time.RFC3339Nano), end.Format(time.RFC3339Nano))
	}
	return Window{Start: start, End: end}, nil
}

// FromCivil builds the window [start, end) from wall-clock times in loc,
// resolving each with Resolve and d. A gap or overlap with d == Reject, an
// invalid civil time, or an end not after the start is an error.
func FromCivil(loc *time.Location, start, end Civil, d Disambiguation) (Window, error) {
	s, err := Resolve(start, loc, d)
	if err != nil {
		return Window{}, fmt.Errorf("start: %w", err)
	}
	e, err := Resolve(end, loc, d)
	if err != nil {
		return Window{}, fmt.Errorf("end: %w", err)
	}
	return New(s, e)
}

// Contains reports whether t is in [Start, End).
func (w Window) Contains(t time.Time) bool {
	return !t.Before(w.Start) && t.Before(w.End)
}

// Before reports whether the window has not started at t (t < Start).
func (w Window) Before(t time.Time) bool { return t.Before(w.Start) }

// Ended reports whether the window is over at t (t >= End).
func (w Window) Ended(t time.Time) bool { return !t.Before(w.End) }

// IsZero reports whether w is the zero Window.
func (w Window) IsZero() bool { return w.Start.IsZero() && w.End.IsZero() }

// Duration is End - Start.
func (w Window) Duration() time.Duration { return w.End.Sub(w.Start) }

// Overlaps reports whether w and o share an instant.
func (w Window) Overlaps(o Window) bool {
	return w.Start.Before(o.End) && o.Start.Before(w.End)
}

// In returns w with both ends shown in loc; the instants do not change.
func (w Window) In(loc *time.Location) Window {
	return Window{Start: w.Start.In(loc), End: w.End.In(loc)}
}

// String formats w as [start, end) in RFC 3339 with each end's own offset.
func (w Window) String() string {
	return "[" + w.Start.Format(time.RFC3339Nano) + ", " + w.End.Format(time.RFC3339Nano) + ")"
}
