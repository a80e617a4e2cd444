package admission

import (
	"errors"
	"math/rand/v2"
	"testing"
)

func TestLimitsSplitAddsUp(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		n := 1 + r.IntN(20)
		w := make([]int, n)
		for i := range w {
			w[i] = 1 + r.IntN(1000)
		}
		l := Limits{Rate: n + r.IntN(100000), Burst: n + r.IntN(500), Cap: 0, MinRate: 0, MaxRate: 0}
		if r.IntN(2) == 0 {
			l.Cap = n + r.IntN(10000)
		}
		if r.IntN(2) == 0 {
			l.MaxRate = l.Rate
			l.MinRate = max(n, l.Rate/10)
		}
		parts, err := l.Split(w)
		if err != nil {
			t.Fatalf("%+v over %v: %v", l, w, err)
		}
		var sum Limits
		for i, p := range parts {
			if err := p.Validate(); err != nil {
				t.Fatalf("part %d %+v: %v", i, p, err)
			}
			if p.Rate < 1 || p.Burst < 1 || (l.Cap > 0 && p.Cap < 1) || (l.Cap == 0 && p.Cap != 0) {
				t.Fatalf("part %d %+v of %+v", i, p, l)
			}
			// Proportional to within one unit, or n when some part's
			// share is below 1 and takes its unit from the largest.
			exact := float64(l.Rate) * float64(w[i]) / float64(sumInts(w))
			slack := 1.0
			for _, x := range w {
				if float64(l.Rate)*float64(x)/float64(sumInts(w)) < 1 {
					slack = float64(n)
				}
			}
			if d := float64(p.Rate) - exact; d <= -slack || d >= slack {
				t.Fatalf("part %d rate %d, proportional share %.2f", i, p.Rate, exact)
			}
			sum.Rate += p.Rate
			sum.Burst += p.Burst
			sum.Cap += p.Cap
			sum.MaxRate += p.MaxRate
			sum.MinRate += p.MinRate
		}
		if sum.Rate != l.Rate || sum.Burst != l.Burst || sum.Cap != l.Cap || sum.MaxRate != l.MaxRate || sum.MinRate > l.MinRate {
			t.Fatalf("parts add up to %+v, want %+v", sum, l)
		}
	}
}

func sumInts(w []int) int {
	s := 0
	for _, x := range w {
		s += x
	}
	return s
}

func TestLimitsSplitRefuses(t *testing.T) {
	for _, c := range []struct {
		l Limits
		w []int
	}{
		{Limits{Rate: 10, Burst: 5}, nil},
		{Limits{Rate: 10, Burst: 5}, []int{1, 0}},
		{Limits{Rate: 2, Burst: 5}, []int{1, 1, 1}},
		{Limits{Rate: 10, Burst: 2}, []int{1, 1, 1}},
		{Limits{Rate: 10, Burst: 5, Cap: 2}, []int{1, 1, 1}},
		{Limits{Rate: 10, Burst: 5}, []int{1 << 41}},
	} {
		if _, err := c.l.Split(c.w); !errors.Is(err, ErrSplit) {
			t.Errorf("%+v over %v: %v, want ErrSplit", c.l, c.w, err)
		}
	}
	if _, err := (Limits{Rate: 0, Burst: 1}).Split([]int{1}); err == nil || errors.Is(err, ErrSplit) {
		t.Errorf("invalid limits: %v, want Validate's error", err)
	}
}
