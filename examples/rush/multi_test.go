package main

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-go/gatehouse/internal/redistest"
)

// TestMaxExcess: the pacing check finds an interval with one admission too
// many, and passes a bucket's exact schedule.
func TestMaxExcess(t *testing.T) {
	// Rate 60/min (1 a second), burst 3: three at 0, then one a second.
	ts := []float64{0, 0, 0, 1, 2, 3, 4}
	if e := maxExcess(ts, 1, 3); e > 1e-9 {
		t.Errorf("exact schedule: excess %v", e)
	}
	// One more inside [1, 3]: 4 in 2 s + burst 3 is 5: fine; two more
	// in [2, 2.5]: 5 in 0.5 s is over 3.5.
	if e := maxExcess([]float64{0, 2, 2.1, 2.2, 2.3, 2.5}, 1, 3); e < 1 {
		t.Errorf("5 in half a second at rate 1/s burst 3: excess %v, want >= 1", e)
	}
	// Against a brute force over every interval.
	r := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		n := 1 + r.IntN(40)
		ts := make([]float64, n)
		for i := range ts {
			ts[i] = r.Float64() * 10
		}
		slices.Sort(ts)
		rate, burst := 0.5+r.Float64()*5, 1+r.IntN(5)
		want := -1e300
		for i := range ts {
			for j := i; j < n; j++ {
				want = max(want, float64(j-i+1)-rate*(ts[j]-ts[i])-float64(burst))
			}
		}
		if got := maxExcess(ts, rate, burst); got-want > 1e-9 || want-got > 1e-9 {
			t.Fatalf("maxExcess %v, brute force %v", got, want)
		}
	}
}

// TestRushHTTPInstances is the whole stack scaled out, small: three
// reservation servers on a 3-master Redis Cluster the simulator starts,
// the campaign split by region, every person's requests spread over the
// three; no violation, pacing exact in every region's room across the
// instances, one place per identity, every booking found by the audit,
// and each instance and more than one shard did work.
func TestRushHTTPInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs three reservation servers on a Redis Cluster for ~20 s; skipped with -short")
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		redistest.Start(t, redistest.Options{}) // skips, or fails under GATEHOUSE_REQUIRE_REDIS
	}
	t.Parallel()
	bin := buildReservation(t)
	cfg := testConfig(t, "-mode", "http", "-servers", "3", "-store", "redis-cluster", "-redis-start", "-redis-fsync", "off",
		"-server-cmd", bin+" -addr {addr} -client-limit 0 -store redis -redis-addr {redis} -opens-at {opens_at}"+
			" -slots seoul=6x10,busan=3x10,daegu=2x10,jeju=1x10,incheon=2x10,gwangju=1x10 -partition -rate 1200 -max-active 400 -overbooking 2",
		"-people", "240", "-prequeue", "4s", "-spike-width", "3s", "-tail", "8s",
		"-think", "1s", "-confirm-think", "500ms", "-poll-min", "1s", "-comeback", "0", "-abandon-within", "10s",
		"-max-wall", "2m")
	var out, errOut bytes.Buffer
	rep, err := simulate(context.Background(), &cfg, runEnv{stdout: &out, stderr: &errOut})
	t.Log("\n" + out.String() + errOut.String())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Violations.Total != 0 || rep.Stopped != "" {
		t.Errorf("violations %+v, stopped %q", rep.Violations, rep.Stopped)
	}
	m := rep.Multi
	if m == nil || len(m.Instances) != 3 || m.Partitions != 6 {
		t.Fatalf("multi block %+v", m)
	}
	for _, is := range m.Instances {
		if is.Requests < m.Total.Requests/4 || is.CPUSeconds <= 0 {
			t.Errorf("instance %s: %d of %d requests, %.2f s CPU", is.URL, is.Requests, m.Total.Requests, is.CPUSeconds)
		}
	}
	busy := 0
	for _, sh := range m.Shards {
		if sh.CPUSeconds > 0 && len(sh.Tags) > 0 {
			busy++
		}
	}
	if len(m.Shards) != 3 || busy < 2 {
		t.Errorf("shards %+v: want 3, more than one holding a region and working", m.Shards)
	}
	if !m.Pacing.Exact || m.Pacing.Admissions == 0 || len(m.Pacing.Rooms) != 6 {
		t.Errorf("pacing %+v", m.Pacing)
	}
	// Nearly every place booked (a small region may draw fewer willing
	// people than places), each by one person, every booking found.
	if rep.Counts.Booked < int64(rep.Places)*9/10 || m.StoreBookings != rep.Counts.Booked || m.PeopleWithBooking != rep.Counts.Booked ||
		rep.Audit.LedgerBooked != rep.Counts.Booked {
		t.Errorf("booked %d of %d; store %d, people %d, ledger %d", rep.Counts.Booked, rep.Places, m.StoreBookings, m.PeopleWithBooking, rep.Audit.LedgerBooked)
	}
	if !strings.Contains(out.String(), "pacing across instances") {
		t.Error("the text report has no multi block")
	}
}
