package eligibility

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/benbjohnson/clock"

	"github.com/gatehouse-go/gatehouse/window/problem"
)

// DefaultMaxBodyBytes is the request body limit of a Handler whose
// HandlerOptions.MaxBodyBytes is zero. {"birth_date":"1967-03-04"} is 27
// bytes.
const DefaultMaxBodyBytes = 1 << 10

// HandlerOptions configures NewHandler. The zero value is the documented
// default of each field.
type HandlerOptions struct {
	// Clock supplies the instant each request is decided at. Nil means
	// clock.New(), the real clock.
	Clock clock.Clock
	// MaxBodyBytes is the largest request body accepted; a larger one gets
	// 413. Zero means DefaultMaxBodyBytes; negative is an error.
	MaxBodyBytes int64
}

// Handler answers eligibility questions over HTTP. Create it with
// NewHandler; it is safe for concurrent use.
//
// It accepts POST with a JSON body {"birth_date": "1967-03-04"} (and no
// other member) and answers 200 with the Decision as JSON, "not eligible"
// included:
//
//	{"status":"open","reason":"window_open","cohort":"53-54",
//	 "opens_at":"2021-07-19T20:00:00+09:00","closes_at":"2021-07-20T18:00:00+09:00",
//	 "at":"2021-07-20T02:30:00+09:00"}
//
// Anything else gets an RFC 9457 application/problem+json answer whose
// "code" member says what was wrong, for programs: 405 method_not_allowed
// (with Allow: POST), 415 unsupported_media_type (a Content-Type other than
// JSON; none at all is accepted), 413 body_too_large, 400 invalid_json
// (malformed JSON, unknown or duplicate members, trailing data, a missing
// or non-string birth_date) and 422 invalid_birth_date (a date that does
// not exist, such as 1967-02-30). Problems carry "field" when a member is
// at fault. Every answer is marked Cache-Control: no-store: it is personal
// and changes with time.
type Handler struct {
	c       *Campaign
	clk     clock.Clock
	maxBody int64
}

// NewHandler returns a Handler deciding with c. It refuses a nil campaign
// and invalid options.
func NewHandler(c *Campaign, opts HandlerOptions) (*Handler, error) {
	if c == nil {
		return nil, errors.New("eligibility: NewHandler: nil campaign")
	}
	if opts.MaxBodyBytes < 0 {
		return nil, fmt.Errorf("eligibility: NewHandler: MaxBodyBytes %d is negative", opts.MaxBodyBytes)
	}
	h := &Handler{c: c, clk: opts.Clock, maxBody: opts.MaxBodyBytes}
	if h.clk == nil {
		h.clk = clock.New()
	}
	if h.maxBody == 0 {
		h.maxBody = DefaultMaxBodyBytes
	}
	return h, nil
}

// Problem codes, the "code" member of the handler's problem answers.
const (
	codeMethod    = "method_not_allowed"
	codeMedia     = "unsupported_media_type"
	codeTooLarge  = "body_too_large"
	codeJSON      = "invalid_json"
	codeBirthDate = "invalid_birth_date"
	codeInternal  = "internal"
)

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.problem(w, r, http.StatusMethodNotAllowed, codeMethod, "", "use POST with a JSON body {\"birth_date\": \"2006-01-02\"}")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			h.problem(w, r, http.StatusUnsupportedMediaType, codeMedia, "", "send Content-Type: application/json")
			return
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			h.problem(w, r, http.StatusRequestEntityTooLarge, codeTooLarge, "", fmt.Sprintf("the body is larger than %d bytes", h.maxBody))
			return
		}
		h.problem(w, r, http.StatusBadRequest, codeJSON, "", "reading the body failed")
		return
	}
	p, field, code, detail := parsePerson(body)
	if code != "" {
		status := http.StatusBadRequest
		if code == codeBirthDate {
			status = http.StatusUnprocessableEntity
		}
		h.problem(w, r, status, code, field, detail)
		return
	}
	d := h.c.Decide(h.clk.Now(), p)
	b, err := json.Marshal(d)
	if err != nil {
		h.problem(w, r, http.StatusInternalServerError, codeInternal, "", "")
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	w.Write(append(b, '\n'))
}

func (h *Handler) problem(w http.ResponseWriter, r *http.Request, status int, code, field, detail string) {
	ext := map[string]any{"code": code}
	if field != "" {
		ext["field"] = field
	}
	problem.Write(w, problem.Problem{Type: problem.TypeURI("eligibility", code), Status: status, Detail: detail,
		Instance: r.URL.Path, Extensions: ext}, 0)
}

// parsePerson reads {"birth_date": "2006-01-02"} strictly. On error it
// returns the JSON path at fault (if any), the problem code and a detail for
// people.
func parsePerson(body []byte) (p Person, field, code, detail string) {
	root, err := parseTree(body)
	if err != nil {
		ce := err.(*CampaignError)
		return p, ce.Path, codeJSON, describe(ce.Path, ce.Err)
	}
	var errs errList
	dec := decoder{&errs}
	if get, ok := dec.object("", root, "birth_date"); ok {
		if s, ok := dec.str("birth_date", get("birth_date"), true); ok {
			d, err := ParseDate(s)
			if err != nil {
				return p, "birth_date", codeBirthDate, describe("birth_date", err)
			}
			return Person{BirthDate: d}, "", "", ""
		}
	}
	ce := errs.errs[0].(*CampaignError)
	return p, ce.Path, codeJSON, describe(ce.Path, ce.Err)
}

// describe words an error at a JSON path for people, without the package
// prefixes that Go error strings carry.
func describe(path string, err error) string {
	msg := strings.TrimPrefix(err.Error(), "eligibility: ")
	if path == "" {
		return msg
	}
	return path + ": " + msg
}
