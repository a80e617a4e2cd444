package slots

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"regexp"
)

// Partition is one part of a campaign split by the people (the "partition
// the people" case of docs/slots-partitioning.md): a campaign of its own,
// so under a hash tag of its own, which on a Redis Cluster may live on
// another shard than its siblings. Each person books in exactly one
// partition, so "one live hold or booking per person" holds over the whole
// opening although no script sees every partition.
type Partition struct {
	// Name names the partition (a region, a site): 1 to 32 ASCII
	// letters, digits, '_' and '-'.
	Name string
	// Weight is the partition's share of the people that
	// [Partitions.Route] sends to it: a person goes to partition i with
	// probability Weight[i] / sum(Weight). Give it the partition's places,
	// so that each partition's demand matches its supply. At least 1.
	Weight int
	// Campaign is the partition's campaign: the base campaign, '.', and
	// Name. NewPartitions sets it.
	Campaign Campaign
}

// PartitionOptions configure NewPartitions.
type PartitionOptions struct {
	// Key keys the hash that routes a person to a partition, so that
	// nobody can choose an identity to land in the partition of their
	// choice. At least 32 bytes; every instance needs the same key, or
	// people move between partitions.
	Key []byte
}

// Partitions splits one campaign into partitions and routes each person to
// one of them, stably: the same person, base, partition list, weights and
// key give the same partition on every instance, at every call. Changing
// any of them moves people between partitions, and a person who holds or
// booked in the old one could then book again in the new: fix them before
// the opening and never change them while it runs.
//
// Where the host knows each person's region from a record of its own (an
// address of residence checked by the authentication), it routes with
// that ([Partitions.Get]) and needs no hash; the record must then be a
// function of the identity, for the same reason.
//
// A Partitions is immutable and safe for concurrent use.
type Partitions struct {
	base   Campaign
	parts  []Partition
	cum    []uint64 // cum[i] = sum of the weights of parts[0..i]
	key    []byte
	byName map[string]int
}

var partitionNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// NewPartitions splits base into parts. Names must be valid and distinct,
// weights at least 1, and each partition's campaign (base + "." + Name) a
// valid Campaign. Errors wrap ErrInvalid.
func NewPartitions(base Campaign, parts []Partition, opts PartitionOptions) (*Partitions, error) {
	if err := base.Validate(); err != nil {
		return nil, err
	}
	if len(parts) == 0 {
		return nil, fmt.Errorf("%w: partitions: none given", ErrInvalid)
	}
	if len(opts.Key) < 32 {
		return nil, fmt.Errorf("%w: partitions: key of %d bytes, want at least 32", ErrInvalid, len(opts.Key))
	}
	p := &Partitions{base: base, key: append([]byte(nil), opts.Key...), byName: make(map[string]int, len(parts))}
	var total uint64
	for i, pt := range parts {
		switch {
		case !partitionNameRE.MatchString(pt.Name):
			return nil, fmt.Errorf("%w: partition %d: name %q: 1 to 32 letters, digits, '_' or '-'", ErrInvalid, i, pt.Name)
		case pt.Weight < 1:
			return nil, fmt.Errorf("%w: partition %q: weight %d, want at least 1", ErrInvalid, pt.Name, pt.Weight)
		}
		if _, dup := p.byName[pt.Name]; dup {
			return nil, fmt.Errorf("%w: partition %q twice", ErrInvalid, pt.Name)
		}
		pt.Campaign = base + "." + Campaign(pt.Name)
		if err := pt.Campaign.Validate(); err != nil {
			return nil, err
		}
		total += uint64(pt.Weight)
		if total > 1<<40 {
			return nil, fmt.Errorf("%w: partitions: weights sum beyond 2^40", ErrInvalid)
		}
		p.byName[pt.Name] = i
		p.parts = append(p.parts, pt)
		p.cum = append(p.cum, total)
	}
	return p, nil
}

// Base is the campaign the partitions split.
func (p *Partitions) Base() Campaign { return p.base }

// List returns the partitions in the order given to NewPartitions.
func (p *Partitions) List() []Partition { return append([]Partition(nil), p.parts...) }

// Len is the number of partitions.
func (p *Partitions) Len() int { return len(p.parts) }

// At returns partition i (0 <= i < Len).
func (p *Partitions) At(i int) Partition { return p.parts[i] }

// Get returns the partition called name, and its index.
func (p *Partitions) Get(name string) (Partition, int, bool) {
	i, ok := p.byName[name]
	if !ok {
		return Partition{}, -1, false
	}
	return p.parts[i], i, true
}

// Route returns the index of person's partition: a keyed hash of person
// (HMAC-SHA256 under PartitionOptions.Key) mapped onto the weights.
// Persons are any bytes; give the same stable identifier the Service
// calls get.
func (p *Partitions) Route(person string) int {
	m := hmac.New(sha256.New, p.key)
	m.Write([]byte(p.base))
	m.Write([]byte{0})
	m.Write([]byte(person))
	sum := m.Sum(nil)
	total := p.cum[len(p.cum)-1]
	// 64 uniform bits reduced onto [0, total): the bias is below
	// total / 2^64 <= 2^-24.
	x := binary.BigEndian.Uint64(sum[:8]) % total
	lo, hi := 0, len(p.cum)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if x < p.cum[mid] {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// Of returns person's partition (the one Route names).
func (p *Partitions) Of(person string) Partition { return p.parts[p.Route(person)] }
