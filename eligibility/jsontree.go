package eligibility

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file reads JSON strictly into a small tree that keeps what
// encoding/json throws away: the order of an object's keys, duplicate keys
// (refused), and where each value is. Decoding then walks the tree with
// the JSON path in hand, so every error can name it.

type jkind uint8

const (
	jNull jkind = iota
	jBool
	jNumber
	jString
	jArray
	jObject
)

// String names the kind for error messages ("a string", ...).
func (k jkind) String() string {
	return [...]string{"null", "a boolean", "a number", "a string", "an array", "an object"}[k]
}

type jnode struct {
	kind  jkind
	str   string // jString: the value; jNumber: the literal
	b     bool
	elems []*jnode // jArray
	keys  []string // jObject, in order
	vals  []*jnode // jObject, vals[i] is keys[i]'s
}

// maxJSONDepth bounds nesting of arrays and objects.
const maxJSONDepth = 100

// parseTree parses exactly one JSON value from data: invalid UTF-8,
// duplicate keys, nesting deeper than maxJSONDepth and anything after the
// value are refused. Errors are *CampaignError with the path reached.
func parseTree(data []byte) (*jnode, error) {
	if !utf8.Valid(data) {
		i := 0
		for i < len(data) {
			r, n := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			i += n
		}
		return nil, &CampaignError{Err: fmt.Errorf("not valid UTF-8 at %s", position(data, int64(i)))}
	}
	p := &jparser{data: data, dec: json.NewDecoder(bytes.NewReader(data))}
	p.dec.UseNumber()
	n, err := p.value("", 0)
	if err != nil {
		return nil, err
	}
	off := p.dec.InputOffset()
	if _, err := p.dec.Token(); err != io.EOF {
		return nil, &CampaignError{Err: fmt.Errorf("unexpected data after the JSON value at %s", position(data, skipSpace(data, off)))}
	}
	return n, nil
}

func skipSpace(data []byte, off int64) int64 {
	for off < int64(len(data)) && strings.IndexByte(" \t\r\n", data[off]) >= 0 {
		off++
	}
	return off
}

type jparser struct {
	data []byte
	dec  *json.Decoder
}

// syntax turns a decoder error into a *CampaignError at path.
func (p *jparser) syntax(path string, err error) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return &CampaignError{Path: path, Err: fmt.Errorf("invalid JSON at %s: %s", position(p.data, se.Offset), se.Error())}
	case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
		if len(bytes.TrimSpace(p.data)) == 0 {
			return &CampaignError{Path: path, Err: errors.New("empty document")}
		}
		return &CampaignError{Path: path, Err: errors.New("invalid JSON: unexpected end of input")}
	}
	return &CampaignError{Path: path, Err: fmt.Errorf("invalid JSON at %s: %v", position(p.data, p.dec.InputOffset()), err)}
}

func (p *jparser) value(path string, depth int) (*jnode, error) {
	tok, err := p.dec.Token()
	if err != nil {
		return nil, p.syntax(path, err)
	}
	switch v := tok.(type) {
	case nil:
		return &jnode{kind: jNull}, nil
	case bool:
		return &jnode{kind: jBool, b: v}, nil
	case json.Number:
		return &jnode{kind: jNumber, str: string(v)}, nil
	case string:
		return &jnode{kind: jString, str: v}, nil
	case json.Delim:
		if depth >= maxJSONDepth {
			return nil, &CampaignError{Path: path, Err: fmt.Errorf("nested more than %d deep", maxJSONDepth)}
		}
		if v == '[' {
			n := &jnode{kind: jArray}
			for p.dec.More() {
				e, err := p.value(path+"["+strconv.Itoa(len(n.elems))+"]", depth+1)
				if err != nil {
					return nil, err
				}
				n.elems = append(n.elems, e)
			}
			if _, err := p.dec.Token(); err != nil {
				return nil, p.syntax(path, err)
			}
			return n, nil
		}
		n := &jnode{kind: jObject}
		for p.dec.More() {
			kt, err := p.dec.Token()
			if err != nil {
				return nil, p.syntax(path, err)
			}
			k, ok := kt.(string)
			if !ok {
				return nil, p.syntax(path, fmt.Errorf("object key %v is not a string", kt))
			}
			kp := keyPath(path, k)
			for _, seen := range n.keys {
				if seen == k {
					return nil, &CampaignError{Path: kp, Err: errors.New("duplicate key")}
				}
			}
			e, err := p.value(kp, depth+1)
			if err != nil {
				return nil, err
			}
			n.keys = append(n.keys, k)
			n.vals = append(n.vals, e)
		}
		if _, err := p.dec.Token(); err != nil {
			return nil, p.syntax(path, err)
		}
		return n, nil
	}
	return nil, p.syntax(path, fmt.Errorf("unexpected token %v", tok))
}

// keyPath appends an object key to a path: .name for plain keys, ["..."]
// for anything else, so a hostile key cannot forge a path.
func keyPath(path, key string) string {
	plain := key != ""
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			plain = false
			break
		}
	}
	if plain {
		return join(path, key)
	}
	return path + "[" + strconv.Quote(key) + "]"
}

// position renders a byte offset as "line L, column C" (columns count
// bytes, from 1).
func position(data []byte, off int64) string {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	if off < 0 {
		off = 0
	}
	before := data[:off]
	line := bytes.Count(before, []byte{'\n'}) + 1
	col := int64(len(before)-bytes.LastIndexByte(before, '\n')-1) + 1
	return fmt.Sprintf("line %d, column %d", line, col)
}

// decoder walks a tree, collecting errors.
type decoder struct{ errs *errList }

// object checks n is an object whose keys are all in allowed, and returns a
// lookup; on error it reports and returns ok=false.
func (d decoder) object(path string, n *jnode, allowed ...string) (get func(string) *jnode, ok bool) {
	if n.kind != jObject {
		d.errs.addf(path, "want an object, got "+n.kind.String())
		return nil, false
	}
	ok = true
	for _, k := range n.keys {
		known := false
		for _, a := range allowed {
			if a == k {
				known = true
				break
			}
		}
		if !known {
			d.errs.addf(keyPath(path, k), "unknown field (want "+orList(allowed)+")")
			ok = false
		}
	}
	return func(k string) *jnode {
		for i, kk := range n.keys {
			if kk == k {
				return n.vals[i]
			}
		}
		return nil
	}, ok
}

// orList writes "a, b or c".
func orList(s []string) string {
	switch len(s) {
	case 0:
		return "nothing"
	case 1:
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// str reads a string; n may be nil for a missing field.
func (d decoder) str(path string, n *jnode, required bool) (string, bool) {
	if n == nil {
		if required {
			d.errs.addf(path, "missing")
		}
		return "", !required
	}
	if n.kind != jString {
		d.errs.addf(path, "want a string, got "+n.kind.String())
		return "", false
	}
	return n.str, true
}

// integer reads an integer in [lo, hi].
func (d decoder) integer(path string, n *jnode, lo, hi int) (int, bool) {
	if n == nil {
		d.errs.addf(path, "missing")
		return 0, false
	}
	if n.kind != jNumber {
		d.errs.addf(path, "want an integer, got "+n.kind.String())
		return 0, false
	}
	v, err := strconv.Atoi(n.str)
	if err != nil || v < lo || v > hi {
		d.errs.addf(path, fmt.Sprintf("want an integer from %d to %d, got %s", lo, hi, n.str))
		return 0, false
	}
	return v, true
}

// date reads a "2006-01-02" string.
func (d decoder) date(path string, n *jnode, required bool) (Date, bool) {
	s, ok := d.str(path, n, required)
	if !ok || n == nil {
		return Date{}, ok
	}
	v, err := ParseDate(s)
	if err != nil {
		d.errs.add(path, err)
		return Date{}, false
	}
	return v, true
}
