// Package keyring is the one set of rules gatehouse's keyrings follow
// (window's operator tokens, admission's passes): key IDs of 1 to MaxIDLen
// characters of [A-Za-z0-9_-], secrets of at least MinSecret bytes,
// duplicate IDs refused, a clock skew allowance of ClockSkew, and keys
// that never print their secret, whatever the fmt verb. A host checks its
// own key material against the same rules before a deployment.
//
// It imports nothing of gatehouse, so admission uses it without depending
// on window; it sits under window because the module's top level holds
// only the four packages.
package keyring

import (
	"errors"
	"fmt"
	"io"
	"time"
)

const (
	// MaxIDLen is the longest key ID, in characters.
	MaxIDLen = 16
	// MinSecret is the shortest secret, in bytes: HMAC-SHA256's output.
	MinSecret = 32
	// ClockSkew is how far in the future a token's issue time may lie and
	// still verify, for servers whose clocks disagree a little. Expiry
	// gets no allowance.
	ClockSkew = 5 * time.Second
)

// IDByte reports whether c may appear in a key ID.
func IDByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// ValidID checks a key ID.
func ValidID(id string) error {
	if id == "" || len(id) > MaxIDLen {
		return fmt.Errorf("key id %q: want 1 to %d characters", id, MaxIDLen)
	}
	for i := 0; i < len(id); i++ {
		if !IDByte(id[i]) {
			return fmt.Errorf("key id %q: character %q not allowed (want A-Z a-z 0-9 _ -)", id, id[i])
		}
	}
	return nil
}

// Valid checks a key: its ID, and a secret of at least MinSecret bytes.
func Valid(id string, secret []byte) error {
	if err := ValidID(id); err != nil {
		return err
	}
	if len(secret) < MinSecret {
		return fmt.Errorf("key %q: secret is %d bytes, want at least %d", id, len(secret), MinSecret)
	}
	return nil
}

// Distinct refuses two keys with the same ID, even with the same secret:
// one ID names one key forever.
func Distinct(ids []string) error {
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			return errors.New("duplicate key id " + fmt.Sprintf("%q", id))
		}
		seen[id] = true
	}
	return nil
}

// Describe writes a key as typeName{ID: "id", Secret: <n bytes redacted>}.
func Describe(typeName, id string, secretLen int) string {
	return fmt.Sprintf("%s{ID: %q, Secret: <%d bytes redacted>}", typeName, id, secretLen)
}

// Format writes Describe for every verb and flag, so that %d, %x or %+v
// of a key print no secret byte either.
func Format(f fmt.State, typeName, id string, secretLen int) {
	io.WriteString(f, Describe(typeName, id, secretLen))
}
