package eligibility

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseCampaign: Parse never panics; a refusal is an ErrInvalidCampaign
// with a *CampaignError and no campaign; every accepted campaign re-encodes,
// parses back, encodes the same again, and decides the same for a few people
// at every window edge. The committed corpus is in
// testdata/fuzz/FuzzParseCampaign.
func FuzzParseCampaign(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(ruleDoc(`{"all":[{"age_between":{"min":18,"max":49}},{"not":{"birth_year_last_digit":[0,5]}},{"any":[{"birth_day_last_digit":[1]},{"korean_age_between":{"min":20,"max":30}}]}]}`)))
	f.Add([]byte(`{"name":"t","zone":"America/New_York","disambiguation":"later","cohorts":[` +
		cohortJSON("a", `{"everyone":true}`, `{"start":"2021-11-07T01:30","end":"2021-11-07T01:45:30.25"},{"start":"2021-03-14T02:30","end":"2021-03-14T03:00"}`) + `]}`))
	f.Add([]byte(doc("", okCohort("a")+","+okCohort("b"))))
	f.Add([]byte(`{"name":"t","zone":"UTC","cohorts":[{"name":"x","rule":{"birth_day_last_digit_matches_today":true},"windows":[{"start":"2021-01-01T00:00","end":"2021-01-02T00:00"},{"start":"2021-01-02T00:00","end":"2021-01-03T00:00"}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			var ce *CampaignError
			if c != nil || !errors.Is(err, ErrInvalidCampaign) || !errors.As(err, &ce) {
				t.Fatalf("refusal %v with campaign %v", err, c)
			}
			return
		}
		enc, err := json.Marshal(c)
		if err != nil {
			t.Fatalf("accepted campaign does not encode: %v", err)
		}
		back, err := Parse(enc)
		if err != nil {
			t.Fatalf("re-encoded campaign refused: %v\n%s", err, enc)
		}
		enc2, err := json.Marshal(back)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding not stable: %v\n%s\n%s", err, enc, enc2)
		}
		if msg := sameDecisions(c, back); msg != "" {
			t.Fatalf("re-encoded campaign decides differently: %s\n%s", msg, enc)
		}
	})
}
