package admission

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fuzzTicketSetup is the fixed world of FuzzVerifyTicket: the committed
// corpus in testdata/fuzz/FuzzVerifyTicket holds tokens made in it.
func fuzzTicketSetup(tb testing.TB) (cur, old *Keyring, room string, id IdentityHash, now time.Time) {
	return fuzzPassSetup(tb)
}

func aliceTicket(now time.Time) Ticket {
	return Ticket{Room: "vaccine-55-59", Identity: passAlice, Index: 1234, Place: 87,
		Joined: now.Add(-time.Hour), Expires: now.Add(time.Hour)}
}

func mustSignTicket(tb testing.TB, k *Keyring, t Ticket) string {
	tb.Helper()
	tok, err := k.SignTicket(t)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// ticketAlice is the raw identity passAlice is the hash of: version 2
// tickets of the fuzz world are bound to it.
const ticketAlice = "alice"

func mustSignTicketFor(tb testing.TB, k *Keyring, t Ticket, identity string) string {
	tb.Helper()
	tok, err := k.SignTicketFor(t, identity)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// ticketVersion is one ticket version in the fuzz world: its corpus, and
// how it signs and checks tickets of ticketAlice (hash passAlice).
type ticketVersion struct {
	name   string // the fuzz target, and its corpus's directory
	prefix string
	sign   func(tb testing.TB, k *Keyring, t Ticket) string
	// verify checks token for room and ticketAlice and returns the hash
	// the ticket binds.
	verify func(k *Keyring, now time.Time, token, room string) (IdentityHash, error)
}

var ticketVersions = []ticketVersion{
	{
		name: "FuzzVerifyTicket", prefix: ticketPrefix,
		sign: mustSignTicket,
		verify: func(k *Keyring, now time.Time, token, room string) (IdentityHash, error) {
			_, _, _, err := k.VerifyTicket(now, token, room, passAlice)
			return passAlice, err
		},
	},
	{
		name: "FuzzVerifyTicketFor", prefix: ticketPrefix2,
		sign: func(tb testing.TB, k *Keyring, t Ticket) string { return mustSignTicketFor(tb, k, t, ticketAlice) },
		verify: func(k *Keyring, now time.Time, token, room string) (IdentityHash, error) {
			_, _, _, h, err := k.VerifyTicketFor(now, token, room, ticketAlice)
			return h, err
		},
	},
}

// fuzzTicketTokens returns named tokens of the fuzz world for version v:
// valid_* ones verify, the others are refused.
func fuzzTicketTokens(tb testing.TB, v ticketVersion) map[string]string {
	cur, old, room, id, now := fuzzTicketSetup(tb)
	tk := aliceTicket(now)
	valid := v.sign(tb, cur, tk)
	unplaced := tk
	unplaced.Place = -1
	expired := tk
	expired.Expires = now
	otherRoom := tk
	otherRoom.Room = "vaccine-50-54"
	future := tk
	future.Joined, future.Expires = now.Add(time.Minute), now.Add(2*time.Minute)
	forger := mustKeyring(tb, Key{ID: passKeyCur.ID, Secret: bytes.Repeat([]byte("forger"), 6)})
	pass := mustSign(tb, cur, Pass{Room: room, Identity: id, Issued: now.Add(-time.Minute), Expires: now.Add(time.Hour)})
	flipped := []byte(valid)
	flipped[len(flipped)-5] ^= 1
	m := map[string]string{
		"valid_current_key": valid,
		"valid_older_key":   v.sign(tb, old, tk),
		"valid_unplaced":    v.sign(tb, cur, unplaced),
		"expired":           v.sign(tb, cur, expired),
		"other_room":        v.sign(tb, cur, otherRoom),
		"issued_in_future":  v.sign(tb, cur, future),
		"forged_key":        v.sign(tb, forger, tk),
		"pass_as_ticket":    pass,
		"pass_prefix":       "gh1." + strings.TrimPrefix(valid, v.prefix),
		"mac_flipped":       string(flipped),
		"truncated":         valid[:len(valid)-10],
		"dot_removed":       strings.Replace(valid, ".", "", 1),
		"empty":             "",
		"garbage":           v.prefix + "....",
	}
	if v.prefix == ticketPrefix {
		otherID := tk
		otherID.Identity = passBob
		m["other_identity"] = v.sign(tb, cur, otherID)
		return m
	}
	v1 := mustSignTicket(tb, cur, tk)
	m["other_identity"] = mustSignTicketFor(tb, cur, tk, "bob")
	m["identity_prefix"] = mustSignTicketFor(tb, cur, tk, ticketAlice[:4])
	m["identity_extended"] = mustSignTicketFor(tb, cur, tk, ticketAlice+"\x00")
	m["version_1"] = v1
	m["version_1_relabeled"] = ticketPrefix2 + strings.TrimPrefix(v1, ticketPrefix)
	m["version_2_relabeled"] = ticketPrefix + strings.TrimPrefix(valid, ticketPrefix2)
	return m
}

func TestTicketRoundTrip(t *testing.T) {
	cur, _, _, _, now := fuzzTicketSetup(t)
	tk := aliceTicket(now)
	tok := mustSignTicket(t, cur, tk)
	if !strings.HasPrefix(tok, "gt1."+passKeyCur.ID+".") || len(tok) > ticketMaxToken || len(tok) < ticketMinToken {
		t.Fatalf("token %q (len %d, bounds %d..%d)", tok, len(tok), ticketMinToken, ticketMaxToken)
	}
	idx, pl, joined, err := cur.VerifyTicket(now, tok, tk.Room, tk.Identity)
	if err != nil || idx != tk.Index || pl != tk.Place || !joined.Equal(tk.Joined) {
		t.Fatalf("VerifyTicket: %d %d %v %v", idx, pl, joined, err)
	}
	got, err := cur.DecodeTicket(now, tok)
	if err != nil || got.Room != tk.Room || got.Identity != tk.Identity || got.Index != tk.Index || got.Place != tk.Place ||
		!got.Joined.Equal(tk.Joined) || !got.Expires.Equal(tk.Expires) || got.KeyID != passKeyCur.ID {
		t.Fatalf("DecodeTicket: %+v %v", got, err)
	}
	for _, bad := range []Ticket{
		{Room: "", Identity: passAlice, Joined: now, Expires: now.Add(time.Hour)},
		{Room: strings.Repeat("r", 65), Identity: passAlice, Joined: now, Expires: now.Add(time.Hour)},
		{Room: "r", Joined: now, Expires: now.Add(time.Hour)},
		{Room: "r", Identity: passAlice, Place: -2, Joined: now, Expires: now.Add(time.Hour)},
		{Room: "r", Identity: passAlice, Joined: now, Expires: now},
	} {
		if _, err := cur.SignTicket(bad); err == nil {
			t.Errorf("SignTicket(%+v): no error", bad)
		}
	}
}

func TestTicket2RoundTrip(t *testing.T) {
	cur, _, _, _, now := fuzzTicketSetup(t)
	tk := aliceTicket(now)
	for _, identity := range []string{ticketAlice, "a\x00b", strings.Repeat("long identity ", 40)} {
		tok := mustSignTicketFor(t, cur, tk, identity)
		if !strings.HasPrefix(tok, "gt2."+passKeyCur.ID+".") || len(tok) > ticketMaxToken || len(tok) < ticketMinToken {
			t.Fatalf("token %q (len %d, bounds %d..%d)", tok, len(tok), ticketMinToken, ticketMaxToken)
		}
		if strings.Contains(tok, identity) {
			t.Fatalf("token %q carries the identity", tok)
		}
		idx, pl, joined, h, err := cur.VerifyTicketFor(now, tok, tk.Room, identity)
		if err != nil || idx != tk.Index || pl != tk.Place || !joined.Equal(tk.Joined) || h != tk.Identity {
			t.Fatalf("VerifyTicketFor: %d %d %v %v %v", idx, pl, joined, h, err)
		}
		got, err := cur.DecodeTicketFor(now, tok, identity)
		if err != nil || got.Room != tk.Room || got.Identity != tk.Identity || got.Index != tk.Index || got.Place != tk.Place ||
			!got.Joined.Equal(tk.Joined) || !got.Expires.Equal(tk.Expires) || got.KeyID != passKeyCur.ID {
			t.Fatalf("DecodeTicketFor: %+v %v", got, err)
		}
		if _, _, _, _, err := cur.VerifyTicketFor(now, tok, tk.Room, identity+"x"); !errors.Is(err, ErrInvalidTicket) {
			t.Fatalf("verified for another identity: %v", err)
		}
		// The two versions never verify as each other.
		if _, _, _, err := cur.VerifyTicket(now, tok, tk.Room, tk.Identity); !errors.Is(err, errTicketVersion) {
			t.Fatalf("version 2 verified as version 1: %v", err)
		}
		if _, err := cur.DecodeTicket(now, tok); !errors.Is(err, errTicketVersion) {
			t.Fatalf("version 2 decoded as version 1: %v", err)
		}
	}
	v1 := mustSignTicket(t, cur, tk)
	if _, _, _, _, err := cur.VerifyTicketFor(now, v1, tk.Room, ticketAlice); !errors.Is(err, errTicketVersion) {
		t.Fatalf("version 1 verified as version 2: %v", err)
	}
	if _, _, _, _, err := cur.VerifyTicketFor(now, mustSignTicketFor(t, cur, tk, ticketAlice), tk.Room, ""); !errors.Is(err, ErrInvalidTicket) {
		t.Fatalf("version 2 verified without an identity: %v", err)
	}
	if _, err := cur.SignTicketFor(tk, ""); err == nil {
		t.Fatal("SignTicketFor with no identity: no error")
	}
	if _, err := cur.SignTicketFor(Ticket{Room: "r", Joined: now, Expires: now.Add(time.Hour)}, ticketAlice); err == nil {
		t.Fatal("SignTicketFor with a zero identity hash: no error")
	}
}

// TestTicketRefused, for both versions: forged, expired, another room's
// or identity's, the other version's, a pass presented as a ticket; and a
// ticket is never accepted as a pass.
func TestTicketRefused(t *testing.T) {
	cur, _, room, id, now := fuzzTicketSetup(t)
	for _, v := range ticketVersions {
		for name, tok := range fuzzTicketTokens(t, v) {
			h, err := v.verify(cur, now, tok, room)
			if strings.HasPrefix(name, "valid_") {
				if err != nil || h != id {
					t.Errorf("%s %s: refused: %v (hash %v)", v.prefix, name, err, h)
				}
				if perr := cur.Verify(now, tok, room, id); !errors.Is(perr, ErrInvalidPass) {
					t.Errorf("%s %s accepted as a pass: %v", v.prefix, name, perr)
				}
				continue
			}
			if !errors.Is(err, ErrInvalidTicket) {
				t.Errorf("%s %s: %v, want ErrInvalidTicket", v.prefix, name, err)
			}
		}
	}
}

func TestVerifyTicketNoAllocs(t *testing.T) {
	cur, _, room, _, now := fuzzTicketSetup(t)
	for _, v := range ticketVersions {
		tok := v.sign(t, cur, aliceTicket(now))
		bad := fuzzTicketTokens(t, v)["mac_flipped"]
		if n := testing.AllocsPerRun(100, func() {
			if _, err := v.verify(cur, now, tok, room); err != nil {
				t.Fatal(err)
			}
			if _, err := v.verify(cur, now, bad, room); err == nil {
				t.Fatal("forged ticket accepted")
			}
		}); n != 0 {
			t.Fatalf("%s: %v allocations per verification", v.prefix, n)
		}
	}
}

func FuzzVerifyTicket(f *testing.F) {
	k, _, room, id, now := fuzzTicketSetup(f)
	for _, tok := range fuzzTicketTokens(f, ticketVersions[0]) {
		f.Add(tok)
	}
	f.Fuzz(func(t *testing.T, token string) {
		idx, pl, _, err := k.VerifyTicket(now, token, room, id)
		tk, derr := k.DecodeTicket(now, token)
		if perr := k.Verify(now, token, room, id); perr == nil && err == nil {
			t.Fatalf("%q verifies as both a pass and a ticket", token)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidTicket) {
				t.Fatalf("VerifyTicket error %v is not ErrInvalidTicket", err)
			}
			if derr == nil && tk.Room == room && tk.Identity == id {
				t.Fatalf("DecodeTicket accepts what VerifyTicket refuses (%v): %+v", err, tk)
			}
			return
		}
		if derr != nil || tk.Index != idx || tk.Place != pl || tk.Room != room || tk.Identity != id {
			t.Fatalf("verified ticket decodes to %+v, %v", tk, derr)
		}
		if tk.KeyID == k.SigningKeyID() {
			if again, err := k.SignTicket(tk); err != nil || again != token {
				t.Fatalf("re-signing gave %q (%v), not %q", again, err, token)
			}
		}
	})
}

func FuzzVerifyTicketFor(f *testing.F) {
	k, _, room, id, now := fuzzTicketSetup(f)
	for _, tok := range fuzzTicketTokens(f, ticketVersions[1]) {
		f.Add(tok)
	}
	f.Fuzz(func(t *testing.T, token string) {
		idx, pl, _, h, err := k.VerifyTicketFor(now, token, room, ticketAlice)
		tk, derr := k.DecodeTicketFor(now, token, ticketAlice)
		if err != nil {
			if !errors.Is(err, ErrInvalidTicket) {
				t.Fatalf("VerifyTicketFor error %v is not ErrInvalidTicket", err)
			}
			if derr == nil && tk.Room == room {
				t.Fatalf("DecodeTicketFor accepts what VerifyTicketFor refuses (%v): %+v", err, tk)
			}
			return
		}
		if perr := k.Verify(now, token, room, id); perr == nil {
			t.Fatalf("%q verifies as both a pass and a ticket", token)
		}
		if _, _, _, verr := k.VerifyTicket(now, token, room, h); verr == nil {
			t.Fatalf("%q verifies as both versions", token)
		}
		if _, _, _, _, oerr := k.VerifyTicketFor(now, token, room, "bob"); oerr == nil {
			t.Fatalf("%q verifies for two identities", token)
		}
		if derr != nil || tk.Index != idx || tk.Place != pl || tk.Room != room || tk.Identity != h {
			t.Fatalf("verified ticket decodes to %+v, %v", tk, derr)
		}
		if tk.KeyID == k.SigningKeyID() {
			if again, err := k.SignTicketFor(tk, ticketAlice); err != nil || again != token {
				t.Fatalf("re-signing gave %q (%v), not %q", again, err, token)
			}
		}
	})
}

// TestFuzzVerifyTicketCorpus keeps the committed corpora meaningful:
// valid_* entries verify in the fuzz world, all others are refused.
// GATEHOUSE_WRITE_CORPUS=1 writes them again.
func TestFuzzVerifyTicketCorpus(t *testing.T) {
	k, _, room, _, now := fuzzTicketSetup(t)
	for _, v := range ticketVersions {
		dir := filepath.Join("testdata", "fuzz", v.name)
		if os.Getenv("GATEHOUSE_WRITE_CORPUS") != "" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for name, tok := range fuzzTicketTokens(t, v) {
				data := fmt.Sprintf("go test fuzz v1\nstring(%q)\n", tok)
				if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		checkCorpus(t, v.name, func(tok string) error {
			_, err := v.verify(k, now, tok, room)
			return err
		})
	}
}

func BenchmarkVerifyTicket(b *testing.B) {
	cur, _, room, _, now := fuzzTicketSetup(b)
	for i, v := range ticketVersions {
		b.Run(fmt.Sprintf("version=%d", i+1), func(b *testing.B) {
			tok := v.sign(b, cur, aliceTicket(now))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.verify(cur, now, tok, room); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestTokenMACMatchesHMAC: the MAC of a token, on the allocation-free path
// and on crypto/hmac's (bound text longer than bindFastMax), is
// HMAC-SHA256 under the key of the signed text, then a zero byte and the
// bound text when there is one.
func TestTokenMACMatchesHMAC(t *testing.T) {
	for _, secret := range [][]byte{passKeyCur.Secret, bytes.Repeat([]byte("k"), 100)} {
		var pads passPads
		pads.init(secret)
		signed := []byte("gt2.k2021b.c2lnbmVkIHRleHQ")
		for _, n := range []int{0, 1, 55, bindFastMax - 1, bindFastMax, bindFastMax + 1, 600} {
			bind := strings.Repeat("i", n)
			m := hmac.New(sha256.New, secret)
			m.Write(signed)
			if n > 0 {
				m.Write([]byte{0})
				m.Write([]byte(bind))
			}
			want := m.Sum(nil)
			if got := tokenMAC(&pads, signed, bind); !bytes.Equal(got[:], want) {
				t.Errorf("secret of %d bytes, bound text of %d: %x, want %x", len(secret), n, got, want)
			}
			if got := tokenMAC(&pads, string(signed), bind); !bytes.Equal(got[:], want) {
				t.Errorf("secret of %d bytes, bound text of %d, signed as a string: %x, want %x", len(secret), n, got, want)
			}
		}
	}
}
