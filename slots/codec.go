package slots

import (
	"github.com/gatehouse-go/gatehouse/window/redisopt"

	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// This file is the identifier codec shared by the stores: how instants,
// identifiers, records and outcomes are written, so that no identifier a
// caller chooses can change the meaning of what is stored around it.
//
// Redis key names contain only the configured prefix and the campaign name,
// both restricted to a safe alphabet (no '{', '}'), so the Cluster hash tag
// of every key is exactly the campaign. Slot identifiers, persons and
// idempotency keys never appear in key names: they are hash fields, sorted
// set members and parts of records, always base64url-encoded (alphabet
// A-Z a-z 0-9 - _), so they can hold any bytes and can never contain the '|'
// that separates the parts of a record.

// Record states.
const (
	stateHeld    = 'H' // a hold, live until expires
	stateBooked  = 'B' // a confirmed booking
	stateExpired = 'X' // a hold that expired: kept until retention ends so a late Confirm is told so
	// stateCancelled is a Redis record cancelled: kept, unseen by every
	// call, until its list of idempotency records is collected with it.
	stateCancelled = 'C'
)

// record is one hold or booking as the stores keep it. Instants are Unix
// milliseconds.
type record struct {
	state     byte
	slot      string
	person    string
	created   int64
	expires   int64
	confirmed int64 // 0 while a hold
}

// Outcome codes, shared by both stores and by the Redis scripts.
const (
	codeFull       = "FULL"
	codeBooked     = "BOOKED"
	codeExpired    = "EXPIRED"
	codeNotFound   = "NOTFOUND"
	codeNoSlot     = "NOSLOT"
	codeNotBooking = "NOTBOOKING"
	codeConflict   = "CONFLICT"
	codeInUse      = "INUSE"
	// codeSuperseded: the Redis functions' answer for a campaign whose
	// data carries another layout's mark (lua/lib.lua, "~L"); never
	// recorded.
	codeSuperseded = "SUPERSEDED"
)

// superseded is a writer's whole reply for a campaign of another layout.
const superseded = "!" + codeSuperseded

// outcome is the result of one store operation: success with a record, or a
// domain error code (with a slot as detail for NOSLOT and INUSE). It is what
// an idempotency record keeps.
type outcome struct {
	code   string
	detail string // raw slot id, for NOSLOT and INUSE
	id     string
	rec    record
}

func (o outcome) err() error {
	switch o.code {
	case "":
		return nil
	case codeFull:
		return fmt.Errorf("%w: slot %q", ErrFull, o.detail)
	case codeBooked:
		return ErrAlreadyBooked
	case codeExpired:
		return ErrHoldExpired
	case codeNotFound:
		return fmt.Errorf("%w: no live hold or booking with this id for this person", ErrNotFound)
	case codeNoSlot:
		return fmt.Errorf("%w: slot %q is not defined", ErrNotFound, o.detail)
	case codeNotBooking:
		return fmt.Errorf("%w: no booking with this id for this person (a hold must be confirmed before it can move)", ErrNotFound)
	case codeConflict:
		return ErrConflict
	case codeInUse:
		return fmt.Errorf("%w: slot %q", ErrInUse, o.detail)
	case codeSuperseded:
		return ErrMisconfigured
	}
	return fmt.Errorf("%w: unknown outcome code %q", ErrUnavailable, o.code)
}

func fail(code, detail string) outcome { return outcome{code: code, detail: detail} }

func fromMs(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func (o outcome) hold(c Campaign) Hold {
	return Hold{ID: o.id, Campaign: c, Slot: o.rec.slot, Person: o.rec.person,
		Created: fromMs(o.rec.created), Expires: fromMs(o.rec.expires)}
}

func (o outcome) booking(c Campaign) Booking {
	return Booking{ID: o.id, Campaign: c, Slot: o.rec.slot, Person: o.rec.person,
		Created: fromMs(o.rec.created), Confirmed: fromMs(o.rec.confirmed)}
}

func (o outcome) entry(c Campaign) Entry {
	if o.rec.state == stateBooked {
		b := o.booking(c)
		return Entry{Booking: &b}
	}
	h := o.hold(c)
	return Entry{Hold: &h}
}

// maxMs is the last millisecond of year 9999: instants are kept in
// [0, maxMs] so that every sum the stores make stays an exact integer in a
// float64 (Lua's only number type).
const maxMs = 253402300799999

// nowMs converts a caller's now to Unix milliseconds, refusing instants
// outside 1970-9999 (such as a zero time.Time).
func nowMs(now time.Time) (int64, error) {
	ms := now.UnixMilli()
	if now.Before(time.Unix(0, 0)) || ms > maxMs {
		return 0, fmt.Errorf("%w: now %v is outside 1970-9999", ErrInvalid, now)
	}
	return ms, nil
}

// durMs rounds d up to whole milliseconds.
func durMs(d time.Duration) int64 {
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}

// newID returns a fresh random hold identifier (26 characters, A-Z 2-7).
func newID() string { return rand.Text() }

// encodeID encodes an identifier for storage: base64url without padding.
func encodeID(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// decodeID reverses encodeID.
func decodeID(e string) (string, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(e)
	if err != nil {
		return "", fmt.Errorf("bad encoded identifier: %w", err)
	}
	return string(b), nil
}

// fingerprint identifies a request for idempotency: a SHA-256 over the
// operation and its fields, each length-prefixed so that no two different
// field lists give the same input. It is always fpLen characters: the
// scripts find it at a fixed offset in an idempotency record.
const fpLen = 24

func fingerprint(op string, fields ...string) string {
	size := binary.MaxVarintLen64 + len(op)
	for _, f := range fields {
		size += binary.MaxVarintLen64 + len(f)
	}
	var stack [512]byte
	b := stack[:0]
	if size > len(stack) {
		b = make([]byte, 0, size)
	}
	b = binary.AppendUvarint(b, uint64(len(op)))
	b = append(b, op...)
	for _, f := range fields {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	sum := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(sum[:18])
}

func (r DefineRequest) fingerprint() string {
	f := make([]string, 0, 1+2*len(r.Slots))
	f = append(f, string(r.Campaign))
	for _, s := range r.Slots {
		f = append(f, s.ID, strconv.Itoa(s.Capacity))
	}
	return fingerprint("define", f...)
}

func (r HoldRequest) fingerprint() string {
	return fingerprint("hold", string(r.Campaign), r.Slot, r.Person, strconv.FormatInt(durMs(r.TTL), 10))
}

func (r ConfirmRequest) fingerprint() string {
	return fingerprint("confirm", string(r.Campaign), r.HoldID, r.Person)
}

func (r CancelRequest) fingerprint() string {
	return fingerprint("cancel", string(r.Campaign), r.ID, r.Person)
}

func (r MoveRequest) fingerprint() string {
	return fingerprint("move", string(r.Campaign), r.ID, r.Person, r.To)
}

// msDigits is the width of the instants a record or an idempotency record
// keeps at a fixed offset: every instant up to maxMs has 15 digits.
const msDigits = 15

// padMs writes ms as msDigits digits, zero-padded.
func padMs(ms int64) string {
	var b [msDigits]byte
	return string(appendPadMs(b[:0], ms))
}

// appendPadMs appends ms to dst as padMs writes it.
func appendPadMs(dst []byte, ms int64) []byte {
	var b [20]byte
	d := strconv.AppendInt(b[:0], ms, 10)
	for range msDigits - len(d) {
		dst = append(dst, '0')
	}
	return append(dst, d...)
}

// encodeRecord writes hold id's record r as the Redis functions keep it:
// state, expires and confirmed (msDigits digits each), then
// "|id|h:slot|created#" with the slot base64url-encoded after "h:" (so the
// record holds the names of its slot's count fields: "h:"..slot, live
// holds, and slot alone, free places), and after the '#' the functions'
// list of the record's idempotency records (empty here). The person is not
// part of it: the record is stored under the person's field, and a reply
// is for the person who asked.
func encodeRecord(id string, r record) string {
	var b strings.Builder
	b.WriteByte(r.state)
	b.WriteString(padMs(r.expires))
	b.WriteString(padMs(r.confirmed))
	b.WriteByte('|')
	b.WriteString(id)
	b.WriteString("|h:")
	b.WriteString(encodeID(r.slot))
	b.WriteByte('|')
	b.WriteString(strconv.FormatInt(r.created, 10))
	b.WriteByte('#')
	return b.String()
}

var errBadRecord = errors.New("malformed record")

// recordHeader is the length of a record's fixed part: state, expires,
// confirmed and the '|' before the id.
const recordHeader = 1 + 2*msDigits + 1

// decodeRecord reverses encodeRecord, ignoring the list after the '#'; the
// record's person is left empty.
func decodeRecord(s string) (string, record, error) {
	if len(s) < recordHeader || s[recordHeader-1] != '|' {
		return "", record{}, fmt.Errorf("%w: short header", errBadRecord)
	}
	r := record{state: s[0]}
	switch r.state {
	case stateHeld, stateBooked, stateExpired, stateCancelled:
	default:
		return "", record{}, fmt.Errorf("%w: state %q", errBadRecord, s[:1])
	}
	core, _, ok := strings.Cut(s[recordHeader:], "#")
	if !ok {
		return "", record{}, fmt.Errorf("%w: no list", errBadRecord)
	}
	parts := strings.Split(core, "|")
	if len(parts) != 3 {
		return "", record{}, fmt.Errorf("%w: %d parts", errBadRecord, len(parts))
	}
	id := parts[0]
	if validHoldID("id", id) != nil {
		return "", record{}, fmt.Errorf("%w: id", errBadRecord)
	}
	var err error
	slot, ok := strings.CutPrefix(parts[1], "h:")
	if !ok {
		return "", record{}, fmt.Errorf("%w: slot without its \"h:\" prefix", errBadRecord)
	}
	if r.slot, err = decodeID(slot); err != nil {
		return "", record{}, fmt.Errorf("%w: slot: %w", errBadRecord, err)
	}
	for _, f := range []struct {
		p *int64
		s string
	}{{&r.expires, s[1 : 1+msDigits]}, {&r.confirmed, s[1+msDigits : 1+2*msDigits]}, {&r.created, parts[2]}} {
		v, err := strconv.ParseInt(f.s, 10, 64)
		if err != nil || v < 0 || v > 2*maxMs {
			return "", record{}, fmt.Errorf("%w: instant %q", errBadRecord, f.s)
		}
		*f.p = v
	}
	return id, r, nil
}

// encodeOutcome writes o as the Redis scripts return it: "!CODE" or
// "!CODE|encodedSlot" for a refusal, the record (encodeRecord) for a
// success.
func encodeOutcome(o outcome) string {
	if o.code != "" {
		if o.detail != "" {
			return "!" + o.code + "|" + encodeID(o.detail)
		}
		return "!" + o.code
	}
	return encodeRecord(o.id, o.rec)
}

// decodeOutcome reverses encodeOutcome. A success's record has no person:
// the caller fills it in.
func decodeOutcome(s string) (outcome, error) {
	if rest, ok := strings.CutPrefix(s, "!"); ok {
		code, detail, has := strings.Cut(rest, "|")
		o := outcome{code: code}
		if has {
			d, err := decodeID(detail)
			if err != nil {
				return outcome{}, fmt.Errorf("%w: detail: %w", errBadRecord, err)
			}
			o.detail = d
		}
		switch code {
		case codeFull, codeBooked, codeExpired, codeNotFound, codeNoSlot, codeNotBooking, codeConflict, codeInUse, codeSuperseded:
			return o, nil
		}
		return outcome{}, fmt.Errorf("%w: unknown code %q", errBadRecord, code)
	}
	id, r, err := decodeRecord(s)
	if err != nil {
		return outcome{}, err
	}
	return outcome{id: id, rec: r}, nil
}

// DefaultRedisPrefix is the default RedisOptions.Prefix.
const DefaultRedisPrefix = "gatehouse:slots:"

// Key names within a campaign, in the order the functions receive them
// as keys (a function that uses fewer gets the first ones).
//
// The names carry the layout's version, v2 (free places counted per slot,
// idempotency lists without instants, functions instead of scripts): data
// written by an earlier version, under the unversioned names, is never
// read by this one. It stays in Redis, untouched, until deleted; campaigns
// are defined again under the new layout.
var keyNames = [...]string{
	// hash: "c:"..slot -> capacity, slot (alone) -> free places (capacity
	// - bookings - live holds), "h:"..slot -> live holds; "p:"..person -> the
	// person's hold, booking or trace (encodeRecord, followed by the list
	// of the record's idempotency records, each "k:"..key .. ",");
	// "k:"..key -> idempotency record: expires (15 digits), fingerprint
	// (24 characters), outcome (encodeOutcome);
	// "~t" -> no hold expires and no record may be dropped before this
	// instant (15 digits).
	"v2:data",
	// list: when (15 digits) .. "p:"..person.."|"..id (the trace of hold
	// id) and when .. "k:"..key (an idempotency record), in the order they
	// were queued; when is the instant they may be dropped.
	"v2:gx",
	// zset: "p:"..person scored by the expiry of their hold (entries of
	// holds since confirmed or cancelled are skipped when they come due).
	"v2:hx",
	// set: every slot of the campaign (encoded), for listing.
	"v2:slots",
}

// validPrefix reports whether p is usable as a key prefix: printable ASCII
// without braces (which would move the hash tag) and at most 64 bytes.
func validPrefix(p string) error {
	if err := redisopt.CheckPrefix(p); err != nil {
		return fmt.Errorf("%w: key %w", ErrInvalid, err)
	}
	return nil
}

// campaignKeys returns the keys of campaign c under prefix: each is
// prefix + "{" + c + "}:" + name, so its Cluster hash tag is exactly c.
// The caller has validated both.
func campaignKeys(prefix string, c Campaign) []string {
	keys := make([]string, len(keyNames))
	for i, n := range keyNames {
		keys[i] = prefix + "{" + string(c) + "}:" + n
	}
	return keys
}
