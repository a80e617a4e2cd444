package window_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/window"
)

func TestNewKeyring(t *testing.T) {
	k := testKey("k1")
	for _, tc := range []struct {
		name     string
		signing  window.OperatorKey
		accepted []window.OperatorKey
	}{
		{"short secret", window.OperatorKey{ID: "k1", Secret: make([]byte, 31)}, nil},
		{"empty id", window.OperatorKey{Secret: k.Secret}, nil},
		{"id with a dot", window.OperatorKey{ID: "k.1", Secret: k.Secret}, nil},
		{"long id", window.OperatorKey{ID: strings.Repeat("k", 17), Secret: k.Secret}, nil},
		{"same id, other secret", k, []window.OperatorKey{{ID: "k1", Secret: testKey("k2").Secret}}},
		{"same key twice", k, []window.OperatorKey{k}},
		{"bad accepted key", k, []window.OperatorKey{{ID: "k2", Secret: []byte("short")}}},
	} {
		if _, err := window.NewKeyring(tc.signing, tc.accepted...); !errors.Is(err, window.ErrInvalidKey) {
			t.Errorf("%s: %v, want ErrInvalidKey", tc.name, err)
		}
	}
	kr, err := window.NewKeyring(k, testKey("k0"))
	if err != nil {
		t.Fatal(err)
	}
	if kr.SigningKeyID() != "k1" {
		t.Fatalf("signing key %q", kr.SigningKeyID())
	}
	// The keyring copies secrets: changing the caller's slice changes nothing.
	secret := append([]byte(nil), k.Secret...)
	kr2, _ := window.NewKeyring(window.OperatorKey{ID: "k1", Secret: secret})
	now := time.Unix(1626087600, 0)
	tok, _ := kr2.Issue(now, "ops", time.Hour)
	secret[0] ^= 0xff
	if _, err := kr2.Verify(now, tok); err != nil {
		t.Fatalf("keyring shares the caller's secret: %v", err)
	}
}

// TestKeyNeverPrinted: no fmt verb prints a byte of an operator key's
// secret.
func TestKeyNeverPrinted(t *testing.T) {
	k := window.OperatorKey{ID: "k1", Secret: []byte("0123456789abcdef0123456789ABCDEF")}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v"} {
		out := fmt.Sprintf(verb, k) + fmt.Sprintf(verb, &k) + fmt.Sprintf(verb, []window.OperatorKey{k})
		for _, leak := range []string{"0123456789abcdef", "30313233", "48 49 50", "[48"} {
			if strings.Contains(out, leak) {
				t.Errorf("%s prints the secret: %s", verb, out)
			}
		}
	}
}

func TestIssueValidation(t *testing.T) {
	kr, _ := window.NewKeyring(testKey("k1"))
	now := time.Unix(1626087600, 0)
	for _, tc := range []struct {
		name, op string
		at       time.Time
		ttl      time.Duration
	}{
		{"empty name", "", now, time.Hour},
		{"control character", "ops\n", now, time.Hour},
		{"invalid UTF-8", "ops\xff", now, time.Hour},
		{"long name", strings.Repeat("o", 129), now, time.Hour},
		{"ttl under a second", "ops", now, time.Second - 1},
		{"before 1970", "ops", time.Unix(-10, 0), time.Hour},
	} {
		if tok, err := kr.Issue(tc.at, tc.op, tc.ttl); err == nil {
			t.Errorf("%s: issued %q", tc.name, tok)
		}
	}
}

// TestVerify checks verification at its exact boundaries and against every
// kind of alteration.
func TestVerify(t *testing.T) {
	kr, _ := window.NewKeyring(testKey("k1"), testKey("k0"))
	issued := time.Date(2021, 7, 12, 11, 0, 0, 0, time.UTC)
	tok, err := kr.Issue(issued.Add(500*time.Millisecond), "운영자 Kim", 8*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	op, err := kr.Verify(issued, tok)
	if err != nil {
		t.Fatal(err)
	}
	want := window.Operator{Name: "운영자 Kim", Issued: issued, Expires: issued.Add(8 * time.Hour), KeyID: "k1"}
	if op != want {
		t.Fatalf("Verify = %+v, want %+v", op, want)
	}
	// Valid in [Issued - MaxClockSkew, Expires).
	for _, tc := range []struct {
		at   time.Time
		want error
	}{
		{issued.Add(-window.MaxClockSkew - time.Nanosecond), window.ErrTokenNotYetValid},
		{issued.Add(-window.MaxClockSkew), nil},
		{want.Expires.Add(-time.Nanosecond), nil},
		{want.Expires, window.ErrTokenExpired},
		{want.Expires.In(seoul), window.ErrTokenExpired},
	} {
		_, err := kr.Verify(tc.at, tok)
		if (tc.want == nil) != (err == nil) || (err != nil && !errors.Is(err, tc.want)) {
			t.Errorf("Verify at %s = %v, want %v", tc.at.Format(time.RFC3339Nano), err, tc.want)
		}
	}
	parts := strings.Split(tok, ".")
	alter := func(i int, v string) string {
		p := append([]string(nil), parts...)
		p[i] = v
		return strings.Join(p, ".")
	}
	flip := func(s string) string { // change the last character
		c := byte('A')
		if s[len(s)-1] == 'A' {
			c = 'B'
		}
		return s[:len(s)-1] + string(c)
	}
	for _, tc := range []struct {
		name, token string
		want        error
	}{
		{"empty", "", window.ErrTokenMalformed},
		{"dots", ".....", window.ErrTokenMalformed},
		{"version", alter(0, "v2"), window.ErrTokenMalformed},
		{"other key id", alter(1, "k0"), window.ErrTokenSignature},
		{"unknown key id", alter(1, "k9"), window.ErrTokenUnknownKey},
		{"issued", alter(2, "1626087599"), window.ErrTokenSignature},
		{"expiry extended", alter(3, "1726116400"), window.ErrTokenSignature},
		{"name", alter(4, "cm9vdA"), window.ErrTokenSignature},
		{"mac flipped", alter(5, flip(parts[5])), window.ErrTokenSignature},
		{"mac truncated", alter(5, parts[5][:40]), window.ErrTokenMalformed},
		{"mac padded", alter(5, parts[5]+"="), window.ErrTokenMalformed},
		{"extra part", tok + ".x", window.ErrTokenMalformed},
		{"missing part", strings.Join(parts[1:], "."), window.ErrTokenMalformed},
		{"too long", tok + strings.Repeat("A", window.MaxTokenLen), window.ErrTokenMalformed},
		{"whitespace", " " + tok, window.ErrTokenMalformed},
	} {
		_, err := kr.Verify(issued, tc.token)
		if !errors.Is(err, tc.want) || !errors.Is(err, window.ErrInvalidToken) {
			t.Errorf("%s: Verify = %v, want %v", tc.name, err, tc.want)
		}
	}
	var nilKeyring *window.Keyring
	if _, err := nilKeyring.Verify(issued, tok); !errors.Is(err, window.ErrInvalidToken) {
		t.Errorf("nil keyring: %v", err)
	}
}

// TestKeyRotation walks a rotation: old key signs; new key accepted; new
// key signs, old accepted; old retired.
func TestKeyRotation(t *testing.T) {
	now := time.Unix(1626087600, 0)
	oldK, newK := testKey("2021-06"), testKey("2021-07")
	step1, _ := window.NewKeyring(oldK, newK)
	step2, _ := window.NewKeyring(newK, oldK)
	step3, _ := window.NewKeyring(newK)
	byOld, _ := step1.Issue(now, "ops", time.Hour)
	byNew, _ := step2.Issue(now, "ops", time.Hour)
	for _, tc := range []struct {
		kr    *window.Keyring
		token string
		ok    bool
	}{
		{step1, byOld, true}, {step1, byNew, true},
		{step2, byOld, true}, {step2, byNew, true},
		{step3, byOld, false}, {step3, byNew, true},
	} {
		op, err := tc.kr.Verify(now, tc.token)
		if tc.ok != (err == nil) {
			t.Errorf("signing %s, token by %s: %v", tc.kr.SigningKeyID(), op.KeyID, err)
		}
		if !tc.ok && !errors.Is(err, window.ErrTokenUnknownKey) {
			t.Errorf("retired key: %v, want ErrTokenUnknownKey", err)
		}
	}
}
