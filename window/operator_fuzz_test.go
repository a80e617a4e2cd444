package window_test

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/window"
)

// fuzzNow is the instant the fuzz target verifies at: 20:00 KST on
// 12 July 2021.
var fuzzNow = time.Date(2021, 7, 12, 11, 0, 0, 0, time.UTC)

// fuzzKeyrings sign with "k1" and "k0"; both accept both.
func fuzzKeyrings(t testing.TB) (k1, k0 *window.Keyring) {
	k1, err := window.NewKeyring(testKey("k1"), testKey("k0"))
	if err != nil {
		t.Fatal(err)
	}
	k0, err = window.NewKeyring(testKey("k0"), testKey("k1"))
	if err != nil {
		t.Fatal(err)
	}
	return k1, k0
}

// FuzzVerifyOperatorToken checks that verification never panics, refuses
// with ErrInvalidToken, and accepts only canonical tokens: an accepted
// token is exactly what Issue produces for its claims, valid at the instant
// of verification. The seed corpus is in testdata/fuzz.
func FuzzVerifyOperatorToken(f *testing.F) {
	k1, k0 := fuzzKeyrings(f)
	tok, err := k1.Issue(fuzzNow.Add(-time.Minute), "duty-operator", time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tok)
	f.Add("v1.k1.0.1.b3Bz.")
	f.Fuzz(func(t *testing.T, token string) {
		op, err := k1.Verify(fuzzNow, token)
		if err != nil {
			if !errors.Is(err, window.ErrInvalidToken) {
				t.Fatalf("refusal %v does not wrap ErrInvalidToken", err)
			}
			if op != (window.Operator{}) {
				t.Fatalf("refused, yet returned %+v", op)
			}
			return
		}
		if !fuzzNow.Before(op.Expires) || op.Issued.Sub(fuzzNow) > window.MaxClockSkew || !op.Issued.Before(op.Expires) {
			t.Fatalf("accepted a token not valid at %s: %+v", fuzzNow, op)
		}
		signer := k1
		if op.KeyID == "k0" {
			signer = k0
		}
		again, err := signer.Issue(op.Issued, op.Name, op.Expires.Sub(op.Issued))
		if err != nil {
			t.Fatalf("accepted claims that Issue refuses: %+v: %v", op, err)
		}
		if again != token {
			t.Fatalf("accepted a non-canonical token:\n got %q\nwant %q", token, again)
		}
	})
}
