package window

import (
	"errors"
	"testing"
	"time"
)

func TestResolveGapsAndOverlaps(t *testing.T) {
	ny := MustLoadZone("America/New_York")
	berlin := MustLoadZone("Europe/Berlin")
	seoul := MustLoadZone("Asia/Seoul")
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		name    string
		loc     *time.Location
		civil   Civil
		d       Disambiguation
		want    time.Time
		wantErr error
	}{
		{"seoul plain", seoul, Date(2021, 7, 12).At(20, 0, 0), Reject, utc("2021-07-12T11:00:00Z"), nil},
		{"ny gap reject", ny, Date(2021, 3, 14).At(2, 30, 0), Reject, time.Time{}, ErrNonexistentTime},
		{"ny gap compatible", ny, Date(2021, 3, 14).At(2, 30, 0), Compatible, utc("2021-03-14T07:30:00Z"), nil},
		{"ny gap earlier", ny, Date(2021, 3, 14).At(2, 30, 0), Earlier, utc("2021-03-14T06:30:00Z"), nil},
		{"ny gap later", ny, Date(2021, 3, 14).At(2, 30, 0), Later, utc("2021-03-14T07:30:00Z"), nil},
		{"ny overlap reject", ny, Date(2021, 11, 7).At(1, 30, 0), Reject, time.Time{}, ErrAmbiguousTime},
		{"ny overlap compatible", ny, Date(2021, 11, 7).At(1, 30, 0), Compatible, utc("2021-11-07T05:30:00Z"), nil},
		{"ny overlap earlier", ny, Date(2021, 11, 7).At(1, 30, 0), Earlier, utc("2021-11-07T05:30:00Z"), nil},
		{"ny overlap later", ny, Date(2021, 11, 7).At(1, 30, 0), Later, utc("2021-11-07T06:30:00Z"), nil},
		{"ny just before gap", ny, Date(2021, 3, 14).At(1, 59, 59), Reject, utc("2021-03-14T06:59:59Z"), nil},
		{"ny gap end exists", ny, Date(2021, 3, 14).At(3, 0, 0), Reject, utc("2021-03-14T07:00:00Z"), nil},
		{"berlin gap reject", berlin, Date(2021, 3, 28).At(2, 30, 0), Reject, time.Time{}, ErrNonexistentTime},
		{"berlin gap compatible", berlin, Date(2021, 3, 28).At(2, 30, 0), Compatible, utc("2021-03-28T01:30:00Z"), nil},
		{"berlin gap earlier", berlin, Date(2021, 3, 28).At(2, 30, 0), Earlier, utc("2021-03-28T00:30:00Z"), nil},
		{"berlin overlap reject", berlin, Date(2021, 10, 31).At(2, 30, 0), Reject, time.Time{}, ErrAmbiguousTime},
		{"berlin overlap earlier", berlin, Date(2021, 10, 31).At(2, 30, 0), Earlier, utc("2021-10-31T00:30:00Z"), nil},
		{"berlin overlap later", berlin, Date(2021, 10, 31).At(2, 30, 0), Later, utc("2021-10-31T01:30:00Z"), nil},
		{"31 april", seoul, Date(2021, 4, 31), Reject, time.Time{}, ErrInvalidCivil},
		{"29 feb common", seoul, Date(2021, 2, 29), Reject, time.Time{}, ErrInvalidCivil},
		{"29 feb leap", seoul, Date(2020, 2, 29), Reject, utc("2020-02-28T15:00:00Z"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Resolve(tc.civil, tc.loc, tc.d)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(tc.want) {
				t.Fatalf("got %s, want %s", got.UTC().Format(time.RFC3339), tc.want.Format(time.RFC3339))
			}
			if got.Location() != tc.loc {
				t.Fatalf("result in %v, want %v", got.Location(), tc.loc)
			}
		})
	}
}
