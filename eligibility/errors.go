package eligibility

import (
	"errors"
	"strings"
)

// ErrInvalidDate reports a date that is malformed or does not exist, such
// as "1967-02-30" or 29 February in a common year.
var ErrInvalidDate = errors.New("eligibility: invalid date")

// ErrInvalidCampaign reports a campaign that New, Parse, Load or LoadFile
// refuses. Every such error is (or joins) *CampaignError values, which name
// the JSON path of what is wrong; errors.Is(err, ErrInvalidCampaign) holds
// for all of them.
var ErrInvalidCampaign = errors.New("eligibility: invalid campaign")

// CampaignError is one problem in a campaign, at a JSON path such as
// "cohorts[2].windows[0].end" ("" for the document as a whole). The same
// paths are used for campaigns built in Go with New, where they name the
// Config field that would hold the value in the JSON form.
//
// errors.Is(e, ErrInvalidCampaign) is true; Unwrap gives the cause, which
// may itself wrap ErrInvalidDate, window.ErrUnknownZone,
// window.ErrInvalidCivil, window.ErrNonexistentTime or
// window.ErrAmbiguousTime.
type CampaignError struct {
	// Path is the JSON path of the offending value, "" for the document.
	Path string
	// Err says what is wrong.
	Err error
}

// Error returns "eligibility: invalid campaign: <path>: <what>".
func (e *CampaignError) Error() string {
	var b strings.Builder
	b.WriteString(ErrInvalidCampaign.Error())
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	// The cause's own package prefix ("eligibility: invalid date: ...",
	// "window: unknown time zone ...") adds nothing after the path.
	msg := e.Err.Error()
	for _, prefix := range []string{"eligibility: ", "window: "} {
		msg = strings.TrimPrefix(msg, prefix)
	}
	b.WriteString(msg)
	return b.String()
}

// Unwrap returns the cause.
func (e *CampaignError) Unwrap() error { return e.Err }

// Is reports whether target is ErrInvalidCampaign.
func (e *CampaignError) Is(target error) bool { return target == ErrInvalidCampaign }

// maxErrors bounds how many problems one campaign reports; a file with more
// is usually wrong in one systematic way.
const maxErrors = 20

// errList collects campaign errors with their paths.
type errList struct {
	errs []error
	more bool
}

func (l *errList) add(path string, err error) {
	if len(l.errs) >= maxErrors {
		l.more = true
		return
	}
	l.errs = append(l.errs, &CampaignError{Path: path, Err: err})
}

func (l *errList) addf(path, msg string) { l.add(path, errors.New(msg)) }

func (l *errList) ok() bool { return len(l.errs) == 0 }

// err returns nil, the one error, or all of them joined (first first).
func (l *errList) err() error {
	switch {
	case len(l.errs) == 0:
		return nil
	case len(l.errs) == 1 && !l.more:
		return l.errs[0]
	}
	errs := l.errs
	if l.more {
		errs = append(errs[:len(errs):len(errs)], &CampaignError{Err: errors.New("more problems not shown")})
	}
	return errors.Join(errs...)
}

// join appends a path element: a field name or an index.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
