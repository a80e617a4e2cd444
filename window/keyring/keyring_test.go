package keyring

import (
	"strings"
	"testing"
)

func TestRules(t *testing.T) {
	for _, id := range []string{"a", "2021-07a", "op_1", strings.Repeat("k", MaxIDLen)} {
		if err := ValidID(id); err != nil {
			t.Errorf("%q refused: %v", id, err)
		}
	}
	for _, id := range []string{"", strings.Repeat("k", MaxIDLen+1), "a.b", "ключ", "a b"} {
		if ValidID(id) == nil {
			t.Errorf("%q accepted", id)
		}
	}
	if Valid("k", make([]byte, MinSecret-1)) == nil || Valid("k", make([]byte, MinSecret)) != nil {
		t.Error("secret length rule")
	}
	if Distinct([]string{"a", "b", "a"}) == nil || Distinct([]string{"a", "b"}) != nil {
		t.Error("duplicate rule")
	}
}
