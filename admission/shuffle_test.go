package admission

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"
)

// testSeed derives a reproducible seed from a label and a counter.
func testSeed(label string, k uint64) Seed {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], k)
	return Seed(sha256.Sum256(append([]byte(label), b[:]...)))
}

// TestShuffleBijection checks for many n that Place is a permutation of
// [0, n), that Index inverts it, and that Order (which computes the line
// through a table of round values, a separate code path) agrees with both.
func TestShuffleBijection(t *testing.T) {
	ns := []uint64{0, 1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 64, 65, 100, 256, 257, 1000, 4096, 4097, 65537}
	for _, n := range ns {
		seeds := uint64(3)
		if n > 1000 {
			seeds = 1
		}
		for k := uint64(0); k < seeds; k++ {
			seed := testSeed("bijection", k)
			s := NewShuffle(seed, n)
			if s.N() != n {
				t.Fatalf("N() = %d, want %d", s.N(), n)
			}
			order := Order(seed, n)
			if uint64(len(order)) != n {
				t.Fatalf("n=%d: len(Order) = %d", n, len(order))
			}
			seen := make([]bool, n)
			for p, i := range order {
				if i >= n || seen[i] {
					t.Fatalf("n=%d seed %d: Order is not a permutation (index %d at place %d)", n, k, i, p)
				}
				seen[i] = true
			}
			// Place and Index against Order: everywhere for small n, on a
			// sample of places for the largest.
			step := 1 + n/2000
			for p := uint64(0); p < n; p += step {
				i := order[p]
				if got := s.Place(i); got != p {
					t.Fatalf("n=%d seed %d: Order puts %d at place %d, Place(%d) = %d", n, k, i, p, i, got)
				}
				if got := s.Index(p); got != i {
					t.Fatalf("n=%d seed %d: Index(%d) = %d, want %d", n, k, p, got, i)
				}
			}
		}
	}
}

// TestShuffleNotIdentity guards against a shuffle that forgot to shuffle:
// for n = 1000 nearly every element moves, and seeds give different lines.
func TestShuffleNotIdentity(t *testing.T) {
	const n = 1000
	a, b := Order(testSeed("moves", 1), n), Order(testSeed("moves", 2), n)
	fixedA, same := 0, 0
	for p := range a {
		if a[p] == uint64(p) {
			fixedA++
		}
		if a[p] == b[p] {
			same++
		}
	}
	// Expected 1 fixed point and 1 coincidence for random permutations.
	if fixedA > 8 || same > 8 {
		t.Fatalf("fixed points %d, places equal under two seeds %d: not shuffled", fixedA, same)
	}
}

func TestShuffleDomain(t *testing.T) {
	cases := []struct {
		n uint64
		h uint8
	}{
		{0, 1}, {1, 1}, {2, 1}, {4, 1}, {5, 2}, {16, 2}, {17, 3}, {64, 3}, {65, 4},
		{1 << 20, 10}, {1<<20 + 1, 11}, {1850000, 11},
		{1 << 62, 31}, {1<<62 + 1, 32}, {math.MaxUint64, 32},
	}
	for _, c := range cases {
		s := NewShuffle(Seed{}, c.n)
		if s.h != c.h {
			t.Errorf("n=%d: half width %d, want %d", c.n, s.h, c.h)
		}
		// 4^h >= n and h minimal (or 1).
		if c.n > 0 && 2*int(s.h) < 64 && uint64(1)<<(2*s.h) < c.n {
			t.Errorf("n=%d: domain 4^%d too small", c.n, s.h)
		}
		if s.h > 1 && uint64(1)<<(2*(s.h-1)) >= c.n {
			t.Errorf("n=%d: domain 4^%d not the smallest", c.n, s.h)
		}
	}
}

func TestShuffleLargeN(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []uint64{1 << 32, 1<<32 + 1, 1 << 62, 1<<62 + 1, 1<<63 + 12345, math.MaxUint64} {
		s := NewShuffle(testSeed("large", n), n)
		for _, i := range []uint64{0, 1, n / 2, n - 2, n - 1, rng.Uint64N(n), rng.Uint64N(n)} {
			p := s.Place(i)
			if p >= n {
				t.Fatalf("n=%d: Place(%d) = %d out of range", n, i, p)
			}
			if got := s.Index(p); got != i {
				t.Fatalf("n=%d: Index(Place(%d)) = %d", n, i, got)
			}
			if got := s.Place(s.Index(i)); got != i {
				t.Fatalf("n=%d: Place(Index(%d)) = %d", n, i, got)
			}
		}
	}
}

func TestShufflePanicsOutOfRange(t *testing.T) {
	for _, c := range []struct {
		n, i uint64
	}{{0, 0}, {1, 1}, {10, 10}, {10, math.MaxUint64}} {
		s := NewShuffle(Seed{}, c.n)
		for name, f := range map[string]func(uint64) uint64{"Place": s.Place, "Index": s.Index} {
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("n=%d: %s(%d) did not panic", c.n, name, c.i)
					}
				}()
				f(c.i)
			}()
		}
	}
	var zero Shuffle
	if zero.N() != 0 || len(Order(Seed{}, 0)) != 0 {
		t.Fatal("zero shuffle is not empty")
	}
}

// referencePlace recomputes Place straight from the construction written
// in the Shuffle doc comment, independently of the package's code, so the
// documentation an auditor follows and the code cannot drift apart.
func referencePlace(seed Seed, n, index uint64) uint64 {
	h := uint(1)
	for (uint64(1)<<(2*h)) < n && 2*h < 64 {
		h++
	}
	f := func(r int, v uint64) uint64 {
		hh := sha256.New()
		hh.Write(seed[:])
		hh.Write([]byte{byte(h), byte(r)})
		var vb [8]byte
		binary.BigEndian.PutUint64(vb[:], v)
		hh.Write(vb[:])
		return binary.BigEndian.Uint64(hh.Sum(nil)[:8]) % (1 << h)
	}
	rounds := 8
	if n <= 256 {
		rounds = 16
	}
	x := index
	for {
		l, r := x>>h, x%(1<<h)
		for round := 0; round < rounds; round++ {
			l, r = r, l^f(round, r)
		}
		x = l<<h | r
		if x < n {
			return x
		}
	}
}

func TestShuffleMatchesDocumentedConstruction(t *testing.T) {
	for _, n := range []uint64{1, 2, 5, 100, 256, 257, 65537, 1850000, 1<<40 + 3} {
		seed := testSeed("reference", n)
		s := NewShuffle(seed, n)
		for i := uint64(0); i < n && i < 200; i++ {
			if got, want := s.Place(i), referencePlace(seed, n, i); got != want {
				t.Fatalf("n=%d: Place(%d) = %d, documented construction gives %d", n, i, got, want)
			}
		}
	}
}

// TestShuffleGolden pins the construction: a change here changes every
// published line and breaks audits of past openings.
func TestShuffleGolden(t *testing.T) {
	seed, err := ParseSeed("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(Order(seed, 10))
	const want = "[4 1 7 9 6 0 2 3 8 5]"
	if got != want {
		t.Fatalf("Order(seed, 10) = %s, want %s", got, want)
	}
}

// permStats accumulates, over many permutations of [0, n), how often element
// i lands at place p and how often element i is placed before element j.
type permStats struct {
	n      int
	seeds  int
	cell   []int // cell[i*n+p]
	before []int // before[i*n+j]: Place(i) < Place(j)
}

func newPermStats(n int) *permStats {
	return &permStats{n: n, cell: make([]int, n*n), before: make([]int, n*n)}
}

// add records one permutation given as place[i].
func (st *permStats) add(place []uint64) {
	st.seeds++
	for i, p := range place {
		st.cell[i*st.n+int(p)]++
		for j, q := range place {
			if p < q {
				st.before[i*st.n+j]++
			}
		}
	}
}

// positionChiSquare returns Pearson's X² over the n×n table of (element,
// place) counts, scaled by (n-1)/n. Every permutation puts exactly one
// element in each row and column, so for uniformly random permutations the
// cells are not independent multinomial counts: the covariance of the
// table is Q/(n-1) with Q the projection onto tables with zero row and
// column sums, so X² ~ n/(n-1) · χ²((n-1)²) asymptotically. The scaled
// statistic is compared with χ²((n-1)²).
func (st *permStats) positionChiSquare() float64 {
	e := float64(st.seeds) / float64(st.n)
	x2 := 0.0
	for _, o := range st.cell {
		d := float64(o) - e
		x2 += d * d / e
	}
	return x2 * float64(st.n-1) / float64(st.n)
}

// worstPairZ returns the largest |z| over pairs i < j of the count of
// permutations placing i before j, against Binomial(seeds, 1/2).
func (st *permStats) worstPairZ() (z float64, i, j int) {
	sd := math.Sqrt(float64(st.seeds) / 4)
	for a := 0; a < st.n; a++ {
		for b := a + 1; b < st.n; b++ {
			d := math.Abs(float64(st.before[a*st.n+b])-float64(st.seeds)/2) / sd
			if d > z {
				z, i, j = d, a, b
			}
		}
	}
	return z, i, j
}

// uniformCases are the line lengths whose shuffles are tested for
// uniformity, one per small domain size (h = 1, 2, 3), where Feistel
// networks are weakest. The critical values are for p = 0.001: chi2 is the
// upper χ² quantile for (n-1)² degrees of freedom, computed with mpmath
// (gammainc(df/2, 0, x/2, regularized=True) = 0.999); pairZ is the
// two-sided normal quantile for 0.001 / (number of pairs), a Bonferroni
// bound, so each family of pair tests has a false-alarm rate of at most
// 0.001. The seeds come from a counter, so the outcome is reproducible.
var uniformCases = []struct {
	n, seeds int
	chi2     float64 // df = (n-1)²
	pairZ    float64 // pairs = n(n-1)/2
}{
	{3, 20000, 18.4668, 3.5879},   // df 4, 3 pairs
	{8, 20000, 85.3506, 4.1336},   // df 49, 28 pairs (64 cells, 2500 expected in each)
	{20, 20000, 449.7627, 4.5540}, // df 361, 190 pairs (1000 expected per cell)
}

func shuffleStats(n, seeds int, perm func(k uint64) []uint64) *permStats {
	st := newPermStats(n)
	for k := uint64(0); k < uint64(seeds); k++ {
		st.add(perm(k))
	}
	return st
}

// TestShuffleUniform checks that the shuffle is statistically uniform: over
// thousands of seeds, each element is equally likely at each place (χ² test) and
// each element is placed before each other one half of the time.
func TestShuffleUniform(t *testing.T) {
	for _, c := range uniformCases {
		st := shuffleStats(c.n, c.seeds, func(k uint64) []uint64 {
			seed := testSeed("uniform", k)
			order := Order(seed, uint64(c.n))
			place := make([]uint64, c.n)
			for p, i := range order {
				place[i] = uint64(p)
			}
			if k < 50 { // Order is cross-checked against Place elsewhere too
				s := NewShuffle(seed, uint64(c.n))
				for i, p := range place {
					if s.Place(uint64(i)) != p {
						t.Fatalf("n=%d seed %d: Order and Place disagree on %d", c.n, k, i)
					}
				}
			}
			return place
		})
		x2 := st.positionChiSquare()
		z, i, j := st.worstPairZ()
		t.Logf("n=%d, %d seeds: position χ² (scaled, %d df) = %.2f (critical %.2f); worst pair (%d,%d) |z| = %.2f (critical %.2f)",
			c.n, c.seeds, (c.n-1)*(c.n-1), x2, c.chi2, i, j, z, c.pairZ)
		if x2 > c.chi2 {
			t.Errorf("n=%d: place of element is not uniform: χ² = %.2f > %.2f", c.n, x2, c.chi2)
		}
		if z > c.pairZ {
			t.Errorf("n=%d: element %d placed before element %d %d times out of %d: |z| = %.2f > %.2f",
				c.n, i, j, st.before[i*c.n+j], c.seeds, z, c.pairZ)
		}
	}
}

// TestShuffleUniformTestHasPower runs the statistics of TestShuffleUniform
// on two known-bad shuffles, to show that the test can fail: the naive
// "swap with any position" shuffle (biased places), and a random rotation
// (uniform places, but element i precedes i+1 far more than half the time).
func TestShuffleUniformTestHasPower(t *testing.T) {
	c := uniformCases[1] // n = 8
	naive := shuffleStats(c.n, c.seeds, func(k uint64) []uint64 {
		rng := rand.New(rand.NewPCG(k, 1))
		place := []uint64{0, 1, 2, 3, 4, 5, 6, 7}
		for i := range place {
			j := rng.IntN(len(place))
			place[i], place[j] = place[j], place[i]
		}
		return place
	})
	if x2 := naive.positionChiSquare(); x2 <= c.chi2 {
		t.Errorf("naive shuffle passed the position test: χ² = %.2f", x2)
	}
	rotation := shuffleStats(c.n, c.seeds, func(k uint64) []uint64 {
		off := uint64(rand.New(rand.NewPCG(k, 2)).IntN(c.n))
		place := make([]uint64, c.n)
		for i := range place {
			place[i] = (uint64(i) + off) % uint64(c.n)
		}
		return place
	})
	if x2 := rotation.positionChiSquare(); x2 > c.chi2 {
		t.Errorf("rotation failed the position test (χ² = %.2f): it should pass it", x2)
	}
	if z, _, _ := rotation.worstPairZ(); z <= c.pairZ {
		t.Errorf("rotation passed the pair test: |z| = %.2f", z)
	}
}

// TestShuffleAudit plays the commit-reveal-audit protocol: the room
// publishes the commitment before opening and the seed after; an auditor
// checks the seed against the commitment and recomputes the whole line,
// which must agree with the place the room gave every early arrival.
func TestShuffleAudit(t *testing.T) {
	seed, err := NewSeed(nil)
	if err != nil {
		t.Fatal(err)
	}
	commitment := seed.Commitment() // published before opening
	const early = 5000              // E, fixed at opening
	room := NewShuffle(seed, early)

	published := seed.String() // after opening
	revealed, err := ParseSeed(published)
	if err != nil {
		t.Fatal(err)
	}
	if !VerifyCommitment(revealed, commitment) {
		t.Fatal("revealed seed does not match its commitment")
	}
	line := Order(revealed, early)
	for i := uint64(0); i < early; i++ {
		p := room.Place(i)
		if line[p] != i {
			t.Fatalf("auditor finds %d at place %d, room placed %d there", line[p], p, i)
		}
	}
	// A room that swapped in another seed after the fact is caught.
	other, _ := NewSeed(nil)
	if VerifyCommitment(other, commitment) {
		t.Fatal("a different seed verifies against the commitment")
	}
}

func TestCommitment(t *testing.T) {
	seed := testSeed("commit", 0)
	sum := sha256.Sum256(seed[:])
	c := seed.Commitment()
	if c != hex.EncodeToString(sum[:]) {
		t.Fatalf("Commitment = %s, want SHA-256 of the seed bytes", c)
	}
	if !VerifyCommitment(seed, c) || !VerifyCommitment(seed, strings.ToUpper(c)) {
		t.Fatal("commitment of the seed refused")
	}
	flipped := seed
	flipped[31] ^= 1
	for _, bad := range []string{"", c[:63], c + "0", "zz" + c[2:], strings.Repeat("0", 64), flipped.Commitment(), seed.String()} {
		if VerifyCommitment(seed, bad) {
			t.Errorf("VerifyCommitment accepted %q", bad)
		}
	}
}

func TestSeed(t *testing.T) {
	a, err := NewSeed(nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewSeed(nil)
	if a == b || a == (Seed{}) {
		t.Fatal("crypto/rand seeds repeat or are zero")
	}
	fixed, err := NewSeed(bytes.NewReader(bytes.Repeat([]byte{7}, 40)))
	if err != nil || fixed != Seed(bytes.Repeat([]byte{7}, 32)) {
		t.Fatalf("NewSeed(reader) = %v, %v", fixed, err)
	}
	if _, err := NewSeed(bytes.NewReader(make([]byte, 31))); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("short reader: err = %v", err)
	}
	if _, err := NewSeed(iotest.ErrReader(errors.New("boom"))); err == nil {
		t.Fatal("failing reader: no error")
	}

	s := a.String()
	if len(s) != 64 || strings.ToLower(s) != s {
		t.Fatalf("String = %q", s)
	}
	for _, in := range []string{s, strings.ToUpper(s)} {
		if got, err := ParseSeed(in); err != nil || got != a {
			t.Fatalf("ParseSeed(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", s[:63], s + "0", "g" + s[1:], " " + s[1:], "0x" + s[2:]} {
		if _, err := ParseSeed(bad); err == nil {
			t.Errorf("ParseSeed(%q) accepted", bad)
		}
	}
}

func TestShuffleStringHidesSeed(t *testing.T) {
	seed := testSeed("secret", 0)
	s := NewShuffle(seed, 10)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb, s)
		if strings.Contains(out, seed.String()) || strings.Contains(out, fmt.Sprint(seed[:4])) || !strings.Contains(out, "10") {
			t.Errorf("%s of a Shuffle = %q", verb, out)
		}
	}
}

// FuzzShuffle checks, for any seed and n, that Place lands in [0, n) and
// Index inverts it (both ways), and for small n that Order is a
// permutation.
func FuzzShuffle(f *testing.F) {
	f.Add([]byte{}, uint64(1), uint64(0))
	f.Add([]byte("seed"), uint64(8), uint64(7))
	f.Add(bytes.Repeat([]byte{0xff}, 32), uint64(65537), uint64(65536))
	f.Add([]byte{1, 2, 3}, uint64(1850000), uint64(123456))
	f.Add([]byte{9}, uint64(1<<62+1), uint64(1<<62))
	f.Add([]byte{}, uint64(math.MaxUint64), uint64(math.MaxUint64-1))
	f.Fuzz(func(t *testing.T, seedBytes []byte, n, i uint64) {
		var seed Seed
		copy(seed[:], seedBytes)
		if n == 0 {
			if len(Order(seed, 0)) != 0 {
				t.Fatal("Order(seed, 0) not empty")
			}
			return
		}
		i %= n
		s := NewShuffle(seed, n)
		p := s.Place(i)
		if p >= n {
			t.Fatalf("Place(%d) = %d, n = %d", i, p, n)
		}
		if got := s.Index(p); got != i {
			t.Fatalf("Index(Place(%d)) = %d", i, got)
		}
		if got := s.Place(s.Index(i)); got != i {
			t.Fatalf("Place(Index(%d)) = %d", i, got)
		}
		if n <= 64 {
			seen := uint64(0)
			for p, idx := range Order(seed, n) {
				if seen&(1<<idx) != 0 {
					t.Fatalf("Order repeats %d", idx)
				}
				seen |= 1 << idx
				if s.Place(idx) != uint64(p) {
					t.Fatalf("Order puts %d at %d, Place says %d", idx, p, s.Place(idx))
				}
			}
		}
	})
}

func FuzzParseSeed(f *testing.F) {
	f.Add("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	f.Add("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F")
	f.Add("")
	f.Add("xyz")
	f.Fuzz(func(t *testing.T, s string) {
		seed, err := ParseSeed(s)
		if err != nil {
			return
		}
		if seed.String() != strings.ToLower(s) {
			t.Fatalf("ParseSeed(%q).String() = %q", s, seed.String())
		}
		if !VerifyCommitment(seed, seed.Commitment()) {
			t.Fatal("own commitment refused")
		}
	})
}

func BenchmarkShufflePlace(b *testing.B) {
	const n = 1850000 // the July 2021 rush: 1.85 million people
	s := NewShuffle(testSeed("bench", 0), n)
	b.ReportAllocs()
	i := uint64(0)
	for b.Loop() {
		s.Place(i)
		i++
		if i == n {
			i = 0
		}
	}
}

func BenchmarkShuffleIndex(b *testing.B) {
	const n = 1850000
	s := NewShuffle(testSeed("bench", 0), n)
	b.ReportAllocs()
	i := uint64(0)
	for b.Loop() {
		s.Index(i)
		i++
		if i == n {
			i = 0
		}
	}
}

// BenchmarkOrder is an auditor recomputing the whole line of the July 2021
// rush (1.85 million early arrivals) from the published seed.
func BenchmarkOrder(b *testing.B) {
	const n = 1850000
	seed := testSeed("bench", 0)
	b.ReportAllocs()
	for b.Loop() {
		Order(seed, n)
	}
}
