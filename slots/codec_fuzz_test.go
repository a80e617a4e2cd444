package slots

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
)

// hashTag is the part of key that Redis Cluster hashes: between the first
// '{' and the first '}' after it, if that is not empty; else the whole key.
func hashTag(key string) string {
	i := strings.IndexByte(key, '{')
	if i < 0 {
		return key
	}
	j := strings.IndexByte(key[i+1:], '}')
	if j <= 0 {
		return key
	}
	return key[i+1 : i+1+j]
}

const base64url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// FuzzIdentifierCodec checks, for any campaign, slot, person and key, that
// either the input is refused with ErrInvalid or: every key of the campaign
// hashes on exactly the campaign; identifiers encode to the base64url
// alphabet and decode back; records and outcomes round-trip; and request
// fingerprints tell apart requests whose fields differ only in where one
// ends and the next begins. It also feeds the input to the decoders as if
// Redis had returned it: they may refuse it but must not panic.
func FuzzIdentifierCodec(f *testing.F) {
	f.Add("c1", "a", "p1", "k1", int64(1626087600000))
	f.Add("{c1}", "{c1}", "}{", ":", int64(0))
	f.Add("c", "a|b", "a:b", "!FULL|YQ", int64(253402300799999))
	f.Add("C-1.x_y", "\xff\xfe", "\x00", "", int64(-1))
	f.Add("c", "ab", "c", "k", int64(5))
	f.Add("c", "a", "bc", "k", int64(5))
	f.Fuzz(func(t *testing.T, campaign, slot, person, key string, ms int64) {
		c := Campaign(campaign)
		if err := c.Validate(); err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate(%q) = %v, not ErrInvalid", campaign, err)
			}
			bad := len(campaign) == 0 || len(campaign) > MaxCampaignLen
			for i := 0; i < len(campaign); i++ {
				bad = bad || !campaignByte(campaign[i])
			}
			if !bad {
				t.Fatalf("Validate refused %q for no reason: %v", campaign, err)
			}
		} else {
			seen := map[string]bool{}
			for _, prefix := range []string{DefaultRedisPrefix, "", "x:"} {
				for _, k := range campaignKeys(prefix, c) {
					if tag := hashTag(k); tag != campaign {
						t.Fatalf("key %q hashes on %q, want the campaign %q", k, tag, campaign)
					}
					if prefix == DefaultRedisPrefix {
						if seen[k] {
							t.Fatalf("key %q used twice", k)
						}
						seen[k] = true
					}
				}
			}
		}

		for _, id := range []string{slot, person, key} {
			e := encodeID(id)
			if strings.Trim(e, base64url) != "" {
				t.Fatalf("encodeID(%q) = %q, outside base64url", id, e)
			}
			if d, err := decodeID(e); err != nil || d != id {
				t.Fatalf("decodeID(encodeID(%q)) = %q, %v", id, d, err)
			}
		}

		if ms < 0 {
			ms = -(ms + 1)
		}
		ms %= maxMs + 1
		id := "ID_" + encodeID(key)[:min(8, len(encodeID(key)))]
		for _, st := range []byte{stateHeld, stateBooked, stateExpired, stateCancelled} {
			// The person is the field a record is stored under, not part
			// of it.
			r := record{state: st, slot: slot, created: ms, expires: ms + 1, confirmed: ms / 2}
			gotID, got, err := decodeRecord(encodeRecord(id, r))
			if err != nil || got != r || gotID != id {
				t.Fatalf("record round trip: %+v -> %q -> %q %+v, %v", r, encodeRecord(id, r), gotID, got, err)
			}
			if e := encodeRecord(id, r); e[0] != st || e[recordHeader-1] != '|' || e[1:1+msDigits] != padMs(r.expires) ||
				e[1+msDigits:recordHeader-1] != padMs(r.confirmed) || e[recordHeader:recordHeader+len(id)+1] != id+"|" {
				t.Fatalf("record %q: state, expiry or id not at its fixed offset", e)
			}
			o := outcome{id: id, rec: r}
			if got, err := decodeOutcome(encodeOutcome(o)); err != nil || got != o {
				t.Fatalf("outcome round trip: %+v -> %+v, %v", o, got, err)
			}
		}
		if f := fingerprint("hold", campaign, slot, person); len(f) != fpLen {
			t.Fatalf("fingerprint %q is %d characters, want %d", f, len(f), fpLen)
		}
		for _, code := range []string{codeFull, codeNoSlot, codeInUse, codeBooked} {
			o := fail(code, slot)
			if code == codeBooked {
				o.detail = ""
			}
			if got, err := decodeOutcome(encodeOutcome(o)); err != nil || got != o {
				t.Fatalf("refusal round trip: %+v -> %+v, %v", o, got, err)
			}
		}

		// Fingerprints: moving bytes from one field to the next changes it.
		if len(person) > 0 {
			a := fingerprint("hold", campaign, slot, person)
			b := fingerprint("hold", campaign, slot+person[:1], person[1:])
			if a == b {
				t.Fatalf("fingerprint does not separate fields: %q|%q", slot, person)
			}
		}

		// Untrusted replies must not panic the decoders.
		for _, s := range []string{slot, person, key, campaign + "|" + slot, "!" + slot} {
			decodeOutcome(s)
			decodeRecord(s)
			decodeID(s)
		}
	})
}

// TestPadMs checks padMs against its definition (FormatInt, zero-padded on
// the left to msDigits), at the edges and over a spread of instants.
func TestPadMs(t *testing.T) {
	want := func(ms int64) string {
		s := strconv.FormatInt(ms, 10)
		if len(s) >= msDigits {
			return s
		}
		return strings.Repeat("0", msDigits-len(s)) + s
	}
	cases := []int64{0, 1, 9, 10, -1, -42, maxMs, maxMs + 1, 1<<53 - 1, math.MaxInt64, math.MinInt64, 1_626_087_600_000}
	for ms := int64(1); ms > 0 && ms < math.MaxInt64/7; ms = ms*7 + 3 {
		cases = append(cases, ms, -ms)
	}
	for _, ms := range cases {
		if got := padMs(ms); got != want(ms) {
			t.Errorf("padMs(%d) = %q, want %q", ms, got, want(ms))
		}
	}
	s := &redisStore{retention: 86_400_000}
	if got, w := s.gf(1_626_087_600_000, "fp|x"), want(1_626_087_600_000+86_400_000)+"fp|x"; got != w {
		t.Errorf("gf = %q, want %q", got, w)
	}
}
