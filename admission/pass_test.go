package admission

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fixed material for pass tests.
var (
	passKeyCur = Key{ID: "k2021b", Secret: bytes.Repeat([]byte("current-secret-"), 3)}
	passKeyOld = Key{ID: "k2021a", Secret: bytes.Repeat([]byte("older-secret-"), 3)}
	passAlice  = HashIdentity([]byte("identity key for tests, 32 bytes+"), "alice")
	passBob    = HashIdentity([]byte("identity key for tests, 32 bytes+"), "bob")
	passT0     = time.Date(2021, 7, 12, 11, 0, 0, 0, time.UTC) // 20:00 in Seoul
)

func mustKeyring(t testing.TB, signing Key, accepted ...Key) *Keyring {
	t.Helper()
	k, err := NewKeyring(signing, accepted...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustSign(t testing.TB, k *Keyring, p Pass) string {
	t.Helper()
	tok, err := k.Sign(p)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func alicePass() Pass {
	return Pass{Room: "vaccine-55-59", Identity: passAlice, Issued: passT0, Expires: passT0.Add(10 * time.Minute)}
}

func TestKeyValidate(t *testing.T) {
	secret := make([]byte, 32)
	good := []Key{
		{ID: "a", Secret: secret},
		{ID: "0123456789abcdef", Secret: secret},
		{ID: "A-Z_a-z", Secret: make([]byte, 100)},
	}
	for _, k := range good {
		if err := k.Validate(); err != nil {
			t.Errorf("%v: %v", k, err)
		}
	}
	bad := []Key{
		{ID: "", Secret: secret},
		{ID: "0123456789abcdefg", Secret: secret}, // 17 characters
		{ID: "has.dot", Secret: secret},
		{ID: "has space", Secret: secret},
		{ID: "é", Secret: secret},
		{ID: "ok", Secret: make([]byte, 31)},
		{ID: "ok"},
	}
	for _, k := range bad {
		if err := k.Validate(); err == nil {
			t.Errorf("%v: accepted", k)
		}
		if _, err := NewKeyring(k); err == nil {
			t.Errorf("NewKeyring(%v): accepted", k)
		}
		if _, err := NewKeyring(passKeyCur, k); err == nil {
			t.Errorf("NewKeyring(cur, %v): accepted", k)
		}
	}
}

func TestKeyStringRedactsSecret(t *testing.T) {
	k := Key{ID: "k1", Secret: []byte("TOP-SECRET-TOP-SECRET-TOP-SECRET")}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb, k)
		if strings.Contains(out, "TOP-SECRET") || strings.Contains(out, "84 79 80") || !strings.Contains(out, "k1") {
			t.Errorf("%s of a Key = %q", verb, out)
		}
	}
	out := fmt.Sprintf("%v %+v", []Key{k}, struct{ K Key }{k})
	if strings.Contains(out, "TOP-SECRET") {
		t.Errorf("nested Key printed its secret: %q", out)
	}
}

func TestNewKeyring(t *testing.T) {
	if _, err := NewKeyring(passKeyCur, passKeyOld, Key{ID: passKeyOld.ID, Secret: make([]byte, 32)}); err == nil {
		t.Error("duplicate accepted key id allowed")
	}
	if _, err := NewKeyring(passKeyCur, passKeyCur); err == nil {
		t.Error("signing key repeated among the accepted allowed")
	}
	k := mustKeyring(t, passKeyCur, passKeyOld)
	if k.SigningKeyID() != passKeyCur.ID {
		t.Errorf("SigningKeyID = %q", k.SigningKeyID())
	}
	if got := fmt.Sprint(k.KeyIDs()); got != "[k2021b k2021a]" {
		t.Errorf("KeyIDs = %s", got)
	}

	// The keyring keeps its own copy: changing the caller's secret
	// afterwards changes nothing.
	secret := bytes.Clone(passKeyCur.Secret)
	k2 := mustKeyring(t, Key{ID: passKeyCur.ID, Secret: secret})
	tok := mustSign(t, k2, alicePass())
	secret[0] ^= 0xff
	if err := k2.Verify(passT0, tok, "vaccine-55-59", passAlice); err != nil {
		t.Fatalf("keyring changed with its caller's secret: %v", err)
	}

	var nilRing *Keyring
	var zero Keyring
	for name, kr := range map[string]*Keyring{"nil": nilRing, "zero": &zero} {
		if _, err := kr.Sign(alicePass()); err == nil {
			t.Errorf("%s keyring signed", name)
		}
		if err := kr.Verify(passT0, tok, "vaccine-55-59", passAlice); !errors.Is(err, ErrInvalidPass) {
			t.Errorf("%s keyring: Verify = %v", name, err)
		}
		if _, err := kr.Decode(passT0, tok); !errors.Is(err, ErrInvalidPass) {
			t.Errorf("%s keyring: Decode = %v", name, err)
		}
		if kr.SigningKeyID() != "" || len(kr.KeyIDs()) != 0 {
			t.Errorf("%s keyring has keys", name)
		}
	}
}

func TestPassRoundTrip(t *testing.T) {
	k := mustKeyring(t, passKeyCur, passKeyOld)
	p := alicePass()
	p.KeyID = "ignored"
	tok := mustSign(t, k, p)
	if err := k.Verify(passT0, tok, p.Room, p.Identity); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	got, err := k.Decode(passT0, tok)
	if err != nil {
		t.Fatal(err)
	}
	want := p
	want.KeyID = passKeyCur.ID
	if got != want {
		t.Fatalf("Decode = %+v, want %+v", got, want)
	}
	// Deterministic: the same pass gives the same token.
	if tok2 := mustSign(t, k, got); tok2 != tok {
		t.Fatalf("re-signing gave %q, want %q", tok2, tok)
	}

	// Times in another zone and with a monotonic reading come back as the
	// same instants, in UTC.
	seoul := time.FixedZone("KST", 9*3600)
	p2 := Pass{Room: "r", Identity: passBob, Issued: time.Now().Round(0).Truncate(time.Millisecond).In(seoul)}
	p2.Expires = p2.Issued.Add(time.Hour)
	got2, err := k.Decode(p2.Issued, mustSign(t, k, p2))
	if err != nil {
		t.Fatal(err)
	}
	if !got2.Issued.Equal(p2.Issued) || !got2.Expires.Equal(p2.Expires) || got2.Issued.Location() != time.UTC {
		t.Fatalf("times: got %v/%v, want %v/%v in UTC", got2.Issued, got2.Expires, p2.Issued, p2.Expires)
	}
}

// TestPassMillisecondPrecision documents the precision choice: times are
// truncated toward the past to whole milliseconds, and a pass that would
// last less than a millisecond after truncation is refused.
func TestPassMillisecondPrecision(t *testing.T) {
	k := mustKeyring(t, passKeyCur)
	p := alicePass()
	p.Issued = passT0.Add(1500 * time.Microsecond)   // 1.5 ms
	p.Expires = passT0.Add(60*time.Second + 999_999) // 60 s + 0.999999 ms
	got, err := k.Decode(p.Issued, mustSign(t, k, p))
	if err != nil {
		t.Fatal(err)
	}
	if want := passT0.Add(time.Millisecond); !got.Issued.Equal(want) {
		t.Errorf("Issued = %v, want %v", got.Issued, want)
	}
	if want := passT0.Add(60 * time.Second); !got.Expires.Equal(want) {
		t.Errorf("Expires = %v, want %v", got.Expires, want)
	}
	p.Issued, p.Expires = passT0.Add(100*time.Microsecond), passT0.Add(900*time.Microsecond)
	if _, err := k.Sign(p); err == nil {
		t.Error("a pass shorter than a millisecond after truncation was signed")
	}
}

func TestSignRefuses(t *testing.T) {
	k := mustKeyring(t, passKeyCur)
	ok := alicePass()
	ok.Room = strings.Repeat("r", 64)
	mustSign(t, k, ok)
	cases := map[string]func(p *Pass){
		"empty room":            func(p *Pass) { p.Room = "" },
		"room of 65 bytes":      func(p *Pass) { p.Room = strings.Repeat("r", 65) },
		"zero identity":         func(p *Pass) { p.Identity = IdentityHash{} },
		"expires at issued":     func(p *Pass) { p.Expires = p.Issued },
		"expires before issued": func(p *Pass) { p.Expires = p.Issued.Add(-time.Second) },
		"zero issued":           func(p *Pass) { p.Issued = time.Time{} },
		"zero expires":          func(p *Pass) { p.Expires = time.Time{} },
		"before 1970":           func(p *Pass) { p.Issued = time.Date(1969, 12, 31, 23, 0, 0, 0, time.UTC) },
		"after 9999":            func(p *Pass) { p.Expires = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) },
	}
	for name, mutate := range cases {
		p := alicePass()
		mutate(&p)
		if tok, err := k.Sign(p); err == nil {
			t.Errorf("%s: signed %q", name, tok)
		}
	}
}

// TestPassFormat pins the documented token format by recomputing the MAC
// with crypto/hmac and decoding the body with encoding/base64.
func TestPassFormat(t *testing.T) {
	k := mustKeyring(t, passKeyCur)
	p := alicePass()
	tok := mustSign(t, k, p)
	parts := strings.Split(tok, ".")
	if len(parts) != 4 || parts[0] != "gh1" || parts[1] != passKeyCur.ID {
		t.Fatalf("token %q: want gh1.<key id>.<body>.<mac>", tok)
	}
	body, err := base64.RawURLEncoding.Strict().DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(body[:32], passAlice[:]) ||
		binary.BigEndian.Uint64(body[32:]) != uint64(p.Issued.UnixMilli()) ||
		binary.BigEndian.Uint64(body[40:]) != uint64(p.Expires.UnixMilli()) ||
		string(body[48:]) != p.Room {
		t.Fatalf("body %x does not follow the documented layout", body)
	}
	m := hmac.New(sha256.New, passKeyCur.Secret)
	m.Write([]byte(tok[:strings.LastIndexByte(tok, '.')]))
	if want := base64.RawURLEncoding.EncodeToString(m.Sum(nil)); parts[3] != want {
		t.Fatalf("mac %s, HMAC-SHA256 of the signed text is %s", parts[3], want)
	}
	for _, c := range []byte(tok) {
		if !passKeyIDChar(c) && c != '.' {
			t.Fatalf("token has %q, not cookie and bearer safe", c)
		}
	}

	// The longest token fits the documented bound.
	long := mustKeyring(t, Key{ID: strings.Repeat("k", 16), Secret: passKeyCur.Secret})
	lp := alicePass()
	lp.Room = strings.Repeat("r", 64)
	if tok := mustSign(t, long, lp); len(tok) != passMaxToken || passMaxToken != 215 {
		t.Fatalf("longest token is %d bytes, bound %d", len(tok), passMaxToken)
	}
	// The shortest one passes the length floor.
	sp := alicePass()
	sp.Room = "r"
	short := mustKeyring(t, Key{ID: "k", Secret: passKeyCur.Secret})
	if tok := mustSign(t, short, sp); len(tok) < passMinToken {
		t.Fatalf("shortest token is %d bytes, below the floor %d", len(tok), passMinToken)
	} else if err := short.Verify(passT0, tok, "r", passAlice); err != nil {
		t.Fatal(err)
	}
}

// TestPassGolden pins one token: a change here invalidates every pass in
// flight during an upgrade.
func TestPassGolden(t *testing.T) {
	k := mustKeyring(t, passKeyCur)
	const want = "gh1.k2021b.lUxEWRWzqNBoOZg38cOinkkcIPpNUXqZaTHAb6VU330AAAF6ml-vgAAAAXqaaNdAdmFjY2luZS01NS01OQ.560MjR40EKfByxfl4bdTORDN1VsA5r-N1EIrVXSMexE"
	if got := mustSign(t, k, alicePass()); got != want {
		t.Fatalf("token = %q, want %q", got, want)
	}
}

func TestPassLongSecret(t *testing.T) {
	// Secrets longer than SHA-256's block are hashed first, as HMAC says.
	key := Key{ID: "long", Secret: bytes.Repeat([]byte{0xa5}, 200)}
	k := mustKeyring(t, key)
	tok := mustSign(t, k, alicePass())
	m := hmac.New(sha256.New, key.Secret)
	m.Write([]byte(tok[:strings.LastIndexByte(tok, '.')]))
	if !strings.HasSuffix(tok, "."+base64.RawURLEncoding.EncodeToString(m.Sum(nil))) {
		t.Fatal("MAC under a long secret differs from crypto/hmac")
	}
}

// TestVerifyAccepts covers the passes that must work: signed by the current
// key, and by an older key still accepted (during rotation), from Issued -
// skew to just before Expires.
func TestVerifyAccepts(t *testing.T) {
	cur := mustKeyring(t, passKeyCur, passKeyOld)
	old := mustKeyring(t, passKeyOld)
	p := alicePass()
	for name, tok := range map[string]string{"current key": mustSign(t, cur, p), "older accepted key": mustSign(t, old, p)} {
		for _, now := range []time.Time{p.Issued.Add(-PassClockSkew), p.Issued, p.Issued.Add(time.Minute), p.Expires.Add(-time.Nanosecond)} {
			if err := cur.Verify(now, tok, p.Room, p.Identity); err != nil {
				t.Errorf("%s at %v: %v", name, now, err)
			}
		}
	}
	got, err := cur.Decode(passT0, mustSign(t, old, p))
	if err != nil || got.KeyID != passKeyOld.ID {
		t.Fatalf("Decode of an old-key pass = %+v, %v", got, err)
	}
}

// TestVerifyRefuses is the airplane-mode test: every pass that must not
// open a protected route is refused, and every refusal is ErrInvalidPass.
func TestVerifyRefuses(t *testing.T) {
	cur := mustKeyring(t, passKeyCur, passKeyOld)
	p := alicePass()
	tok := mustSign(t, cur, p)
	dot := strings.LastIndexByte(tok, '.')

	forger := mustKeyring(t, Key{ID: passKeyCur.ID, Secret: randomSecret(t)})
	retiring := mustKeyring(t, passKeyOld)
	otherRoom, otherID := p, p
	otherRoom.Room = "vaccine-50-54"
	otherID.Identity = passBob
	notYet := p
	notYet.Issued = passT0.Add(PassClockSkew + time.Millisecond)
	notYet.Expires = notYet.Issued.Add(time.Hour)

	flip := func(s string, i int) string {
		b := []byte(s)
		// Replace by another alphabet character so that only the
		// signature, not the syntax, can catch it.
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	cases := []struct {
		name  string
		token string
		now   time.Time
		want  error
	}{
		{"no pass", "", passT0, ErrInvalidPass},
		{"garbage", "hello", passT0, ErrInvalidPass},
		{"garbage of the right shape", "gh1.k2021b." + strings.Repeat("A", 70) + "." + strings.Repeat("A", 43), passT0, ErrInvalidPass},
		{"truncated", tok[:len(tok)-1], passT0, ErrInvalidPass},
		{"truncated body", tok[:dot-4] + tok[dot:], passT0, ErrInvalidPass},
		{"extended", tok + "A", passT0, ErrInvalidPass},
		{"bit-flipped MAC", flip(tok, len(tok)-5), passT0, ErrInvalidPass},
		{"bit-flipped payload", flip(tok, dot-20), passT0, ErrInvalidPass},
		{"bit-flipped key id", flip(tok, 5), passT0, ErrInvalidPass},
		{"forged under a valid key id", mustSign(t, forger, p), passT0, ErrInvalidPass},
		{"expired, at Expires exactly", tok, p.Expires, ErrPassExpired},
		{"expired, after", tok, p.Expires.Add(time.Hour), ErrPassExpired},
		{"not yet issued, beyond the skew", mustSign(t, cur, notYet), passT0, ErrInvalidPass},
		{"another identity's pass", mustSign(t, cur, otherID), passT0, ErrInvalidPass},
		{"another room's pass", mustSign(t, cur, otherRoom), passT0, ErrInvalidPass},
		{"bearer prefix left on", "Bearer " + tok, passT0, ErrInvalidPass},
		{"padded", tok + "=", passT0, ErrInvalidPass},
		{"line break inside", tok[:30] + "\n" + tok[30:], passT0, ErrInvalidPass},
		{"other version", "gh2" + tok[3:], passT0, ErrInvalidPass},
	}
	for _, c := range cases {
		err := cur.Verify(c.now, c.token, p.Room, p.Identity)
		if !errors.Is(err, c.want) || !errors.Is(err, ErrInvalidPass) {
			t.Errorf("%s: Verify = %v, want %v", c.name, err, c.want)
		}
		if c.want == ErrInvalidPass && errors.Is(err, ErrPassExpired) {
			t.Errorf("%s: reported as expired: %v", c.name, err)
		}
	}

	// A pass signed with a key the keyring no longer accepts (retired).
	oldTok := mustSign(t, retiring, p)
	if err := mustKeyring(t, passKeyCur).Verify(passT0, oldTok, p.Room, p.Identity); !errors.Is(err, ErrInvalidPass) {
		t.Errorf("retired key: Verify = %v", err)
	}
	if _, err := mustKeyring(t, passKeyCur).Decode(passT0, oldTok); !errors.Is(err, ErrInvalidPass) {
		t.Errorf("retired key: Decode = %v", err)
	}
	// Decode refuses what Verify refuses for reasons other than room and
	// identity.
	if _, err := cur.Decode(p.Expires, tok); !errors.Is(err, ErrPassExpired) {
		t.Errorf("expired: Decode = %v", err)
	}
	if _, err := cur.Decode(passT0, mustSign(t, cur, notYet)); !errors.Is(err, ErrInvalidPass) {
		t.Errorf("not yet issued: Decode = %v", err)
	}
}

// TestVerifyEveryMutation changes each character of a valid token to each
// other character of the token alphabet, and removes each character: no
// variant verifies. This covers bit flips in the key id, body and MAC, and
// non-canonical base64 (different trailing bits decoding to the same bytes).
func TestVerifyEveryMutation(t *testing.T) {
	k := mustKeyring(t, passKeyCur, passKeyOld)
	p := alicePass()
	tok := mustSign(t, k, p)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ \n"
	b := []byte(tok)
	for i := range b {
		orig := b[i]
		for j := 0; j < len(alphabet); j++ {
			if alphabet[j] == orig {
				continue
			}
			b[i] = alphabet[j]
			if err := k.Verify(passT0, string(b), p.Room, p.Identity); !errors.Is(err, ErrInvalidPass) {
				t.Fatalf("token with byte %d changed to %q: Verify = %v", i, alphabet[j], err)
			}
		}
		b[i] = orig
		cut := tok[:i] + tok[i+1:]
		if err := k.Verify(passT0, cut, p.Room, p.Identity); !errors.Is(err, ErrInvalidPass) {
			t.Fatalf("token without byte %d: Verify = %v", i, err)
		}
	}
	for i := 0; i < len(tok); i++ {
		if err := k.Verify(passT0, tok[:i], p.Room, p.Identity); !errors.Is(err, ErrInvalidPass) {
			t.Fatalf("token truncated to %d bytes: Verify = %v", i, err)
		}
	}
}

func randomSecret(t testing.TB) []byte {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestVerifyNoAllocs: pass verification runs on every protected request.
func TestVerifyNoAllocs(t *testing.T) {
	k := mustKeyring(t, passKeyCur, passKeyOld)
	p := alicePass()
	p.Room = strings.Repeat("r", 64)
	tok := mustSign(t, k, p)
	old := mustSign(t, mustKeyring(t, passKeyOld), p)
	for name, tok := range map[string]string{"current key": tok, "older key": old} {
		var err error
		allocs := testing.AllocsPerRun(100, func() {
			err = k.Verify(passT0, tok, p.Room, p.Identity)
		})
		if err != nil || allocs != 0 {
			t.Errorf("%s: Verify = %v with %v allocations per run, want nil with 0", name, err, allocs)
		}
	}
	// Refusals do not allocate either, so a flood of forgeries is cheap.
	forged := tok[:len(tok)-2] + "AA"
	allocs := testing.AllocsPerRun(100, func() {
		_ = k.Verify(passT0, forged, p.Room, p.Identity)
		_ = k.Verify(p.Expires, tok, p.Room, p.Identity)
		_ = k.Verify(passT0, "garbage", p.Room, p.Identity)
	})
	if allocs != 0 {
		t.Errorf("refusals: %v allocations per run", allocs)
	}
}

// TestKeyringConcurrent signs and verifies from many goroutines on one
// keyring (run under -race).
func TestKeyringConcurrent(t *testing.T) {
	k := mustKeyring(t, passKeyCur, passKeyOld)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				p := alicePass()
				p.Identity = HashIdentity([]byte("k"), fmt.Sprint(g, i))
				tok, err := k.Sign(p)
				if err == nil {
					err = k.Verify(passT0, tok, p.Room, p.Identity)
				}
				if err == nil && k.Verify(passT0, tok, p.Room, passAlice) == nil {
					err = errors.New("pass verified for another identity")
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestPassDecodeB64(t *testing.T) {
	strict := base64.RawURLEncoding.Strict()
	var dst [passMaxBody + 8]byte
	for n := 0; n <= 100; n++ {
		src := make([]byte, n)
		rand.Read(src)
		enc := base64.RawURLEncoding.EncodeToString(src)
		m, ok := passDecodeB64(dst[:], enc)
		if !ok || !bytes.Equal(dst[:m], src) {
			t.Fatalf("decode of %q failed", enc)
		}
	}
	for _, s := range []string{"A", "AB", "AC", "ABC", "ABD", "AB==", "A B", "AB\nC", "A+/A", "AAAAA", "ÿÿ"} {
		m, ok := passDecodeB64(dst[:], s)
		want, err := strict.DecodeString(s)
		if strings.ContainsAny(s, "\r\n") {
			err = errors.New("line breaks refused") // encoding/base64 skips them
		}
		if ok != (err == nil) || ok && !bytes.Equal(dst[:m], want) {
			t.Errorf("%q: ours (%x, %v), encoding/base64 (%x, %v)", s, dst[:m], ok, want, err)
		}
	}
	if _, ok := passDecodeB64(dst[:2], "AAAA"); ok {
		t.Error("decoded past the end of dst")
	}
}

// FuzzVerifyPass throws arbitrary tokens at Verify and Decode. Nothing may
// panic; every refusal is ErrInvalidPass; a token that verifies must Decode
// to the expected room and identity, and re-signing the decoded pass must
// give a token that verifies (the very same token when the signing key
// signed it: the format is canonical).
func FuzzVerifyPass(f *testing.F) {
	k, old, room, id, now := fuzzPassSetup(f)
	for _, tok := range fuzzPassTokens(f) {
		f.Add(tok)
	}
	f.Add("")
	f.Add("gh1.")
	f.Add("gh1.k2021b..")
	f.Fuzz(func(t *testing.T, token string) {
		err := k.Verify(now, token, room, id)
		p, derr := k.Decode(now, token)
		if err != nil {
			if !errors.Is(err, ErrInvalidPass) {
				t.Fatalf("Verify error %v is not ErrInvalidPass", err)
			}
			if derr == nil && p.Room == room && p.Identity == id {
				t.Fatalf("Decode accepts what Verify refuses (%v): %+v", err, p)
			}
			if derr != nil && !errors.Is(derr, ErrInvalidPass) {
				t.Fatalf("Decode error %v is not ErrInvalidPass", derr)
			}
			return
		}
		if derr != nil {
			t.Fatalf("Verify accepts, Decode refuses: %v", derr)
		}
		if p.Room != room || p.Identity != id {
			t.Fatalf("verified token decodes to %+v", p)
		}
		resigned, serr := k.Sign(p)
		if serr != nil {
			t.Fatalf("re-signing %+v: %v", p, serr)
		}
		if err := k.Verify(now, resigned, room, id); err != nil {
			t.Fatalf("re-signed token refused: %v", err)
		}
		if p.KeyID == k.SigningKeyID() && resigned != token {
			t.Fatalf("re-signing gave %q, not the original %q", resigned, token)
		}
		if p.KeyID == old.SigningKeyID() {
			if again, _ := old.Sign(p); again != token {
				t.Fatalf("re-signing with the old key gave %q, not %q", again, token)
			}
		}
	})
}

// TestFuzzVerifyPassCorpus keeps the committed corpus meaningful: the
// entries named valid_* verify in the fuzz world and all others are
// refused, so a change of format cannot silently turn the corpus into
// garbage.
func TestFuzzVerifyPassCorpus(t *testing.T) {
	k, _, room, id, now := fuzzPassSetup(t)
	checkCorpus(t, "FuzzVerifyPass", func(tok string) error { return k.Verify(now, tok, room, id) })
}

// checkCorpus reads the committed corpus of the string fuzz target name
// and checks that the entries named valid_* pass verify and all others
// fail it.
func checkCorpus(t *testing.T, name string, verify func(string) error) {
	t.Helper()
	dir := filepath.Join("testdata", "fuzz", name)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	valid := 0
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if len(lines) != 2 || lines[0] != "go test fuzz v1" || !strings.HasPrefix(lines[1], "string(") {
			t.Fatalf("%s: not a go test fuzz v1 string entry", e.Name())
		}
		tok, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "string("), ")"))
		if err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		err = verify(tok)
		if strings.HasPrefix(e.Name(), "valid_") {
			valid++
			if err != nil {
				t.Errorf("%s: refused: %v", e.Name(), err)
			}
		} else if err == nil {
			t.Errorf("%s: accepted", e.Name())
		}
	}
	if valid < 3 || len(entries) < 10 {
		t.Fatalf("corpus has %d entries, %d valid", len(entries), valid)
	}
}

// fuzzPassSetup is the fixed world of FuzzVerifyPass: the committed corpus
// in testdata/fuzz/FuzzVerifyPass holds tokens made in it.
func fuzzPassSetup(tb testing.TB) (cur, old *Keyring, room string, id IdentityHash, now time.Time) {
	cur = mustKeyring(tb, passKeyCur, passKeyOld)
	old = mustKeyring(tb, passKeyOld)
	return cur, old, "vaccine-55-59", passAlice, passT0.Add(time.Minute)
}

// fuzzPassTokens returns valid and invalid tokens of the fuzz world.
func fuzzPassTokens(tb testing.TB) []string {
	cur, old, room, id, now := fuzzPassSetup(tb)
	p := Pass{Room: room, Identity: id, Issued: now.Add(-time.Minute), Expires: now.Add(9 * time.Minute)}
	expired := p
	expired.Expires = now
	otherRoom := p
	otherRoom.Room = "vaccine-50-54"
	otherID := p
	otherID.Identity = passBob
	forger := mustKeyring(tb, Key{ID: passKeyCur.ID, Secret: bytes.Repeat([]byte("forger"), 6)})
	valid := mustSign(tb, cur, p)
	return []string{
		valid,
		mustSign(tb, old, p),
		mustSign(tb, cur, expired),
		mustSign(tb, cur, otherRoom),
		mustSign(tb, cur, otherID),
		mustSign(tb, forger, p),
		valid[:len(valid)-10],
		strings.Replace(valid, ".", "", 1),
	}
}

func BenchmarkVerifyPass(b *testing.B) {
	k := mustKeyring(b, passKeyCur, passKeyOld)
	p := alicePass()
	tok := mustSign(b, k, p)
	b.ReportAllocs()
	for b.Loop() {
		if err := k.Verify(passT0, tok, p.Room, p.Identity); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignPass(b *testing.B) {
	k := mustKeyring(b, passKeyCur, passKeyOld)
	p := alicePass()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Sign(p); err != nil {
			b.Fatal(err)
		}
	}
}
