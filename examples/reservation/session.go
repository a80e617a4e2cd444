package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The session cookie stands in for the host's real authentication: a
// real site knows who its user is (a login, a national identity check).
// Here a person types a name and a birth date, and the server signs them
// into a cookie. The identity that the waiting room and the slot store see
// is derived from both.

const (
	sessionCookie  = "gh_session"
	passCookie     = "gh_pass"
	ticketCookie   = "gh_ticket" // the waiting room's place ticket
	operatorCookie = "gh_operator"
	sessionTTL     = 12 * time.Hour
	maxNameRunes   = 80
)

var (
	errNoSession  = errors.New("not signed in")
	errBadSession = errors.New("session cookie is invalid or expired")
)

// session is the signed content of the session cookie.
type session struct {
	Name      string `json:"n"`
	BirthDate string `json:"b"` // YYYY-MM-DD
	Expires   int64  `json:"e"` // Unix seconds
}

// identity is the person's stable identity for the waiting room and the
// slot store: the same name and birth date give the same identity, so a
// second browser or a new session keeps the same place and the same
// booking. The libraries keep only keyed hashes of it.
func (s session) identity() string {
	return "person:" + s.BirthDate + ":" + strings.ToLower(s.Name)
}

// cookieSigner signs and verifies values with HMAC-SHA256 under a key
// derived from the server secret for this purpose alone (deriveKey).
type cookieSigner struct {
	key []byte
}

func (c cookieSigner) mac(payload string) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// sign returns payload.mac, both base64url.
func (c cookieSigner) sign(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	p := base64.RawURLEncoding.EncodeToString(b)
	return p + "." + base64.RawURLEncoding.EncodeToString(c.mac(p)), nil
}

// verify checks the MAC in constant time and decodes the payload into v.
func (c cookieSigner) verify(s string, v any) error {
	if len(s) > 4096 {
		return errBadSession
	}
	p, sig, ok := strings.Cut(s, ".")
	if !ok {
		return errBadSession
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, c.mac(p)) {
		return errBadSession
	}
	b, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return errBadSession
	}
	if err := json.Unmarshal(b, v); err != nil {
		return errBadSession
	}
	return nil
}

// readSession returns the request's verified, unexpired session.
func (s *server) readSession(r *http.Request, now time.Time) (session, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return session{}, errNoSession
	}
	var sess session
	if err := s.sessions.verify(c.Value, &sess); err != nil {
		return session{}, err
	}
	if now.Unix() >= sess.Expires {
		return session{}, errBadSession
	}
	if _, err := checkName(sess.Name); err != nil {
		return session{}, errBadSession
	}
	if _, err := parseBirthDate(sess.BirthDate, now); err != nil {
		return session{}, errBadSession
	}
	return sess, nil
}

// setCookie writes a cookie with the attributes every cookie of this
// server carries: HttpOnly, SameSite=Lax, Path=/, and Secure over TLS (or
// when the server is told it sits behind TLS).
func (s *server) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		MaxAge:   int(maxAge / time.Second),
		HttpOnly: true,
		Secure:   r.TLS != nil || s.cfg.SecureCookies,
		SameSite: http.SameSiteLaxMode,
	})
}

// clearCookie deletes a cookie.
func (s *server) clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: r.TLS != nil || s.cfg.SecureCookies, SameSite: http.SameSiteLaxMode,
	})
}

// startSession signs the person in.
func (s *server) startSession(w http.ResponseWriter, r *http.Request, name, birth string, now time.Time) error {
	v, err := s.sessions.sign(session{Name: name, BirthDate: birth, Expires: now.Add(sessionTTL).Unix()})
	if err != nil {
		return err
	}
	s.setCookie(w, r, sessionCookie, v, sessionTTL)
	return nil
}

// fieldError is a problem with one input field, shown next to it on a form
// and listed under "errors" in a problem+json response.
//
// Message is a key of the server's catalog (i18n.go) until the error is
// shown: localized writes it in the request's language.
type fieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e fieldError) Error() string { return e.Field + ": " + e.Message }

// checkName normalises a name (trimmed, inner runs of white space made one
// space) and refuses empty, over-long or control-character names.
func checkName(raw string) (string, error) {
	if !utf8.ValidString(raw) {
		return "", fieldError{"name", "fe.invalid_text"}
	}
	name := strings.Join(strings.Fields(raw), " ")
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		return "", fieldError{"name", "fe.required"}
	case n > maxNameRunes:
		return "", fieldError{"name", "fe.too_long"}
	}
	for _, r := range name {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return "", fieldError{"name", "fe.bad_chars"}
		}
	}
	return name, nil
}

// parseBirthDate accepts YYYY-MM-DD naming a real date between 1900-01-01
// and today (in UTC+14, the earliest zone, so nobody is refused for being
// born "tomorrow" somewhere). It returns the date at midnight UTC.
func parseBirthDate(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, fieldError{"birth_date", "fe.required"}
	}
	d, err := time.Parse(time.DateOnly, s)
	if err != nil || d.Format(time.DateOnly) != s {
		return time.Time{}, fieldError{"birth_date", "fe.bad_date"}
	}
	if d.Year() < 1900 {
		return time.Time{}, fieldError{"birth_date", "fe.before_1900"}
	}
	ty, tm, td := now.In(time.FixedZone("UTC+14", 14*3600)).Date()
	if d.After(time.Date(ty, tm, td, 0, 0, 0, 0, time.UTC)) {
		return time.Time{}, fieldError{"birth_date", "fe.future"}
	}
	return d, nil
}
