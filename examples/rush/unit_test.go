package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func TestSpearmanAndTies(t *testing.T) {
	x := []float64{1, 2, 3, 4, 5}
	if got := spearman(x, []float64{10, 20, 30, 40, 50}); math.Abs(got-1) > 1e-12 {
		t.Errorf("monotone: %v", got)
	}
	if got := spearman(x, []float64{5, 4, 3, 2, 1}); math.Abs(got+1) > 1e-12 {
		t.Errorf("reversed: %v", got)
	}
	// Ties share their average rank.
	if r := ranks([]float64{3, 1, 3, 2}); fmt.Sprint(r) != "[3.5 1 3.5 2]" {
		t.Errorf("ranks with ties: %v", r)
	}
	if got := spearman(x, []float64{1, 1, 1, 1, 1}); !math.IsNaN(got) {
		t.Errorf("constant: %v, want NaN", got)
	}
}

func TestChiSquare(t *testing.T) {
	// Known upper-tail values of the chi-square distribution.
	for _, c := range []struct {
		x    float64
		df   int
		want float64
	}{
		{81, 81, 0.4788}, {113.51, 81, 0.0100}, {3.841, 1, 0.05}, {124.84, 100, 0.0465},
	} {
		if got := chiSquareP(c.x, c.df); math.Abs(got-c.want) > 0.002 {
			t.Errorf("P(chi2_%d > %v) = %.4f, want %.4f", c.df, c.x, got, c.want)
		}
	}
	// Independent pairs: not significant; identical orders: very much so.
	r := rand.New(rand.NewPCG(1, 2))
	n := 20000
	xs, ys := make([]float64, n), make([]float64, n)
	for i := range xs {
		xs[i], ys[i] = float64(i), r.Float64()
	}
	if chi, df := decileChiSquare(xs, ys); chiSquareP(chi, df) < 0.001 {
		t.Errorf("independent: chi2 %.1f p %.4f", chi, chiSquareP(chi, df))
	}
	if chi, df := decileChiSquare(xs, xs); chiSquareP(chi, df) > 1e-9 {
		t.Errorf("identical: chi2 %.1f p %g", chi, chiSquareP(chi, df))
	}
	if chi, _ := decileChiSquare(xs[:999], ys[:999]); !math.IsNaN(chi) {
		t.Errorf("too few pairs: %v, want NaN", chi)
	}
}

func TestHistQuantiles(t *testing.T) {
	var h hist
	for i := 1; i <= 100000; i++ {
		h.add(time.Duration(i) * time.Microsecond)
	}
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		want := q * 100000 * float64(time.Microsecond)
		if got := float64(h.quantile(q)); math.Abs(got-want)/want > 0.035 {
			t.Errorf("q%v = %v, want %v within 3.5%%", q, time.Duration(got), time.Duration(want))
		}
	}
	if h.quantile(1) != 100*time.Millisecond {
		t.Errorf("max quantile %v", h.quantile(1))
	}
	// Bucket boundaries are contiguous and increasing.
	for i := 1; i <= histIndex(1<<62); i++ {
		if histLow(i) <= histLow(i-1) || histIndex(histLow(i)) != i {
			t.Fatalf("bucket %d: low %d, index of low %d", i, histLow(i), histIndex(histLow(i)))
		}
	}
}

func TestParseFault(t *testing.T) {
	for in, want := range map[string]string{
		"redis-restart@30s":   "redis-restart@30s",
		"redis-restart@1m+5s": "redis-restart@1m0s+5s",
		"maintenance@10m+2m":  "maintenance@10m0s+2m0s",
		"maintenance@-5m+1m":  "maintenance@-5m0s+1m0s",
	} {
		f, err := parseFault(in)
		if err != nil || f.String() != want {
			t.Errorf("parseFault(%q) = %v, %v; want %s", in, f, err, want)
		}
	}
	for _, bad := range []string{"", "redis-restart", "flood@1s", "maintenance@1m", "maintenance@x+1m", "redis-restart@1s+-1s"} {
		if _, err := parseFault(bad); err == nil {
			t.Errorf("parseFault(%q): no error", bad)
		}
	}
}

func TestFlagsValidated(t *testing.T) {
	for _, args := range [][]string{
		{"-people", "0"},
		{"-early", "0.7", "-spike", "0.5"},
		{"-store", "mongo"},
		{"-store", "redis"}, // no address
		{"-store", "redis", "-redis-addr", "10.0.0.1:6380"},
		{"-store", "redis", "-redis-addr", "example.com:6380"},
		{"-mode", "http"},
		{"-mode", "http", "-url", "http://192.168.1.2:8080"},
		{"-fault", "redis-restart@1s"}, // memory store
		{"-store", "redis", "-redis-start", "-redis-fsync", "off", "-fault", "redis-restart@1s"},
		{"-tick", "5s"},
		{"-skippers", "1.5"},
		{"-overlap", "0"},
		{"-overlap-for", "-1s"},
		{"extra"},
	} {
		_, err := parseFlags(args, &bytes.Buffer{})
		if !errors.Is(err, errUsage) {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
	if code := run(context.Background(), []string{"-people", "-3"}, &bytes.Buffer{}, &bytes.Buffer{}); code != exitUsage {
		t.Errorf("bad flag: exit %d, want %d", code, exitUsage)
	}
	cfg, err := parseFlags([]string{"-redis-addr", "127.0.0.1:7000,[::1]:7001", "-store", "redis-cluster", "-prequeue", "150ms"}, &bytes.Buffer{})
	if err != nil || len(cfg.RedisAddrs) != 2 || cfg.Prequeue != 200*time.Millisecond {
		t.Errorf("cluster addresses / prequeue rounded to the tick: %+v %v", cfg.RedisAddrs, err)
	}
}

// TestLanes: -overlap ticks run at once, no more than lie within
// -overlap-for, and at least one.
func TestLanes(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want int
	}{
		{nil, 10},
		{[]string{"-tick", "1s"}, 1},
		{[]string{"-tick", "200ms"}, 5},
		{[]string{"-overlap", "3"}, 3},
		{[]string{"-overlap-for", "250ms"}, 2},
		{[]string{"-overlap-for", "50ms"}, 1},
		{[]string{"-overlap-for", "0", "-tick", "1s"}, 10},
		{[]string{"-overlap", "16", "-overlap-for", "0"}, 16},
	} {
		cfg, err := parseFlags(append([]string{"-poll-min", "2s"}, tc.args...), &bytes.Buffer{})
		if err != nil {
			t.Fatalf("%q: %v", tc.args, err)
		}
		if got := cfg.lanes(); got != tc.want {
			t.Errorf("%q: %d lanes, want %d", tc.args, got, tc.want)
		}
	}
}

func TestForgeNeverValid(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	tok := "gh1.p1.3xNQuk9edw5LZ4Tihwkj8YbSRBLIcP8ZitQpnW5JxpMAAAGiBVKSzgA.e5nFmdHCMWBsfihoBT-giAp4uAtioeCih5izJ8sgy88"
	for range 1000 {
		f := forge(r, tok)
		if f == tok || len(f) != len(tok) || f[len(f)-1] != tok[len(tok)-1] {
			t.Fatalf("forge(%q) = %q", tok, f)
		}
	}
}

func TestCrowdDeterministic(t *testing.T) {
	cfg := testConfig(t, "-people", "10000")
	a, b := newCrowd(&cfg), newCrowd(&cfg)
	var early, spike int
	for i := range a.people {
		if a.people[i].arrival != b.people[i].arrival || a.people[i].beh != b.people[i].beh {
			t.Fatal("same seed, different crowd")
		}
		if a.people[i].arrival < cfg.openAt() {
			early++
		} else if a.people[i].arrival < cfg.openAt()+5*cfg.SpikeWidth {
			spike++
		}
	}
	// 30% early (plus back-door users), about half in the spike.
	if early < 3000 || early > 3300 || spike < 4500 {
		t.Errorf("early %d, spike %d of 10000", early, spike)
	}
	if got := len(a.slotIDs); got != 200 {
		t.Errorf("%d slots, want 200 of 50", got)
	}
}

// Example runs a small rush in process on the memory stores and prints
// what a CI job would look at: the violation total and the exit status.
func Example() {
	cfg, _ := parseFlags([]string{"-quiet", "-people", "500", "-tail", "5m"}, &bytes.Buffer{})
	rep, err := simulate(context.Background(), &cfg, runEnv{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("violations:", rep.Violations.Total)
	fmt.Println("exit status:", exitStatus(rep))
	fmt.Println("everyone done:", rep.Fates["unfinished"] == 0)
	// Output:
	// violations: 0
	// exit status: 0
	// everyone done: true
}

// TestNoopPooled: the no-op's figures with parallel callers are the
// medians and ranges of every sample given, before and after the run.
func TestNoopPooled(t *testing.T) {
	before := noopSamplesOf{rates: []float64{40, 42, 41, 39, 43}, cpus: []float64{14, 15, 13, 16, 15}, means: []float64{1, 2, 3, 4, 5}}
	after := noopSamplesOf{rates: []float64{30, 31, 29, 32, 28}, cpus: []float64{18, 19, 17, 20, 18}, means: []float64{6, 7, 8, 9, 10}}
	var b, all noopStat
	b.setParallel(before)
	if b.ParallelSamples != 5 || b.ParallelPerSec != 41 || b.CPUUS != 15 || b.ParallelMeanUS != 3 || b.CPUMinUS != 13 || b.CPUMaxUS != 16 {
		t.Errorf("before: %+v", b)
	}
	all.setParallel(before.and(after))
	// Ten samples: the median is the mean of the fifth and sixth.
	if all.ParallelSamples != 10 || all.ParallelPerSec != 35.5 || all.CPUUS != 16.5 || all.ParallelMeanUS != 5.5 ||
		all.ParallelPerSecMin != 28 || all.ParallelPerSecMax != 43 || all.CPUMinUS != 13 || all.CPUMaxUS != 20 {
		t.Errorf("pooled: %+v", all)
	}
}
