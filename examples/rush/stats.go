package main

import (
	"math"
	"sort"
)

// ranks returns the ranks (1-based) of xs, ties sharing their average rank.
func ranks(xs []float64) []float64 {
	idx := make([]int, len(xs))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return xs[idx[a]] < xs[idx[b]] })
	r := make([]float64, len(xs))
	for i := 0; i < len(idx); {
		j := i + 1
		for j < len(idx) && xs[idx[j]] == xs[idx[i]] {
			j++
		}
		avg := float64(i+j+1) / 2 // mean of ranks i+1 .. j
		for k := i; k < j; k++ {
			r[idx[k]] = avg
		}
		i = j
	}
	return r
}

// pearson returns the correlation of xs and ys, NaN if either is constant
// or there are fewer than 2 pairs.
func pearson(xs, ys []float64) float64 {
	n := float64(len(xs))
	if len(xs) < 2 || len(xs) != len(ys) {
		return math.NaN()
	}
	var mx, my float64
	for i := range xs {
		mx += xs[i]
		my += ys[i]
	}
	mx /= n
	my /= n
	var sxy, sxx, syy float64
	for i := range xs {
		dx, dy := xs[i]-mx, ys[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx == 0 || syy == 0 {
		return math.NaN()
	}
	return sxy / math.Sqrt(sxx*syy)
}

// spearman is the rank correlation of xs and ys (ties averaged).
func spearman(xs, ys []float64) float64 {
	return pearson(ranks(xs), ranks(ys))
}

// decileChiSquare splits pairs into deciles of x rank and of y rank and
// returns the chi-square statistic of the 10x10 table against independence
// (expected n/100 per cell), with its degrees of freedom (81). With fewer
// than 1000 pairs (fewer than 10 expected per cell) it returns NaN.
func decileChiSquare(xs, ys []float64) (chi2 float64, df int) {
	n := len(xs)
	if n < 1000 {
		return math.NaN(), 81
	}
	rx, ry := ranks(xs), ranks(ys)
	var table [10][10]float64
	for i := range rx {
		a := min(9, int((rx[i]-1)*10/float64(n)))
		b := min(9, int((ry[i]-1)*10/float64(n)))
		table[a][b]++
	}
	// Marginals are n/10 each (up to rounding and ties): use the real ones.
	var row, col [10]float64
	for a := range 10 {
		for b := range 10 {
			row[a] += table[a][b]
			col[b] += table[a][b]
		}
	}
	for a := range 10 {
		for b := range 10 {
			e := row[a] * col[b] / float64(n)
			if e > 0 {
				d := table[a][b] - e
				chi2 += d * d / e
			}
		}
	}
	return chi2, 81
}

// chiSquareP is the upper-tail probability of a chi-square statistic with
// df degrees of freedom, from the regularized incomplete gamma function.
func chiSquareP(chi2 float64, df int) float64 {
	if math.IsNaN(chi2) {
		return math.NaN()
	}
	return gammaQ(float64(df)/2, chi2/2)
}

// gammaQ is the regularized upper incomplete gamma function Q(a, x)
// (Numerical Recipes' series and continued fraction).
func gammaQ(a, x float64) float64 {
	if x <= 0 {
		return 1
	}
	lg, _ := math.Lgamma(a)
	if x < a+1 {
		// Series for P(a, x).
		sum, del, ap := 1/a, 1/a, a
		for range 1000 {
			ap++
			del *= x / ap
			sum += del
			if math.Abs(del) < math.Abs(sum)*1e-15 {
				break
			}
		}
		return 1 - sum*math.Exp(-x+a*math.Log(x)-lg)
	}
	// Continued fraction for Q(a, x) (modified Lentz).
	const tiny = 1e-300
	b := x + 1 - a
	c := 1 / tiny
	d := 1 / b
	h := d
	for i := 1; i < 1000; i++ {
		an := -float64(i) * (float64(i) - a)
		b += 2
		d = an*d + b
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = b + an/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < 1e-15 {
			break
		}
	}
	return math.Exp(-x+a*math.Log(x)-lg) * h
}
