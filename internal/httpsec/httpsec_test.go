package httpsec_test

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/gatehouse-go/gatehouse/internal/httpsec"
)

// Every base64 variant reads as the same bytes to a lenient decoder, and
// strict decoding of the raw URL alphabet refuses it: they are exactly the
// respellings a verifier must refuse.
func TestBase64Variants(t *testing.T) {
	for _, n := range []int{1, 2, 3, 31, 32, 33} {
		raw := bytes.Repeat([]byte{0xfb}, n)
		s := base64.RawURLEncoding.EncodeToString(raw)
		vs := httpsec.Base64Variants(s)
		if n%3 != 0 && len(vs) < 2 {
			t.Errorf("%d bytes: only %d variants of %q", n, len(vs), s)
		}
		for _, v := range vs {
			if v == s {
				t.Errorf("%d bytes: the original among the variants", n)
			}
			if _, err := base64.RawURLEncoding.Strict().DecodeString(v); err == nil {
				t.Errorf("%d bytes: strict decoding accepts the variant %q of %q", n, v, s)
			}
			lenient := strings.TrimRight(strings.NewReplacer("+", "-", "/", "_").Replace(v), "=")
			got, err := base64.RawURLEncoding.DecodeString(lenient)
			if err != nil || !bytes.Equal(got, raw) {
				t.Errorf("%d bytes: variant %q does not read as the same bytes leniently: %x, %v", n, v, got, err)
			}
		}
	}
}

func TestRawTargets(t *testing.T) {
	ts := httpsec.RawTargets("/queue/join")
	for name, want := range map[string]string{
		"double slash":  "//queue/join",
		"%2e segment":   "/queue/%2e/join",
		"; parameter":   "/queue/join;x=1",
		"upper case":    "/QUEUE/JOIN",
		"absolute form": "http://other.example/queue/join",
	} {
		if ts[name] != want {
			t.Errorf("%s: %q, want %q", name, ts[name], want)
		}
	}
}
