package admission

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// ErrInvalidTicket is wrapped by every place-ticket verification failure:
// a malformed or forged token, an unknown key id, a ticket of another room
// or identity, one not yet valid or expired, or a pass presented as a
// ticket. A room that refuses a ticket asks the store instead; a ticket
// never admits anyone by itself.
var ErrInvalidTicket = errors.New("admission: invalid place ticket")

// Ticket failures, allocated once.
var (
	errTicketMalformed = fmt.Errorf("%w: malformed token", ErrInvalidTicket)
	errTicketKey       = fmt.Errorf("%w: unknown or retired key id", ErrInvalidTicket)
	errTicketMAC       = fmt.Errorf("%w: bad signature", ErrInvalidTicket)
	errTicketRoom      = fmt.Errorf("%w: ticket is for another room", ErrInvalidTicket)
	errTicketIdentity  = fmt.Errorf("%w: ticket is for another identity", ErrInvalidTicket)
	errTicketTime      = fmt.Errorf("%w: issued in the future", ErrInvalidTicket)
	errTicketExpired   = fmt.Errorf("%w: expired", ErrInvalidTicket)
	errTicketMissing   = fmt.Errorf("%w: no ticket", ErrInvalidTicket)

	errTicketMissingIdentity = fmt.Errorf("%w: no identity to check a version 2 ticket with", ErrInvalidTicket)
)

// Ticket is what a signed place ticket carries: the person with hash
// Identity holds arrival index Index in Room (and, once the room has
// opened, Place), joined at Joined; the ticket is valid until Expires.
// [Room.Join] hands one out; [Room.Poll] answers from it and the room's
// snapshot without asking the store while the place is not yet called.
//
// A ticket is a token type of its own, signed with the room's [Keyring]
// like a pass but never accepted as one, nor a pass as a ticket: the
// prefix is part of the signed text. It comes in two versions:
//
//   - version 2 (prefix "gt2."), which a [Room] signs: its MAC also covers
//     the person's raw identity, which the token does not carry, so that
//     a poll checks who presents it with that one MAC and need not compute
//     the identity's keyed hash ([Room.Hash]) first. Sign it with
//     [Keyring.SignTicketFor], check it with [Keyring.VerifyTicketFor].
//   - version 1 (prefix "gt1."), bound to the identity hash alone: what
//     rooms signed before version 2, and still accept, so that tickets
//     handed out before an upgrade keep working. [Keyring.SignTicket] and
//     [Keyring.VerifyTicket]. An instance that knows only version 1
//     refuses a version 2 ticket, and then asks the store, as for a lost
//     ticket: a rolling upgrade costs store calls, never a place.
type Ticket struct {
	Room     string
	Identity IdentityHash
	Index    uint64
	Place    int64 // -1 until fixed at the opening
	Joined   time.Time
	Expires  time.Time
	KeyID    string
}

// Ticket token format, versions 1 and 2:
//
//	gt1.<key id>.<body>.<mac>
//	gt2.<key id>.<body>.<mac>
//
// body: identity hash (32) | joined (8) | expires (8) | index (8) |
// place + 1 (8, 0 for unknown) | room (1 to 64 bytes), times as big-endian
// Unix milliseconds; mac as for a pass: HMAC-SHA256 of the text before
// the last dot, and for version 2 of that text, a zero byte and the raw
// identity.
const (
	ticketPrefix   = "gt1."
	ticketPrefix2  = "gt2."
	ticketFixed    = sha256.Size + 8 + 8 + 8 + 8
	ticketMaxBody  = ticketFixed + passMaxRoom
	ticketMaxToken = len(ticketPrefix) + passMaxKeyID + 1 + (ticketMaxBody*8+5)/6 + 1 + passMACText
	ticketMinToken = len(ticketPrefix) + 1 + 1 + (ticketFixed+1)*8/6 + 1 + passMACText
)

// errTicketVersion is the error of a ticket checked as the other version.
var errTicketVersion = fmt.Errorf("%w: wrong version (gt1 tickets: VerifyTicket; gt2: VerifyTicketFor, with the raw identity)", ErrInvalidTicket)

// SignTicket returns the version 1 token for t, signed with the signing
// key. It refuses what [Keyring.Sign] refuses for a pass (Joined plays
// Issued). A [Room] signs version 2 ([Keyring.SignTicketFor]).
func (k *Keyring) SignTicket(t Ticket) (string, error) {
	return k.signTicket(t, ticketPrefix, "")
}

// SignTicketFor returns the version 2 token for t, whose MAC also covers
// identity, the raw identity t.Identity is the hash of: the token is valid
// only presented with it ([Keyring.VerifyTicketFor]) and does not carry
// it. The keyring cannot check that t.Identity is identity's hash under
// the room's identity key: that is the caller's duty ([Room.Hash]). It
// refuses what [Keyring.SignTicket] refuses, and an empty identity.
func (k *Keyring) SignTicketFor(t Ticket, identity string) (string, error) {
	if identity == "" {
		return "", errors.New("admission: sign ticket: empty identity")
	}
	return k.signTicket(t, ticketPrefix2, identity)
}

func (k *Keyring) signTicket(t Ticket, prefix, bind string) (string, error) {
	if k == nil || len(k.keys) == 0 {
		return "", errors.New("admission: sign ticket: keyring has no signing key")
	}
	switch {
	case t.Room == "" || len(t.Room) > passMaxRoom:
		return "", fmt.Errorf("admission: sign ticket: room is %d bytes, want 1 to %d", len(t.Room), passMaxRoom)
	case t.Identity.IsZero():
		return "", errors.New("admission: sign ticket: zero identity hash")
	case t.Place < -1:
		return "", fmt.Errorf("admission: sign ticket: place %d", t.Place)
	}
	joined, expires := t.Joined.UnixMilli(), t.Expires.UnixMilli()
	if !passTimeOK(t.Joined, joined) || !passTimeOK(t.Expires, expires) || expires <= joined {
		return "", fmt.Errorf("admission: sign ticket: joined %v, expires %v: want 1970 to 9999, expiry after joining", t.Joined, t.Expires)
	}
	var body [ticketMaxBody]byte
	copy(body[:], t.Identity[:])
	binary.BigEndian.PutUint64(body[32:], uint64(joined))
	binary.BigEndian.PutUint64(body[40:], uint64(expires))
	binary.BigEndian.PutUint64(body[48:], t.Index)
	binary.BigEndian.PutUint64(body[56:], uint64(t.Place+1))
	n := ticketFixed + copy(body[ticketFixed:], t.Room)
	return k.signToken(prefix, body[:n], bind), nil
}

// VerifyTicket checks that token is a valid version 1 ticket of room for
// identity id at now and returns its index and place (-1 if not fixed).
// It compares the MAC in constant time and does not allocate. Failures
// wrap [ErrInvalidTicket], a version 2 ticket's too: check that with
// [Keyring.VerifyTicketFor].
func (k *Keyring) VerifyTicket(now time.Time, token, room string, id IdentityHash) (index uint64, place int64, joined time.Time, err error) {
	index, place, joined, got, err := k.verifyTicket(now, token, room, ticketPrefix, "")
	if err != nil {
		return 0, 0, time.Time{}, err
	}
	if got != id {
		return 0, 0, time.Time{}, errTicketIdentity
	}
	return index, place, joined, nil
}

// VerifyTicketFor checks that token is a valid version 2 ticket of room
// for the raw identity at now, and returns its index, place (-1 if not
// fixed), joining instant and the identity hash it carries (which, the
// MAC being valid, its signer computed from identity). It compares the
// MAC in constant time and does not allocate for identities of up to 256
// bytes. A ticket presented with another identity fails its MAC check.
// Failures wrap [ErrInvalidTicket], a version 1 ticket's too: check that
// with [Keyring.VerifyTicket].
func (k *Keyring) VerifyTicketFor(now time.Time, token, room, identity string) (index uint64, place int64, joined time.Time, id IdentityHash, err error) {
	return k.verifyTicket(now, token, room, ticketPrefix2, identity)
}

// verifyTicket opens token as a ticket of the version prefix names (bind
// as for openTicket), checks that it is room's, and returns its index,
// place, joining instant and identity hash.
func (k *Keyring) verifyTicket(now time.Time, token, room, prefix, bind string) (index uint64, place int64, joined time.Time, id IdentityHash, err error) {
	var body [ticketMaxBody]byte
	n, _, err := k.openTicket(now, token, prefix, bind, &body)
	if err != nil {
		return 0, 0, time.Time{}, IdentityHash{}, err
	}
	if string(body[ticketFixed:n]) != room {
		return 0, 0, time.Time{}, IdentityHash{}, errTicketRoom
	}
	index, place, joined = ticketNumbers(&body)
	return index, place, joined, IdentityHash(body[:sha256.Size]), nil
}

// ticketNumbers returns the index, place (-1 if not fixed) and joining
// instant an opened ticket's body carries.
func ticketNumbers(body *[ticketMaxBody]byte) (index uint64, place int64, joined time.Time) {
	return binary.BigEndian.Uint64(body[48:]), int64(binary.BigEndian.Uint64(body[56:])) - 1,
		time.UnixMilli(int64(binary.BigEndian.Uint64(body[32:])))
}

// DecodeTicket checks a version 1 token like [Keyring.VerifyTicket]
// without comparing room and identity, and returns what it carries (times
// in UTC).
func (k *Keyring) DecodeTicket(now time.Time, token string) (Ticket, error) {
	return k.decodeTicket(now, token, ticketPrefix, "")
}

// DecodeTicketFor checks a version 2 token for the raw identity like
// [Keyring.VerifyTicketFor] without comparing the room, and returns what
// it carries (times in UTC).
func (k *Keyring) DecodeTicketFor(now time.Time, token, identity string) (Ticket, error) {
	return k.decodeTicket(now, token, ticketPrefix2, identity)
}

func (k *Keyring) decodeTicket(now time.Time, token, prefix, bind string) (Ticket, error) {
	var body [ticketMaxBody]byte
	n, key, err := k.openTicket(now, token, prefix, bind, &body)
	if err != nil {
		return Ticket{}, err
	}
	index, place, joined := ticketNumbers(&body)
	return Ticket{
		Room:     string(body[ticketFixed:n]),
		Identity: IdentityHash(body[:sha256.Size]),
		Joined:   joined.UTC(),
		Expires:  time.UnixMilli(int64(binary.BigEndian.Uint64(body[40:]))).UTC(),
		Index:    index,
		Place:    place,
		KeyID:    key.id,
	}, nil
}

// openTicket opens a ticket of the version prefix names (bind: the raw
// identity for version 2, "" for version 1) into body.
func (k *Keyring) openTicket(now time.Time, token, prefix, bind string, body *[ticketMaxBody]byte) (int, *passKey, error) {
	if prefix == ticketPrefix2 && bind == "" {
		return 0, nil, errTicketMissingIdentity
	}
	if len(token) >= len(ticketPrefix) && token[:len(ticketPrefix)] != prefix &&
		(token[:len(ticketPrefix)] == ticketPrefix || token[:len(ticketPrefix)] == ticketPrefix2) {
		return 0, nil, errTicketVersion
	}
	n, key, err := k.openToken(token, prefix, ticketFixed, ticketMinToken, ticketMaxToken, body[:], now, bind)
	if err != nil {
		return 0, nil, ticketError(err)
	}
	return n, key, nil
}

// ticketError maps a token failure to its ticket error.
func ticketError(err error) error {
	switch err {
	case errPassMissing:
		return errTicketMissing
	case errPassKeyID, errPassKeyring:
		return errTicketKey
	case errPassMAC:
		return errTicketMAC
	case errPassNotYet:
		return errTicketTime
	case ErrPassExpired:
		return errTicketExpired
	}
	return errTicketMalformed
}
