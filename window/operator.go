package window

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-go/gatehouse/window/keyring"
)

// Operator token errors. Every refusal of Verify wraps ErrInvalidToken, and
// one of the more specific errors below says why.
var (
	// ErrInvalidToken is wrapped by every refusal of an operator token.
	ErrInvalidToken = errors.New("window: invalid operator token")
	// ErrTokenMalformed: the token is not of the form Issue produces.
	ErrTokenMalformed = fmt.Errorf("%w: malformed", ErrInvalidToken)
	// ErrTokenUnknownKey: the token names a key id that the keyring does
	// not accept (never known, or retired).
	ErrTokenUnknownKey = fmt.Errorf("%w: key not accepted", ErrInvalidToken)
	// ErrTokenSignature: the signature does not match (forged or
	// altered).
	ErrTokenSignature = fmt.Errorf("%w: bad signature", ErrInvalidToken)
	// ErrTokenExpired: the token's expiry is at or before the instant of
	// verification.
	ErrTokenExpired = fmt.Errorf("%w: expired", ErrInvalidToken)
	// ErrTokenNotYetValid: the token was issued more than MaxClockSkew
	// after the instant of verification.
	ErrTokenNotYetValid = fmt.Errorf("%w: issued in the future", ErrInvalidToken)
)

// ErrInvalidKey reports an operator key or keyring that NewKeyring refuses.
var ErrInvalidKey = errors.New("window: invalid operator key")

const (
	// MinKeySize is the least number of secret bytes an OperatorKey may
	// have: the size of the HMAC-SHA256 output. Every gatehouse keyring
	// has the same rules (admission's passes too).
	MinKeySize = keyring.MinSecret
	// MaxClockSkew is how far in the future a token's issue time may be
	// and still verify, to tolerate clocks of different servers that
	// disagree a little: 5 s, as for admission's passes.
	MaxClockSkew = keyring.ClockSkew
	// MaxTokenLen bounds the length of a token Verify will look at.
	MaxTokenLen = 512
	// maxOperatorName bounds the operator name, in bytes.
	maxOperatorName = 128
	// tokenVersion starts every token; a new format gets a new version.
	tokenVersion = "v1"
)

// OperatorKey is one HMAC-SHA256 key for operator tokens. ID is written in
// clear in every token it signs, so that verification knows which key to
// use and keys can rotate; Secret is at least MinKeySize random bytes (for
// example from crypto/rand), kept out of source control.
//
// It never prints its secret: String, GoString and Format (every verb)
// show the ID and the secret's length only.
type OperatorKey struct {
	// ID names the key: 1 to 16 characters of A-Z, a-z, 0-9, '-' and '_'.
	ID string
	// Secret is the HMAC key, at least MinKeySize bytes.
	Secret []byte
}

// String describes the key without its secret.
func (k OperatorKey) String() string {
	return keyring.Describe("window.OperatorKey", k.ID, len(k.Secret))
}

// GoString is String, for %#v.
func (k OperatorKey) GoString() string { return k.String() }

// Format writes String for every verb, so that no verb (%v, %+v, %d, %x,
// ...) prints a byte of the secret.
func (k OperatorKey) Format(f fmt.State, _ rune) {
	keyring.Format(f, "window.OperatorKey", k.ID, len(k.Secret))
}

// Operator is what a verified operator token says. It is only trustworthy
// when returned by Verify without error.
type Operator struct {
	// Name is the operator's name as given to Issue.
	Name string
	// Issued is when the token was issued (whole seconds, UTC).
	Issued time.Time
	// Expires is the first instant at which the token is no longer valid
	// (whole seconds, UTC): the token is valid in [Issued, Expires).
	Expires time.Time
	// KeyID is the id of the key that signed the token.
	KeyID string
}

// OperatorVerifier verifies operator credentials for a Gate. Verify returns
// the operator a token names when it is valid at now, and otherwise an error
// (conventionally wrapping ErrInvalidToken). It must be safe for concurrent
// use and must not trust anything in the token before checking its
// signature. *Keyring implements it; another implementation can plug in a
// different credential scheme.
type OperatorVerifier interface {
	Verify(now time.Time, token string) (Operator, error)
}

// Keyring signs and verifies operator tokens with HMAC-SHA256. It has one
// signing key and a set of accepted keys (the signing key is always
// accepted). To rotate: add the new key as accepted on every server, then
// make it the signing key, then, once tokens signed by the old key have
// expired, drop the old key; a token whose key is no longer accepted is
// refused with ErrTokenUnknownKey.
//
// A token is
//
//	v1.<key id>.<issued>.<expires>.<name>.<mac>
//
// with issued and expires in Unix seconds, name in unpadded base64url, and
// mac the unpadded base64url HMAC-SHA256 of everything before the last dot
// under the key. It is an opaque, URL- and header-safe string.
//
// A Keyring is immutable and safe for concurrent use.
type Keyring struct {
	signing OperatorKey
	keys    map[string][]byte
}

var _ OperatorVerifier = (*Keyring)(nil)

// NewKeyring returns a keyring that signs with signing and accepts tokens
// signed by signing or by any of accepted. Every key needs an id of 1 to
// 16 characters of [A-Za-z0-9_-] and at least MinKeySize secret bytes, and
// no two keys may share an id (the rules of every gatehouse keyring). The
// secrets are copied.
func NewKeyring(signing OperatorKey, accepted ...OperatorKey) (*Keyring, error) {
	all := append([]OperatorKey{signing}, accepted...)
	k := &Keyring{keys: make(map[string][]byte, len(all))}
	ids := make([]string, len(all))
	for i, key := range all {
		if err := keyring.Valid(key.ID, key.Secret); err != nil {
			return nil, fmt.Errorf("%w: key %d: %w", ErrInvalidKey, i, err)
		}
		ids[i] = key.ID
		k.keys[key.ID] = append([]byte(nil), key.Secret...)
	}
	if err := keyring.Distinct(ids); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidKey, err)
	}
	k.signing = OperatorKey{ID: signing.ID, Secret: k.keys[signing.ID]}
	return k, nil
}

// validOperatorName accepts 1 to 128 bytes of valid UTF-8 with no control
// characters.
func validOperatorName(name string) error {
	if name == "" || len(name) > maxOperatorName {
		return fmt.Errorf("operator name must have 1 to %d bytes", maxOperatorName)
	}
	if !utf8.ValidString(name) {
		return errors.New("operator name is not valid UTF-8")
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return errors.New("operator name contains a control character")
		}
	}
	return nil
}

// SigningKeyID returns the id of the key Issue signs with.
func (k *Keyring) SigningKeyID() string { return k.signing.ID }

// Issue returns a token for the named operator, valid from now (truncated
// to the second) for ttl (at least one second), signed with the signing
// key. The name must be 1 to 128 bytes of UTF-8 without control characters;
// it is readable by anyone holding the token (signed, not encrypted).
func (k *Keyring) Issue(now time.Time, operator string, ttl time.Duration) (string, error) {
	if err := validOperatorName(operator); err != nil {
		return "", fmt.Errorf("window: issue operator token: %w", err)
	}
	if ttl < time.Second {
		return "", fmt.Errorf("window: issue operator token: ttl %v is less than a second", ttl)
	}
	iat := now.Unix()
	exp := now.Add(ttl).Unix()
	if iat < 0 || exp > 999999999999 {
		return "", fmt.Errorf("window: issue operator token: %s is outside the years 1970-9999", now.Format(time.RFC3339))
	}
	var b strings.Builder
	b.Grow(64 + base64.RawURLEncoding.EncodedLen(len(operator)))
	b.WriteString(tokenVersion)
	b.WriteByte('.')
	b.WriteString(k.signing.ID)
	b.WriteByte('.')
	b.WriteString(strconv.FormatInt(iat, 10))
	b.WriteByte('.')
	b.WriteString(strconv.FormatInt(exp, 10))
	b.WriteByte('.')
	b.WriteString(base64.RawURLEncoding.EncodeToString([]byte(operator)))
	mac := tokenMAC(k.signing.Secret, b.String())
	b.WriteByte('.')
	b.WriteString(base64.RawURLEncoding.EncodeToString(mac))
	return b.String(), nil
}

func tokenMAC(secret []byte, signed string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(signed))
	return m.Sum(nil)
}

// Verify checks token at the instant now and returns the operator it names.
// A nil Keyring refuses every token.
// It refuses, with an error wrapping ErrInvalidToken and one of the more
// specific errors, a token that is malformed, names a key this keyring does
// not accept, has a signature that does not match (compared in constant
// time with hmac.Equal), has expired (now >= Expires), or was issued more
// than MaxClockSkew after now. Nothing in the token is trusted before its
// signature is checked, except the key id used to find the key.
func (k *Keyring) Verify(now time.Time, token string) (Operator, error) {
	if k == nil {
		return Operator{}, fmt.Errorf("%w: nil keyring", ErrInvalidToken)
	}
	if len(token) > MaxTokenLen {
		return Operator{}, ErrTokenMalformed
	}
	var parts [6]string
	rest := token
	for i := range parts {
		if i == len(parts)-1 {
			if strings.IndexByte(rest, '.') >= 0 {
				return Operator{}, ErrTokenMalformed
			}
			parts[i] = rest
			break
		}
		var ok bool
		parts[i], rest, ok = strings.Cut(rest, ".")
		if !ok {
			return Operator{}, ErrTokenMalformed
		}
	}
	if parts[0] != tokenVersion || keyring.ValidID(parts[1]) != nil {
		return Operator{}, ErrTokenMalformed
	}
	secret, ok := k.keys[parts[1]]
	if !ok {
		return Operator{}, ErrTokenUnknownKey
	}
	mac, err := base64.RawURLEncoding.Strict().DecodeString(parts[5])
	if err != nil || len(mac) != sha256.Size {
		return Operator{}, ErrTokenMalformed
	}
	signed := token[:len(token)-len(parts[5])-1]
	if !hmac.Equal(mac, tokenMAC(secret, signed)) {
		return Operator{}, ErrTokenSignature
	}
	// Signed by a key we accept: the rest was written by Issue, but is
	// still checked, since keys may be shared with other issuers.
	iat, ok1 := parseUnix(parts[2])
	exp, ok2 := parseUnix(parts[3])
	name, err := base64.RawURLEncoding.Strict().DecodeString(parts[4])
	if !ok1 || !ok2 || err != nil || validOperatorName(string(name)) != nil || exp <= iat {
		return Operator{}, ErrTokenMalformed
	}
	op := Operator{
		Name:    string(name),
		Issued:  time.Unix(iat, 0).UTC(),
		Expires: time.Unix(exp, 0).UTC(),
		KeyID:   parts[1],
	}
	if !now.Before(op.Expires) {
		return Operator{}, fmt.Errorf("%w at %s", ErrTokenExpired, op.Expires.Format(time.RFC3339))
	}
	if op.Issued.Sub(now) > MaxClockSkew {
		return Operator{}, fmt.Errorf("%w: issued at %s", ErrTokenNotYetValid, op.Issued.Format(time.RFC3339))
	}
	return op, nil
}

// parseUnix parses a canonical non-negative decimal: digits only, no sign,
// no leading zero (except "0"), at most 12 digits (past year 9999).
func parseUnix(s string) (int64, bool) {
	if s == "" || len(s) > 12 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}
