package admission

import (
	"bytes"
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

// fuzzTicketTokens returns named tickets of the fuzz world, valid_* first.
func fuzzTicketTokens(tb testing.TB) map[string]string {
	cur, old, room, id, now := fuzzTicketSetup(tb)
	tk := aliceTicket(now)
	valid := mustSignTicket(tb, cur, tk)
	unplaced := tk
	unplaced.Place = -1
	expired := tk
	expired.Expires = now
	otherRoom := tk
	otherRoom.Room = "vaccine-50-54"
	otherID := tk
	otherID.Identity = passBob
	future := tk
	future.Joined, future.Expires = now.Add(time.Minute), now.Add(2*time.Minute)
	forger := mustKeyring(tb, Key{ID: passKeyCur.ID, Secret: bytes.Repeat([]byte("forger"), 6)})
	pass := mustSign(tb, cur, Pass{Room: room, Identity: id, Issued: now.Add(-time.Minute), Expires: now.Add(time.Hour)})
	flipped := []byte(valid)
	flipped[len(flipped)-5] ^= 1
	return map[string]string{
		"valid_current_key": valid,
		"valid_older_key":   mustSignTicket(tb, old, tk),
		"valid_unplaced":    mustSignTicket(tb, cur, unplaced),
		"expired":           mustSignTicket(tb, cur, expired),
		"other_room":        mustSignTicket(tb, cur, otherRoom),
		"other_identity":    mustSignTicket(tb, cur, otherID),
		"issued_in_future":  mustSignTicket(tb, cur, future),
		"forged_key":        mustSignTicket(tb, forger, tk),
		"pass_as_ticket":    pass,
		"pass_prefix":       "gh1." + strings.TrimPrefix(valid, "gt1."),
		"mac_flipped":       string(flipped),
		"truncated":         valid[:len(valid)-10],
		"dot_removed":       strings.Replace(valid, ".", "", 1),
		"empty":             "",
		"garbage":           "gt1.....",
	}
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

// TestTicketRefused: forged, expired, another room's or identity's, a pass
// presented as a ticket; and a ticket is never accepted as a pass.
func TestTicketRefused(t *testing.T) {
	cur, _, room, id, now := fuzzTicketSetup(t)
	for name, tok := range fuzzTicketTokens(t) {
		_, _, _, err := cur.VerifyTicket(now, tok, room, id)
		if strings.HasPrefix(name, "valid_") {
			if err != nil {
				t.Errorf("%s: refused: %v", name, err)
			}
			// A ticket is never a pass.
			if perr := cur.Verify(now, tok, room, id); !errors.Is(perr, ErrInvalidPass) {
				t.Errorf("%s accepted as a pass: %v", name, perr)
			}
			continue
		}
		if !errors.Is(err, ErrInvalidTicket) {
			t.Errorf("%s: %v, want ErrInvalidTicket", name, err)
		}
	}
}

func TestVerifyTicketNoAllocs(t *testing.T) {
	cur, _, room, id, now := fuzzTicketSetup(t)
	tok := mustSignTicket(t, cur, aliceTicket(now))
	bad := fuzzTicketTokens(t)["mac_flipped"]
	if n := testing.AllocsPerRun(100, func() {
		if _, _, _, err := cur.VerifyTicket(now, tok, room, id); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := cur.VerifyTicket(now, bad, room, id); err == nil {
			t.Fatal("forged ticket accepted")
		}
	}); n != 0 {
		t.Fatalf("%v allocations per verification", n)
	}
}

func FuzzVerifyTicket(f *testing.F) {
	k, _, room, id, now := fuzzTicketSetup(f)
	for _, tok := range fuzzTicketTokens(f) {
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

// TestFuzzVerifyTicketCorpus keeps the committed corpus meaningful: valid_*
// entries verify in the fuzz world, all others are refused.
func TestFuzzVerifyTicketCorpus(t *testing.T) {
	k, _, room, id, now := fuzzTicketSetup(t)
	dir := filepath.Join("testdata", "fuzz", "FuzzVerifyTicket")
	if os.Getenv("GATEHOUSE_WRITE_CORPUS") != "" {
		for name, tok := range fuzzTicketTokens(t) {
			data := fmt.Sprintf("go test fuzz v1\nstring(%q)\n", tok)
			if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	checkCorpus(t, "FuzzVerifyTicket", func(tok string) error {
		_, _, _, err := k.VerifyTicket(now, tok, room, id)
		return err
	})
}

func BenchmarkVerifyTicket(b *testing.B) {
	cur, _, room, id, now := fuzzTicketSetup(b)
	tok := mustSignTicket(b, cur, aliceTicket(now))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, err := cur.VerifyTicket(now, tok, room, id); err != nil {
			b.Fatal(err)
		}
	}
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

// fuzzTicket2Tokens returns named version 2 tickets (and tokens that are
// not one) of the fuzz world, for ticketAlice; valid_* ones verify.
func fuzzTicket2Tokens(tb testing.TB) map[string]string {
	cur, old, room, id, now := fuzzTicketSetup(tb)
	tk := aliceTicket(now)
	valid := mustSignTicketFor(tb, cur, tk, ticketAlice)
	unplaced := tk
	unplaced.Place = -1
	expired := tk
	expired.Expires = now
	otherRoom := tk
	otherRoom.Room = "vaccine-50-54"
	future := tk
	future.Joined, future.Expires = now.Add(time.Minute), now.Add(2*time.Minute)
	forger := mustKeyring(tb, Key{ID: passKeyCur.ID, Secret: bytes.Repeat([]byte("forger"), 6)})
	v1 := mustSignTicket(tb, cur, tk)
	pass := mustSign(tb, cur, Pass{Room: room, Identity: id, Issued: now.Add(-time.Minute), Expires: now.Add(time.Hour)})
	flipped := []byte(valid)
	flipped[len(flipped)-5] ^= 1
	return map[string]string{
		"valid_current_key":   valid,
		"valid_older_key":     mustSignTicketFor(tb, old, tk, ticketAlice),
		"valid_unplaced":      mustSignTicketFor(tb, cur, unplaced, ticketAlice),
		"expired":             mustSignTicketFor(tb, cur, expired, ticketAlice),
		"other_room":          mustSignTicketFor(tb, cur, otherRoom, ticketAlice),
		"other_identity":      mustSignTicketFor(tb, cur, tk, "bob"),
		"identity_prefix":     mustSignTicketFor(tb, cur, tk, ticketAlice[:4]),
		"identity_extended":   mustSignTicketFor(tb, cur, tk, ticketAlice+"\x00"),
		"issued_in_future":    mustSignTicketFor(tb, cur, future, ticketAlice),
		"forged_key":          mustSignTicketFor(tb, forger, tk, ticketAlice),
		"version_1":           v1,
		"version_1_relabeled": "gt2." + strings.TrimPrefix(v1, "gt1."),
		"version_2_relabeled": "gt1." + strings.TrimPrefix(valid, "gt2."),
		"pass_as_ticket":      pass,
		"pass_prefix":         "gh1." + strings.TrimPrefix(valid, "gt2."),
		"mac_flipped":         string(flipped),
		"truncated":           valid[:len(valid)-10],
		"dot_removed":         strings.Replace(valid, ".", "", 1),
		"empty":               "",
		"garbage":             "gt2.....",
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

// TestTicket2Refused: version 2 tickets forged, expired, of another room
// or raw identity, of version 1, a pass; and never accepted as a pass.
func TestTicket2Refused(t *testing.T) {
	cur, _, room, id, now := fuzzTicketSetup(t)
	for name, tok := range fuzzTicket2Tokens(t) {
		_, _, _, h, err := cur.VerifyTicketFor(now, tok, room, ticketAlice)
		if strings.HasPrefix(name, "valid_") {
			if err != nil || h != id {
				t.Errorf("%s: refused: %v (hash %v)", name, err, h)
			}
			if perr := cur.Verify(now, tok, room, id); !errors.Is(perr, ErrInvalidPass) {
				t.Errorf("%s accepted as a pass: %v", name, perr)
			}
			continue
		}
		if !errors.Is(err, ErrInvalidTicket) {
			t.Errorf("%s: %v, want ErrInvalidTicket", name, err)
		}
	}
}

func TestVerifyTicketForNoAllocs(t *testing.T) {
	cur, _, room, _, now := fuzzTicketSetup(t)
	tok := mustSignTicketFor(t, cur, aliceTicket(now), ticketAlice)
	bad := fuzzTicket2Tokens(t)["mac_flipped"]
	if n := testing.AllocsPerRun(100, func() {
		if _, _, _, _, err := cur.VerifyTicketFor(now, tok, room, ticketAlice); err != nil {
			t.Fatal(err)
		}
		if _, _, _, _, err := cur.VerifyTicketFor(now, bad, room, ticketAlice); err == nil {
			t.Fatal("forged ticket accepted")
		}
	}); n != 0 {
		t.Fatalf("%v allocations per verification", n)
	}
}

func FuzzVerifyTicketFor(f *testing.F) {
	k, _, room, id, now := fuzzTicketSetup(f)
	for _, tok := range fuzzTicket2Tokens(f) {
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

// TestFuzzVerifyTicketForCorpus keeps the committed corpus meaningful:
// valid_* entries verify in the fuzz world, all others are refused.
func TestFuzzVerifyTicketForCorpus(t *testing.T) {
	k, _, room, _, now := fuzzTicketSetup(t)
	dir := filepath.Join("testdata", "fuzz", "FuzzVerifyTicketFor")
	if os.Getenv("GATEHOUSE_WRITE_CORPUS") != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, tok := range fuzzTicket2Tokens(t) {
			data := fmt.Sprintf("go test fuzz v1\nstring(%q)\n", tok)
			if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	checkCorpus(t, "FuzzVerifyTicketFor", func(tok string) error {
		_, _, _, _, err := k.VerifyTicketFor(now, tok, room, ticketAlice)
		return err
	})
}

func BenchmarkVerifyTicketFor(b *testing.B) {
	cur, _, room, _, now := fuzzTicketSetup(b)
	tok := mustSignTicketFor(b, cur, aliceTicket(now), ticketAlice)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, _, err := cur.VerifyTicketFor(now, tok, room, ticketAlice); err != nil {
			b.Fatal(err)
		}
	}
}
