package slots_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/internal/redistest"
	"github.com/gatehouse-go/gatehouse/slots"
)

// A campaign whose data was written before the store kept totals (no
// "~c", "~f", "~h" fields) gets them counted from its slots by the first
// Totals (or DefineSlots) that finds them missing, and kept exactly from
// then on.
func TestRedisTotalsOfDataWithoutThem(t *testing.T) {
	rdb := redistest.Start(t, redistest.Options{}).Client()
	ctx := context.Background()
	const prefix = "older:"
	s := freshStore(t, rdb, slots.RedisOptions{Prefix: prefix})
	tt := s.(slots.Totaler)
	at := time.Date(2021, 7, 12, 11, 0, 0, 0, time.UTC)
	for _, c := range []slots.Campaign{"by-totals", "by-define"} {
		t.Run(string(c), func(t *testing.T) {
			var sl []slots.Slot
			for i := range 700 { // more than one HMGET's worth of slots
				sl = append(sl, slots.Slot{ID: fmt.Sprintf("s%04d", i), Capacity: 1 + i%4})
			}
			for i := 0; i < len(sl); i += slots.MaxBatch {
				if err := s.DefineSlots(ctx, at, slots.DefineRequest{Campaign: c, Key: fmt.Sprint("d", i), Slots: sl[i:min(i+slots.MaxBatch, len(sl))]}); err != nil {
					t.Fatal(err)
				}
			}
			var holds []slots.Hold
			for i := range 5 {
				h, err := s.Hold(ctx, at, slots.HoldRequest{Campaign: c, Slot: sl[i].ID, Person: fmt.Sprint("p", i), TTL: time.Duration(i+1) * time.Minute, Key: fmt.Sprint("h", i)})
				if err != nil {
					t.Fatal(err)
				}
				holds = append(holds, h)
			}
			if _, err := s.Confirm(ctx, at, slots.ConfirmRequest{Campaign: c, HoldID: holds[0].ID, Person: "p0", Key: "c0"}); err != nil {
				t.Fatal(err)
			}
			capacity := 0
			for _, x := range sl {
				capacity += x.Capacity
			}
			want := slots.Totals{Capacity: capacity, Booked: 1, Held: 4, Free: capacity - 5}
			check := func(now time.Time, want slots.Totals) {
				t.Helper()
				got, err := tt.Totals(ctx, now, c)
				if err != nil || got != want {
					t.Fatalf("Totals = %+v, %v; want %+v", got, err, want)
				}
			}
			check(at, want)

			// The data as an older version left it.
			data := prefix + "{" + string(c) + "}:v2:data"
			if n, err := rdb.HDel(ctx, data, "~c", "~f", "~h").Result(); err != nil || n != 3 {
				t.Fatalf("HDEL of the totals = %d, %v; want 3 fields deleted", n, err)
			}
			if c == "by-define" {
				if err := s.DefineSlots(ctx, at, slots.DefineRequest{Campaign: c, Key: "grow", Slots: []slots.Slot{{ID: "s0001", Capacity: 10}}}); err != nil {
					t.Fatal(err)
				}
				grow := 10 - sl[1].Capacity
				want.Capacity += grow
				want.Free += grow
			}
			check(at, want)
			// Kept from then on: a hold's expiry, and a cancel.
			check(at.Add(2*time.Minute), slots.Totals{Capacity: want.Capacity, Booked: 1, Held: 3, Free: want.Free + 1})
			if err := s.Cancel(ctx, at.Add(2*time.Minute), slots.CancelRequest{Campaign: c, ID: holds[4].ID, Person: "p4", Key: "x4"}); err != nil {
				t.Fatal(err)
			}
			check(at.Add(2*time.Minute), slots.Totals{Capacity: want.Capacity, Booked: 1, Held: 2, Free: want.Free + 2})
		})
	}
}
