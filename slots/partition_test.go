package slots

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

var testPartKey = []byte(strings.Repeat("k", 32))

func TestPartitionsRouteStableAndWeighted(t *testing.T) {
	parts := []Partition{{Name: "seoul", Weight: 5}, {Name: "busan", Weight: 3}, {Name: "jeju", Weight: 2}}
	p, err := NewPartitions("covid19", parts, PartitionOptions{Key: testPartKey})
	if err != nil {
		t.Fatal(err)
	}
	again, _ := NewPartitions("covid19", parts, PartitionOptions{Key: testPartKey})
	other, _ := NewPartitions("covid19", parts, PartitionOptions{Key: []byte(strings.Repeat("x", 32))})
	const n = 60000
	var count [3]int
	moved := 0
	for i := range n {
		person := fmt.Sprintf("person-%d", i)
		r := p.Route(person)
		if r2 := again.Route(person); r2 != r || p.Route(person) != r {
			t.Fatalf("%s routed to %d, then %d", person, r, r2)
		}
		if other.Route(person) != r {
			moved++
		}
		count[r]++
	}
	for i, pt := range parts {
		want := float64(n) * float64(pt.Weight) / 10
		// Binomial: 5 standard deviations.
		if sd := math.Sqrt(want * (1 - float64(pt.Weight)/10)); math.Abs(float64(count[i])-want) > 5*sd {
			t.Errorf("%s: %d people, want about %.0f", pt.Name, count[i], want)
		}
	}
	if moved < n/3 {
		t.Errorf("another key moved only %d of %d people: the key does not key the route", moved, n)
	}
	if got := p.At(1).Campaign; got != "covid19.busan" {
		t.Errorf("campaign %q", got)
	}
	if pt, i, ok := p.Get("jeju"); !ok || i != 2 || pt.Campaign != "covid19.jeju" {
		t.Errorf("Get(jeju) = %+v %d %v", pt, i, ok)
	}
	if _, _, ok := p.Get("daegu"); ok {
		t.Error("Get(daegu) found a partition that is not there")
	}
	if p.Of("person-1") != p.At(p.Route("person-1")) || p.Len() != 3 || p.Base() != "covid19" || len(p.List()) != 3 {
		t.Error("accessors disagree")
	}
}

func TestNewPartitionsRefuses(t *testing.T) {
	for name, c := range map[string]struct {
		base  Campaign
		parts []Partition
		key   []byte
	}{
		"no parts":       {"c", nil, testPartKey},
		"short key":      {"c", []Partition{{Name: "a", Weight: 1}}, []byte("short")},
		"bad name":       {"c", []Partition{{Name: "a.b", Weight: 1}}, testPartKey},
		"brace":          {"c", []Partition{{Name: "a}", Weight: 1}}, testPartKey},
		"zero weight":    {"c", []Partition{{Name: "a", Weight: 0}}, testPartKey},
		"twice":          {"c", []Partition{{Name: "a", Weight: 1}, {Name: "a", Weight: 2}}, testPartKey},
		"bad base":       {"c{x}", []Partition{{Name: "a", Weight: 1}}, testPartKey},
		"campaign long":  {Campaign(strings.Repeat("c", MaxCampaignLen-2)), []Partition{{Name: "abc", Weight: 1}}, testPartKey},
		"weights beyond": {"c", []Partition{{Name: "a", Weight: 1 << 41}}, testPartKey},
	} {
		if _, err := NewPartitions(c.base, c.parts, PartitionOptions{Key: c.key}); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}
