package problem

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"time"
)

// ContentType is the media type of a problem document.
const ContentType = "application/problem+json"

// TypeBase starts every problem type URI gatehouse writes: the page that
// documents each type, one heading per type.
const TypeBase = "https://github.com/gatehouse-go/gatehouse/blob/main/docs/problems.md#"

// TypeURI returns the type URI of the problem code in package pkg:
// TypeBase + pkg + "-" + code, such as
// https://github.com/gatehouse-go/gatehouse/blob/main/docs/problems.md#window-maintenance.
// Every gatehouse package names its problems this way, and writes the code
// again as the "code" member.
func TypeURI(pkg, code string) string { return TypeBase + pkg + "-" + code }

// Problem is an RFC 9457 problem document. Extensions are members beyond
// the standard ones (such as "phase" or "opens_at"); they are written at the
// top level of the JSON object and may not reuse a standard member's name.
type Problem struct {
	Type       string         // a URI naming the problem type; "" means about:blank
	Title      string         // short, human-readable summary of the type
	Status     int            // the HTTP status code
	Detail     string         // explanation specific to this occurrence
	Instance   string         // a URI for this occurrence, usually the request path
	Extensions map[string]any // extension members
}

// MarshalJSON writes the standard members and the extensions in one object.
func (p Problem) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(p.Extensions)+5)
	for k, v := range p.Extensions {
		m[k] = v
	}
	if p.Type != "" {
		m["type"] = p.Type
	}
	m["title"] = p.Title
	m["status"] = p.Status
	if p.Detail != "" {
		m["detail"] = p.Detail
	}
	if p.Instance != "" {
		m["instance"] = p.Instance
	}
	return json.Marshal(m)
}

// Code returns the "code" extension member, or "".
func (p Problem) Code() string {
	s, _ := p.Extensions["code"].(string)
	return s
}

// Write sends p with its status. A positive retryAfter adds a Retry-After
// header in whole seconds, rounded up. Problems are never cached.
func Write(w http.ResponseWriter, p Problem, retryAfter time.Duration) {
	if p.Status == 0 {
		p.Status = http.StatusInternalServerError
	}
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	b, err := json.Marshal(p)
	if err != nil {
		b = []byte(`{"title":"Internal Server Error","status":500}`)
		p.Status = http.StatusInternalServerError
	}
	h := w.Header()
	h.Set("Content-Type", ContentType)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if retryAfter > 0 {
		h.Set("Retry-After", strconv.FormatInt(RetryAfterSeconds(retryAfter), 10))
	}
	w.WriteHeader(p.Status)
	w.Write(append(b, '\n'))
}

// RetryAfterSeconds rounds d up to whole seconds, at least 1, as
// Retry-After wants.
func RetryAfterSeconds(d time.Duration) int64 {
	s := int64(math.Ceil(d.Seconds()))
	if s < 1 {
		s = 1
	}
	return s
}
