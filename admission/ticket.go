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
)

// Ticket is what a signed place ticket carries: the person with hash
// Identity holds arrival index Index in Room (and, once the room has
// opened, Place), joined at Joined; the ticket is valid until Expires.
// [Room.Join] hands one out; [Room.Poll] answers from it and the room's
// snapshot without asking the store while the place is not yet called.
//
// A ticket is a token type of its own (prefix "gt1."), signed with the
// room's [Keyring] like a pass but never accepted as one, nor a pass as a
// ticket: the prefix is part of the signed text.
type Ticket struct {
	Room     string
	Identity IdentityHash
	Index    uint64
	Place    int64 // -1 until fixed at the opening
	Joined   time.Time
	Expires  time.Time
	KeyID    string
}

// Ticket token format, version 1:
//
//	gt1.<key id>.<body>.<mac>
//
// body: identity hash (32) | joined (8) | expires (8) | index (8) |
// place + 1 (8, 0 for unknown) | room (1 to 64 bytes), times as big-endian
// Unix milliseconds; mac as for a pass.
const (
	ticketPrefix   = "gt1."
	ticketFixed    = sha256.Size + 8 + 8 + 8 + 8
	ticketMaxBody  = ticketFixed + passMaxRoom
	ticketMaxToken = len(ticketPrefix) + passMaxKeyID + 1 + (ticketMaxBody*8+5)/6 + 1 + passMACText
	ticketMinToken = len(ticketPrefix) + 1 + 1 + (ticketFixed+1)*8/6 + 1 + passMACText
)

// SignTicket returns the token for t, signed with the signing key. It
// refuses what [Keyring.Sign] refuses for a pass (Joined plays Issued).
func (k *Keyring) SignTicket(t Ticket) (string, error) {
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
	return k.signToken(ticketPrefix, body[:n]), nil
}

// VerifyTicket checks that token is a valid ticket of room for identity id
// at now and returns its index and place (-1 if not fixed). It compares
// the MAC in constant time and does not allocate. Failures wrap
// [ErrInvalidTicket].
func (k *Keyring) VerifyTicket(now time.Time, token, room string, id IdentityHash) (index uint64, place int64, joined time.Time, err error) {
	var body [ticketMaxBody]byte
	n, _, err := k.openToken(token, ticketPrefix, ticketFixed, ticketMinToken, ticketMaxToken, body[:], now)
	if err != nil {
		return 0, 0, time.Time{}, ticketError(err)
	}
	if string(body[ticketFixed:n]) != room {
		return 0, 0, time.Time{}, errTicketRoom
	}
	if IdentityHash(body[:sha256.Size]) != id {
		return 0, 0, time.Time{}, errTicketIdentity
	}
	return binary.BigEndian.Uint64(body[48:]), int64(binary.BigEndian.Uint64(body[56:])) - 1,
		time.UnixMilli(int64(binary.BigEndian.Uint64(body[32:]))), nil
}

// DecodeTicket checks token like [Keyring.VerifyTicket] without comparing
// room and identity, and returns what it carries (times in UTC).
func (k *Keyring) DecodeTicket(now time.Time, token string) (Ticket, error) {
	var body [ticketMaxBody]byte
	n, key, err := k.openToken(token, ticketPrefix, ticketFixed, ticketMinToken, ticketMaxToken, body[:], now)
	if err != nil {
		return Ticket{}, ticketError(err)
	}
	return Ticket{
		Room:     string(body[ticketFixed:n]),
		Identity: IdentityHash(body[:sha256.Size]),
		Joined:   time.UnixMilli(int64(binary.BigEndian.Uint64(body[32:]))).UTC(),
		Expires:  time.UnixMilli(int64(binary.BigEndian.Uint64(body[40:]))).UTC(),
		Index:    binary.BigEndian.Uint64(body[48:]),
		Place:    int64(binary.BigEndian.Uint64(body[56:])) - 1,
		KeyID:    key.id,
	}, nil
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
