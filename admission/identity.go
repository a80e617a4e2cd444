package admission

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
)

// IdentityHash is a keyed hash of the identity the host application
// supplies (its authenticated user, account number, ...). The store keeps
// only this value, never the identity itself, and passes are bound to it.
//
// It is HMAC-SHA256 under the room's identity key of a fixed domain prefix
// followed by the identity (see [HashIdentity]). Without the key, a hash
// cannot be linked back to an identity by guessing identities.
//
// The zero value is the hash of nothing; use [HashIdentity] or
// [ParseIdentityHash] to obtain a real one.
type IdentityHash [32]byte

// identityHashDomain is prepended to every identity before it is MACed, so
// that an identity hash can never double as a MAC of some other gatehouse
// structure (such as a pass) even if an application were to reuse one
// secret for both purposes. Part of the documented construction.
const identityHashDomain = "gatehouse/admission/identity/v1\x00"

// identityFastMax bounds the identities hashed on the allocation-free path;
// longer identities take crypto/hmac, with an identical result.
const identityFastMax = 256

// HashIdentity returns the keyed hash of identity under key:
//
//	HMAC-SHA256(key, "gatehouse/admission/identity/v1" || 0x00 || identity)
//
// The key is the room's identity key: it should be at least 32 random bytes
// and kept as secret as a signing key, since anyone holding it can test
// guesses of identities against stored hashes. HashIdentity does not
// allocate for identities of up to 256 bytes, as it runs on every protected
// request. It is safe for concurrent use.
func HashIdentity(key []byte, identity string) IdentityHash {
	var pads passPads
	pads.init(key)
	return pads.hashIdentity(key, identity)
}

// hashIdentity is HashIdentity with the key's pads computed beforehand
// (a Room keeps them): key is used only for identities longer than 256
// bytes.
func (pads *passPads) hashIdentity(key []byte, identity string) IdentityHash {
	if len(identity) > identityFastMax {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(identityHashDomain))
		m.Write([]byte(identity))
		var h IdentityHash
		m.Sum(h[:0])
		return h
	}
	var buf [sha256.BlockSize + len(identityHashDomain) + identityFastMax]byte
	n := copy(buf[:], pads.ipad[:])
	n += copy(buf[n:], identityHashDomain)
	n += copy(buf[n:], identity)
	return IdentityHash(pads.finish(sha256.Sum256(buf[:n])))
}

// String returns the hash as 64 lowercase hexadecimal characters.
func (h IdentityHash) String() string {
	return hex.EncodeToString(h[:])
}

// Short returns the first 12 hexadecimal characters of the hash (48 bits):
// enough to tell people apart in logs and traces, too little to be used as
// a key. Logs should carry Short, never the identity.
func (h IdentityHash) Short() string {
	var b [6]byte
	copy(b[:], h[:6])
	return hex.EncodeToString(b[:])
}

// LogValue implements [slog.LogValuer]: an IdentityHash logged with
// log/slog appears in its [IdentityHash.Short] form.
func (h IdentityHash) LogValue() slog.Value {
	return slog.StringValue(h.Short())
}

// IsZero reports whether h is the zero value, which [HashIdentity] never
// returns in practice; stores and handlers may treat it as "no identity".
func (h IdentityHash) IsZero() bool {
	return h == IdentityHash{}
}

// MarshalText implements [encoding.TextMarshaler] (the [IdentityHash.String]
// form), so an IdentityHash can be used in JSON documents and as a map key.
func (h IdentityHash) MarshalText() ([]byte, error) {
	b := make([]byte, hex.EncodedLen(len(h)))
	hex.Encode(b, h[:])
	return b, nil
}

// UnmarshalText implements [encoding.TextUnmarshaler] with the rules of
// [ParseIdentityHash].
func (h *IdentityHash) UnmarshalText(text []byte) error {
	v, err := ParseIdentityHash(string(text))
	if err != nil {
		return err
	}
	*h = v
	return nil
}

// errIdentityHashSyntax is wrapped by every ParseIdentityHash failure.
var errIdentityHashSyntax = errors.New("admission: invalid identity hash")

// ParseIdentityHash parses the [IdentityHash.String] form: exactly 64
// hexadecimal characters (upper case accepted; String always writes lower
// case).
func ParseIdentityHash(s string) (IdentityHash, error) {
	var h IdentityHash
	if len(s) != hex.EncodedLen(len(h)) {
		return IdentityHash{}, fmt.Errorf("%w: want %d hex characters, got %d", errIdentityHashSyntax, hex.EncodedLen(len(h)), len(s))
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return IdentityHash{}, fmt.Errorf("%w: %v", errIdentityHashSyntax, err)
	}
	return h, nil
}
