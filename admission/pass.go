package admission

import (
	"github.com/gatehouse-go/gatehouse/window/keyring"

	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrInvalidPass is wrapped by every pass verification failure: no pass,
// a malformed or forged token, an unknown or retired key id, a pass for
// another room or another identity, a pass not yet valid or expired.
// Callers refuse the request; they should not tell the client more than
// "invalid pass".
var ErrInvalidPass = errors.New("admission: invalid pass")

// ErrPassExpired is returned for a pass whose expiry has passed. It wraps
// [ErrInvalidPass], so errors.Is(err, ErrInvalidPass) holds for it too; a
// handler may use it to send the person back to the waiting room's status
// page rather than to the end of the line.
var ErrPassExpired = fmt.Errorf("%w: expired", ErrInvalidPass)

// PassClockSkew is how far in the future a pass's Issued time may lie and
// still be accepted, to tolerate clock differences between the server that
// signed a pass and the one verifying it. Expiry gets no such allowance: a
// pass is expired from its Expires instant on, on every server.
const PassClockSkew = keyring.ClockSkew

// Limits of the pass format.
const (
	passMaxRoom  = 64                // bytes
	passMaxKeyID = keyring.MaxIDLen  // characters
	passMinKey   = keyring.MinSecret // bytes of secret
)

// Failure reasons, allocated once so that refusing a flood of bad tokens
// costs no allocation either.
var (
	errPassMissing   = fmt.Errorf("%w: no pass", ErrInvalidPass)
	errPassMalformed = fmt.Errorf("%w: malformed token", ErrInvalidPass)
	errPassKeyID     = fmt.Errorf("%w: unknown or retired key id", ErrInvalidPass)
	errPassMAC       = fmt.Errorf("%w: bad signature", ErrInvalidPass)
	errPassRoom      = fmt.Errorf("%w: pass is for another room", ErrInvalidPass)
	errPassIdentity  = fmt.Errorf("%w: pass is for another identity", ErrInvalidPass)
	errPassNotYet    = fmt.Errorf("%w: issued in the future", ErrInvalidPass)
	errPassKeyring   = fmt.Errorf("%w: no keyring", ErrInvalidPass)
)

// Key is one pass-signing key. ID names the key inside every token it signs,
// so that a verifier knows which key to check the token with: 1 to 16
// characters of [A-Za-z0-9_-], for example "2021-07a". Secret must be at
// least 32 bytes from a cryptographic random source. Keep one ID per secret
// forever: reusing an ID for a different secret invalidates the passes that
// name it.
type Key struct {
	ID     string
	Secret []byte
}

// String describes the key without revealing its secret, so that a Key
// that ends up in a log line or an error message leaks nothing.
func (k Key) String() string { return keyring.Describe("admission.Key", k.ID, len(k.Secret)) }

// Format writes String for every verb, so that no verb (%+v, %d, %x, ...)
// prints a byte of the secret.
func (k Key) Format(f fmt.State, _ rune) { keyring.Format(f, "admission.Key", k.ID, len(k.Secret)) }

// GoString is like String, for the %#v verb.
func (k Key) GoString() string { return k.String() }

// Validate reports whether k is usable: ID of 1 to 16 characters of
// [A-Za-z0-9_-] and a Secret of at least 32 bytes.
// These are the rules of every gatehouse keyring (window's operator keys
// too).
func (k Key) Validate() error {
	if err := keyring.Valid(k.ID, k.Secret); err != nil {
		return fmt.Errorf("admission: %w", err)
	}
	return nil
}

func passKeyIDChar(c byte) bool { return keyring.IDByte(c) }

// passPads holds a key's HMAC-SHA256 inner and outer pads. HMAC is computed
// from them with sha256.Sum256 over stack buffers, which, unlike
// crypto/hmac, does not allocate: pass verification runs on every
// protected request.
type passPads struct {
	ipad, opad [sha256.BlockSize]byte
}

func (p *passPads) init(key []byte) {
	if len(key) > sha256.BlockSize {
		sum := sha256.Sum256(key)
		key = sum[:]
	}
	copy(p.ipad[:], key)
	copy(p.opad[:], key)
	for i := range p.ipad {
		p.ipad[i] ^= 0x36
		p.opad[i] ^= 0x5c
	}
}

// key returns the 64-byte block HMAC derives the pads from (the key padded
// with zeros, or its hash if longer than a block): an HMAC under it is the
// HMAC under the key.
func (p *passPads) key() []byte {
	k := make([]byte, sha256.BlockSize)
	for i := range k {
		k[i] = p.ipad[i] ^ 0x36
	}
	return k
}

// finish returns H(opad || inner), inner being H(ipad || message).
func (p *passPads) finish(inner [sha256.Size]byte) [sha256.Size]byte {
	var buf [sha256.BlockSize + sha256.Size]byte
	copy(buf[:], p.opad[:])
	copy(buf[sha256.BlockSize:], inner[:])
	return sha256.Sum256(buf[:])
}

type passKey struct {
	id   string
	pads passPads
}

// Keyring holds the keys that sign and verify passes: one signing key and
// any number of further accepted keys, so that keys rotate without
// refusing passes already handed out. To rotate: build a keyring signing
// with the new key and still accepting the old one; once the old key's
// last passes have expired, build one without it (a key no longer accepted
// is retired: its passes are refused).
//
// A Keyring is immutable and safe for concurrent use. Build it with
// [NewKeyring]; a nil or zero Keyring refuses every pass and signs none.
type Keyring struct {
	keys []passKey // keys[0] signs
}

// NewKeyring returns a keyring that signs with signing and accepts passes
// signed by signing or by any of accepted. Every key is validated (see
// [Key.Validate]) and key IDs must be distinct. The keyring keeps its own
// copy of the key material.
func NewKeyring(signing Key, accepted ...Key) (*Keyring, error) {
	all := append([]Key{signing}, accepted...)
	kr := &Keyring{keys: make([]passKey, len(all))}
	for i, key := range all {
		if err := key.Validate(); err != nil {
			return nil, err
		}
		for _, prev := range all[:i] {
			if prev.ID == key.ID {
				return nil, fmt.Errorf("admission: keyring: duplicate key id %q", key.ID)
			}
		}
		kr.keys[i].id = strings.Clone(key.ID)
		kr.keys[i].pads.init(key.Secret)
	}
	return kr, nil
}

// SigningKeyID returns the ID of the key that signs new passes, or "" for
// a nil or zero keyring.
func (k *Keyring) SigningKeyID() string {
	if k == nil || len(k.keys) == 0 {
		return ""
	}
	return k.keys[0].id
}

// KeyIDs returns the IDs of all accepted keys, the signing key first.
func (k *Keyring) KeyIDs() []string {
	if k == nil {
		return nil
	}
	ids := make([]string, len(k.keys))
	for i := range k.keys {
		ids[i] = k.keys[i].id
	}
	return ids
}

func (k *Keyring) lookup(id string) *passKey {
	if k == nil {
		return nil
	}
	for i := range k.keys {
		if k.keys[i].id == id {
			return &k.keys[i]
		}
	}
	return nil
}

// Pass is what a signed pass token carries: admission to Room for the
// person with hash Identity, valid from Issued (inclusive) until Expires
// (exclusive), signed by the key named KeyID.
//
// Times are carried with millisecond precision, as Unix milliseconds
// (UTC): [Keyring.Sign] truncates Issued and Expires toward the past to a
// whole millisecond, and [Keyring.Decode] returns them in UTC. A Pass whose
// times are whole milliseconds in UTC (without monotonic clock reading)
// round-trips exactly through Sign and Decode.
type Pass struct {
	Room     string
	Identity IdentityHash
	Issued   time.Time
	Expires  time.Time
	KeyID    string
}

// Token format, version 1 (documented on Keyring.Sign).
const (
	passPrefix     = "gh1."
	passBodyFixed  = sha256.Size + 8 + 8
	passMaxBody    = passBodyFixed + passMaxRoom
	passMACText    = 43 // base64url length of 32 bytes
	passMaxBodyB64 = (passMaxBody*8 + 5) / 6
	passMaxSigned  = len(passPrefix) + passMaxKeyID + 1 + passMaxBodyB64
	passMaxToken   = passMaxSigned + 1 + passMACText
	passMinToken   = len(passPrefix) + 1 + 1 + (passBodyFixed+1)*8/6 + 1 + passMACText
	// passMaxMillis is 9999-12-31T23:59:59.999Z: later times are refused.
	passMaxMillis = 253402300799999
)

// Sign returns the token for p, signed with the keyring's signing key;
// p.KeyID is ignored (the token names the signing key). It refuses an empty
// room or one over 64 bytes, a zero Identity, times before 1970 or after
// year 9999, and an Expires that is not after Issued at millisecond
// precision. Sign is safe for concurrent use, and deterministic: the same
// pass and key give the same token.
//
// The token (format version 1) is
//
//	gh1.<key id>.<body>.<mac>
//
// where body is the unpadded base64url encoding (RFC 4648, section 5) of
//
//	identity hash (32 bytes) | issued (8) | expires (8) | room (1 to 64 bytes)
//
// with the times as big-endian Unix milliseconds, and mac is the unpadded
// base64url encoding of HMAC-SHA256(key secret, "gh1.<key id>.<body>"), the
// token's text up to its last dot. Only the characters A-Z a-z 0-9 - _ and
// . appear, so the token goes into a cookie value or an
// "Authorization: Bearer" header as is; it is at most 215 bytes long. The
// body is signed, not encrypted: the room name and the identity hash (never
// the identity itself) can be read by whoever holds the token.
func (k *Keyring) Sign(p Pass) (string, error) {
	if k == nil || len(k.keys) == 0 {
		return "", errors.New("admission: sign pass: keyring has no signing key")
	}
	switch {
	case p.Room == "":
		return "", errors.New("admission: sign pass: empty room")
	case len(p.Room) > passMaxRoom:
		return "", fmt.Errorf("admission: sign pass: room is %d bytes, want at most %d", len(p.Room), passMaxRoom)
	case p.Identity.IsZero():
		return "", errors.New("admission: sign pass: zero identity hash")
	}
	issued, expires := p.Issued.UnixMilli(), p.Expires.UnixMilli()
	if !passTimeOK(p.Issued, issued) || !passTimeOK(p.Expires, expires) {
		return "", fmt.Errorf("admission: sign pass: times must lie in years 1970 to 9999 (issued %v, expires %v)", p.Issued, p.Expires)
	}
	if expires <= issued {
		return "", fmt.Errorf("admission: sign pass: expires %v is not after issued %v (at millisecond precision)", p.Expires, p.Issued)
	}

	var body [passMaxBody]byte
	copy(body[:], p.Identity[:])
	binary.BigEndian.PutUint64(body[32:], uint64(issued))
	binary.BigEndian.PutUint64(body[40:], uint64(expires))
	n := passBodyFixed + copy(body[passBodyFixed:], p.Room)
	return k.signToken(passPrefix, body[:n], ""), nil
}

// tokenMaxBody bounds the body of every signed token type (a ticket's is
// the longest).
const tokenMaxBody = ticketMaxBody

// signToken returns prefix<key id>.<base64url body>.<base64url mac>, the
// MAC being HMAC-SHA256 under the signing key of the text up to the last
// dot, followed, when bind is not empty, by a zero byte and bind (a
// version 2 ticket's raw identity: the token is valid only with it, and
// does not carry it). Every signed token type of the package has this
// form; the prefix (covered by the MAC) tells them apart.
func (k *Keyring) signToken(prefix string, body []byte, bind string) string {
	key := &k.keys[0]
	// The signed text, then "." and the MAC appended after it.
	var buf [maxSigned + 1 + passMACText]byte
	t := copy(buf[:], prefix)
	t += copy(buf[t:], key.id)
	buf[t] = '.'
	t++
	base64.RawURLEncoding.Encode(buf[t:], body)
	t += base64.RawURLEncoding.EncodedLen(len(body))
	mac := tokenMAC(&key.pads, buf[:t], bind)
	buf[t] = '.'
	t++
	base64.RawURLEncoding.Encode(buf[t:], mac[:])
	t += passMACText
	return string(buf[:t])
}

// maxSigned bounds the signed text of every token type (prefix, key id,
// dot, base64url body).
const maxSigned = 8 + passMaxKeyID + 1 + (tokenMaxBody*8+5)/6

// bindFastMax bounds the bound text (a ticket's identity) MACed on the
// allocation-free path; a longer one takes crypto/hmac, with an identical
// result.
const bindFastMax = identityFastMax

// tokenMAC returns HMAC-SHA256 under the pads' key of signed, followed,
// when bind is not empty, by a zero byte and bind. It does not allocate
// unless bind is longer than bindFastMax.
func tokenMAC[S string | []byte](p *passPads, signed S, bind string) [sha256.Size]byte {
	if len(bind) > bindFastMax || len(signed) > maxSigned {
		// Copied, so that signed, on the caller's stack, does not escape.
		m := hmac.New(sha256.New, p.key())
		m.Write([]byte(string(signed)))
		if bind != "" {
			m.Write([]byte{0})
			m.Write([]byte(bind))
		}
		var out [sha256.Size]byte
		return [sha256.Size]byte(m.Sum(out[:0]))
	}
	var buf [sha256.BlockSize + maxSigned + 1 + bindFastMax]byte
	t := copy(buf[:], p.ipad[:])
	t += copy(buf[t:], signed)
	if bind != "" {
		buf[t] = 0
		t++
		t += copy(buf[t:], bind)
	}
	return p.finish(sha256.Sum256(buf[:t]))
}

func passTimeOK(t time.Time, ms int64) bool {
	return !t.IsZero() && ms >= 0 && ms <= passMaxMillis
}

// Verify checks that token is a valid pass for room and identity id at
// instant now, and returns nil if it is. Every failure wraps
// [ErrInvalidPass]; an expired pass also [ErrPassExpired].
//
// The checks, in order: the token's form; its key id names a key the
// keyring accepts; its HMAC-SHA256 under that key, compared in constant
// time; the room and identity equal the ones given; Issued <= now +
// [PassClockSkew]; now < Expires (at Expires exactly the pass is expired).
//
// Verify runs on every protected request: it does not allocate when the
// pass is valid (nor when it is not, unless the error is wrapped further),
// and takes well under a microsecond. It is safe for concurrent use.
func (k *Keyring) Verify(now time.Time, token, room string, id IdentityHash) error {
	var body [passMaxBody]byte
	n, _, err := k.open(token, &body, now)
	if err != nil {
		return err
	}
	if string(body[passBodyFixed:n]) != room {
		return errPassRoom
	}
	if IdentityHash(body[:sha256.Size]) != id {
		return errPassIdentity
	}
	return nil
}

// Decode checks token's form, signature, key id and validity at now like
// [Keyring.Verify], without comparing room and identity, and returns the
// pass it carries: for status pages, operators' tools and tests. Times are
// returned in UTC. On error the Pass is zero.
func (k *Keyring) Decode(now time.Time, token string) (Pass, error) {
	var body [passMaxBody]byte
	n, key, err := k.open(token, &body, now)
	if err != nil {
		return Pass{}, err
	}
	return Pass{
		Room:     string(body[passBodyFixed:n]),
		Identity: IdentityHash(body[:sha256.Size]),
		Issued:   time.UnixMilli(int64(binary.BigEndian.Uint64(body[32:]))).UTC(),
		Expires:  time.UnixMilli(int64(binary.BigEndian.Uint64(body[40:]))).UTC(),
		KeyID:    key.id,
	}, nil
}

// open parses a pass token, checks its key id, MAC and times, and decodes
// its body into body, returning the body's length and the key that signed
// it.
func (k *Keyring) open(token string, body *[passMaxBody]byte, now time.Time) (int, *passKey, error) {
	return k.openToken(token, passPrefix, passBodyFixed, passMinToken, passMaxToken, body[:], now, "")
}

// openToken parses a token of the type that prefix names (fixed bytes of
// body before the room; min and max token lengths), checks its key id and
// MAC (over the signed text and, when bind is not empty, a zero byte and
// bind: see signToken), and its issued and expiry times (big-endian Unix
// ms at body offsets 32 and 40, as in every token type), and decodes its
// body into body.
func (k *Keyring) openToken(token, prefix string, fixed, minLen, maxLen int, body []byte, now time.Time, bind string) (int, *passKey, error) {
	if token == "" {
		return 0, nil, errPassMissing
	}
	if k == nil {
		return 0, nil, errPassKeyring
	}
	if len(token) < minLen || len(token) > maxLen || token[:len(prefix)] != prefix {
		return 0, nil, errPassMalformed
	}
	rest := token[len(prefix):]
	dot := strings.IndexByte(rest, '.')
	if dot < 1 || dot > passMaxKeyID {
		return 0, nil, errPassMalformed
	}
	kid := rest[:dot]
	signedLen := len(token) - passMACText - 1
	if len(prefix)+dot+1 >= signedLen || token[signedLen] != '.' {
		return 0, nil, errPassMalformed
	}
	bodyText := token[len(prefix)+dot+1 : signedLen]
	macText := token[signedLen+1:]

	key := k.lookup(kid)
	if key == nil {
		return 0, nil, errPassKeyID
	}
	var got [sha256.Size + 1]byte
	if m, ok := passDecodeB64(got[:], macText); !ok || m != sha256.Size {
		return 0, nil, errPassMalformed
	}

	want := tokenMAC(&key.pads, token[:signedLen], bind)
	if !hmac.Equal(got[:sha256.Size], want[:]) {
		return 0, nil, errPassMAC
	}

	// Authentic from here on: the checks below guard against our own bugs
	// and a leaked key rather than against forgery.
	n, ok := passDecodeB64(body, bodyText)
	if !ok || n <= fixed {
		return 0, nil, errPassMalformed
	}
	issued := binary.BigEndian.Uint64(body[32:])
	expires := binary.BigEndian.Uint64(body[40:])
	if issued > passMaxMillis || expires > passMaxMillis || expires <= issued {
		return 0, nil, errPassMalformed
	}
	if time.UnixMilli(int64(issued)).After(now.Add(PassClockSkew)) {
		return 0, nil, errPassNotYet
	}
	if !now.Before(time.UnixMilli(int64(expires))) {
		return 0, nil, ErrPassExpired
	}
	return n, key, nil
}

// passB64 maps a base64url character to its 6-bit value, 0xff for others.
var passB64 = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

// passDecodeB64 decodes unpadded base64url strictly: only the 64 alphabet
// characters (no padding, no line breaks), and unused trailing bits must be
// zero, so that every byte string has exactly one accepted encoding. It
// works on a string without allocating, which encoding/base64 cannot.
func passDecodeB64(dst []byte, s string) (int, bool) {
	if len(s)%4 == 1 {
		return 0, false
	}
	n := len(s) / 4 * 3
	switch len(s) % 4 {
	case 2:
		n++
	case 3:
		n += 2
	}
	if n > len(dst) {
		return 0, false
	}
	j := 0
	i := 0
	for ; i+4 <= len(s); i += 4 {
		a, b, c, d := passB64[s[i]], passB64[s[i+1]], passB64[s[i+2]], passB64[s[i+3]]
		if (a|b|c|d)&0xc0 != 0 {
			return 0, false
		}
		v := uint32(a)<<18 | uint32(b)<<12 | uint32(c)<<6 | uint32(d)
		dst[j], dst[j+1], dst[j+2] = byte(v>>16), byte(v>>8), byte(v)
		j += 3
	}
	switch len(s) - i {
	case 2:
		a, b := passB64[s[i]], passB64[s[i+1]]
		if (a|b)&0xc0 != 0 || b&0x0f != 0 {
			return 0, false
		}
		dst[j] = a<<2 | b>>4
	case 3:
		a, b, c := passB64[s[i]], passB64[s[i+1]], passB64[s[i+2]]
		if (a|b|c)&0xc0 != 0 || c&0x03 != 0 {
			return 0, false
		}
		dst[j], dst[j+1] = a<<2|b>>4, b<<4|c>>2
	}
	return n, true
}
