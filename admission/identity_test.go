package admission

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

// TestHashIdentityConstruction checks the documented construction against
// crypto/hmac, for identities on both sides of the allocation-free path's
// bound and keys shorter than, equal to and longer than SHA-256's block.
func TestHashIdentityConstruction(t *testing.T) {
	keys := [][]byte{nil, []byte("k"), bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 64), bytes.Repeat([]byte{3}, 65), bytes.Repeat([]byte{4}, 200)}
	lengths := []int{0, 1, 10, 55, 56, 64, 200, 255, 256, 257, 1000}
	for _, key := range keys {
		for _, n := range lengths {
			identity := strings.Repeat("x", n)
			m := hmac.New(sha256.New, key)
			m.Write([]byte("gatehouse/admission/identity/v1\x00" + identity))
			var want IdentityHash
			copy(want[:], m.Sum(nil))
			if got := HashIdentity(key, identity); got != want {
				t.Fatalf("key %d bytes, identity %d bytes: %s, want %s", len(key), n, got, want)
			}
		}
	}
}

func TestHashIdentityKeyed(t *testing.T) {
	k1, k2 := []byte("identity key one, thirty-two b."), []byte("identity key two, thirty-two b.")
	a := HashIdentity(k1, "alice")
	if a != HashIdentity(k1, "alice") {
		t.Fatal("not deterministic")
	}
	if a == HashIdentity(k2, "alice") {
		t.Fatal("the key does not matter")
	}
	if a == HashIdentity(k1, "alicf") || a == HashIdentity(k1, "alice ") || a == HashIdentity(k1, "") {
		t.Fatal("distinct identities collide")
	}
	// Not the plain (undomained) HMAC of the identity, nor its SHA-256.
	m := hmac.New(sha256.New, k1)
	m.Write([]byte("alice"))
	if bytes.Equal(a[:], m.Sum(nil)) {
		t.Fatal("no domain separation")
	}
	if a == IdentityHash(sha256.Sum256([]byte("alice"))) {
		t.Fatal("not keyed")
	}
}

func TestHashIdentityNoAllocs(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	id := strings.Repeat("u", 256)
	if allocs := testing.AllocsPerRun(100, func() { HashIdentity(key, id) }); allocs != 0 {
		t.Fatalf("HashIdentity allocates %v times", allocs)
	}
}

func TestIdentityHashText(t *testing.T) {
	h := HashIdentity([]byte("some key of thirty-two bytes...."), "alice")
	s := h.String()
	if len(s) != 64 || strings.ToLower(s) != s {
		t.Fatalf("String = %q", s)
	}
	if h.Short() != s[:12] {
		t.Fatalf("Short = %q, want %q", h.Short(), s[:12])
	}
	for _, in := range []string{s, strings.ToUpper(s)} {
		got, err := ParseIdentityHash(in)
		if err != nil || got != h {
			t.Fatalf("ParseIdentityHash(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", s[:63], s + "0", "x" + s[1:], s[:12], " " + s[1:]} {
		if got, err := ParseIdentityHash(bad); err == nil || !got.IsZero() {
			t.Errorf("ParseIdentityHash(%q) = %v, %v", bad, got, err)
		}
	}
	if h.IsZero() || !(IdentityHash{}).IsZero() {
		t.Fatal("IsZero")
	}

	// JSON, also as a map key.
	doc, err := json.Marshal(map[IdentityHash]IdentityHash{h: h})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"` + s + `":"` + s + `"}`; string(doc) != want {
		t.Fatalf("JSON = %s, want %s", doc, want)
	}
	var back map[IdentityHash]IdentityHash
	if err := json.Unmarshal(doc, &back); err != nil || back[h] != h {
		t.Fatalf("JSON round trip: %v, %v", back, err)
	}
	var v IdentityHash
	if err := json.Unmarshal([]byte(`"nothex"`), &v); err == nil {
		t.Fatal("bad JSON identity hash accepted")
	}
}

// TestIdentityHashLogsShort: identities never reach logs in clear, and an
// IdentityHash logged with slog shows only its short form.
func TestIdentityHashLogsShort(t *testing.T) {
	h := HashIdentity([]byte("some key of thirty-two bytes...."), "alice")
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("joined", "who", h)
	if out := buf.String(); !strings.Contains(out, "who="+h.Short()) || strings.Contains(out, h.String()) {
		t.Fatalf("log line %q", out)
	}
}

func FuzzParseIdentityHash(f *testing.F) {
	f.Add("4fd1b0ad0b8b2a4b2b7dfc0e8b1a1c1d2e3f405162738495a6b7c8d9eafb0c1d")
	f.Add("4FD1B0AD0B8B2A4B2B7DFC0E8B1A1C1D2E3F405162738495A6B7C8D9EAFB0C1D")
	f.Add("")
	f.Add("zz")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseIdentityHash(s)
		if err != nil {
			if !h.IsZero() {
				t.Fatal("non-zero hash with an error")
			}
			return
		}
		if h.String() != strings.ToLower(s) || !strings.HasPrefix(h.String(), h.Short()) {
			t.Fatalf("ParseIdentityHash(%q).String() = %q", s, h.String())
		}
		var u IdentityHash
		if err := u.UnmarshalText([]byte(s)); err != nil || u != h {
			t.Fatalf("UnmarshalText(%q) = %v, %v", s, u, err)
		}
	})
}

func BenchmarkHashIdentity(b *testing.B) {
	key := bytes.Repeat([]byte{7}, 32)
	b.ReportAllocs()
	for b.Loop() {
		HashIdentity(key, "user-1234567890@example.com")
	}
}
