package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-go/gatehouse/admission"
	"github.com/gatehouse-go/gatehouse/eligibility"
	"github.com/gatehouse-go/gatehouse/slots"
)

// Slots from the command line or the campaign file, and partitions.
//
// -slots REGION[/SITE]=COUNTxCAPACITY,... offers COUNT slots of CAPACITY
// places in each group (seoul=40x50,busan/haeundae=20x50); a campaign file
// may carry the same as {"eligibility": {...the campaign...}, "slots":
// [{"region", "site", "label", "count", "capacity"}]}. With -partition the
// campaign is split by region: each region is a slots campaign of its own
// ("booking.<region>", its own Redis hash tag) with its own waiting room
// per opening ("opening-1-<unix>.<region>"), so that one opening spreads
// over the shards of a Redis Cluster. The room's -rate, burst and
// -max-active are shared out over the regions in proportion to their places
// (admission.Limits.Split), so that the regions together admit what one
// room would. Each person books in one region only, the one
// slots.Partitions routes them to (a keyed hash of the person, weighted by
// places): one booking per person holds over the whole opening, on any
// instance. A real host would route by the region of residence it knows
// from its own records (which, like the hash, never changes for a person).

// slotGroup is one line of -slots or of the campaign file's "slots": count
// slots of capacity places, in a region (and a site within it).
type slotGroup struct {
	Region   string `json:"region"`
	Site     string `json:"site,omitempty"`
	Label    string `json:"label,omitempty"`
	Count    int    `json:"count"`
	Capacity int    `json:"capacity"`
}

// maxSlots bounds the slots one server offers (a slot list is shown whole).
const maxSlots = 100_000

var slotGroupRE = regexp.MustCompile(`^([A-Za-z0-9_-]{1,32})(?:/([A-Za-z0-9_-]{1,32}))?=([0-9]{1,6})x([0-9]{1,7})$`)

// parseSlotGroups reads -slots.
func parseSlotGroups(s string) ([]slotGroup, error) {
	var out []slotGroup
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		m := slotGroupRE.FindStringSubmatch(item)
		if m == nil {
			return nil, fmt.Errorf("%w: -slots %q: want REGION[/SITE]=COUNTxCAPACITY, e.g. seoul=40x50", errConfig, item)
		}
		n, _ := strconv.Atoi(m[3])
		c, _ := strconv.Atoi(m[4])
		out = append(out, slotGroup{Region: m[1], Site: m[2], Count: n, Capacity: c})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: -slots: no groups", errConfig)
	}
	return out, nil
}

// expandSlots turns groups into slots: IDs region[-site]-NNNN, in the order
// given. Errors name the group.
func expandSlots(groups []slotGroup) ([]slotSpec, error) {
	var out []slotSpec
	for i, g := range groups {
		if !partNameRE.MatchString(g.Region) || (g.Site != "" && !partNameRE.MatchString(g.Site)) {
			return nil, fmt.Errorf("%w: slots[%d]: region %q, site %q: 1 to 32 letters, digits, '_' or '-'", errConfig, i, g.Region, g.Site)
		}
		if g.Count < 1 || g.Capacity < 1 || len(out)+g.Count > maxSlots {
			return nil, fmt.Errorf("%w: slots[%d]: count %d, capacity %d: each at least 1, at most %d slots in all", errConfig, i, g.Count, g.Capacity, maxSlots)
		}
		prefix, label := g.Region, g.Label
		if g.Site != "" {
			prefix += "-" + g.Site
		}
		if label == "" {
			label = prefix
		}
		for n := 1; n <= g.Count; n++ {
			out = append(out, slotSpec{ID: fmt.Sprintf("%s-%04d", prefix, n), Label: fmt.Sprintf("%s, #%d", label, n),
				Capacity: g.Capacity, Region: g.Region})
		}
	}
	return out, nil
}

var partNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// serverFile is a campaign file with slots: the eligibility campaign, and
// the slots on offer.
type serverFile struct {
	Eligibility *eligibility.Campaign `json:"eligibility"`
	Slots       []slotGroup           `json:"slots"`
}

// readCampaignFile reads -campaign: an eligibility campaign, or a
// serverFile whose "eligibility" member is one (then with its slots).
func readCampaignFile(path string) (*eligibility.Campaign, []slotSpec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: -campaign: %w", errConfig, err)
	}
	var probe map[string]json.RawMessage
	if json.Unmarshal(data, &probe) == nil && probe["eligibility"] != nil {
		var f serverFile
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			return nil, nil, fmt.Errorf("%w: -campaign %s: %w", errConfig, path, err)
		}
		var list []slotSpec
		if len(f.Slots) > 0 {
			if list, err = expandSlots(f.Slots); err != nil {
				return nil, nil, fmt.Errorf("-campaign %s: %w", path, err)
			}
		}
		return f.Eligibility, list, nil
	}
	ec, err := eligibility.LoadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: -campaign: %w", errConfig, err)
	}
	return ec, nil, nil
}

// part is one partition of the campaign (the whole campaign when the
// server does not partition): its slots campaign, its slots, and its
// waiting room (and pacer) per opening.
type part struct {
	name     string // the region; "" when not partitioned
	campaign slots.Campaign
	places   int
	slots    []slotSpec
	limits   admission.Limits // its share of the room's limits
	rooms    []*admission.Room
	pacers   []*admission.Pacer
}

// initParts splits s.slots into parts: one per region with
// cfg.Partition, else one. The limits are shared out over them.
func (s *server) initParts(secret []byte) error {
	total := admission.Limits{Rate: s.cfg.Rate, Burst: max(1, (s.cfg.Rate+59)/60), Cap: s.cfg.MaxActive}
	if !s.cfg.Partition {
		p := &part{campaign: slotCampaign, slots: s.slots, limits: total}
		for _, sl := range s.slots {
			p.places += sl.Capacity
		}
		s.parts = []*part{p}
		return nil
	}
	byRegion := map[string]*part{}
	var list []slots.Partition
	for _, sl := range s.slots {
		if sl.Region == "" {
			return fmt.Errorf("%w: -partition: slot %q has no region (give the slots with -slots or the campaign file)", errConfig, sl.ID)
		}
		p := byRegion[sl.Region]
		if p == nil {
			p = &part{name: sl.Region}
			byRegion[sl.Region] = p
			s.parts = append(s.parts, p)
		}
		p.slots = append(p.slots, sl)
		p.places += sl.Capacity
	}
	for _, p := range s.parts {
		list = append(list, slots.Partition{Name: p.name, Weight: p.places})
	}
	var err error
	s.partitions, err = slots.NewPartitions(slotCampaign, list, slots.PartitionOptions{Key: deriveKey(secret, s.cfg.Namespace, "partition")})
	if err != nil {
		return fmt.Errorf("%w: -partition: %w", errConfig, err)
	}
	for i, p := range s.parts {
		p.campaign = s.partitions.At(i).Campaign
	}
	total.Burst = max(total.Burst, len(s.parts))
	shares, err := total.Split(s.partWeights())
	if err != nil {
		return fmt.Errorf("%w: -partition over %d regions: %w (raise -rate and -max-active)", errConfig, len(s.parts), err)
	}
	for i, p := range s.parts {
		p.limits = shares[i]
	}
	return nil
}

// partOf is the person's part: the one the partitions route them to.
func (s *server) partOf(sess session) *part {
	if s.partitions == nil {
		return s.parts[0]
	}
	return s.parts[s.partitions.Route(s.personID(sess))]
}

// campaignOf is the slots campaign the person books in.
func (s *server) campaignOf(sess session) slots.Campaign { return s.partOf(sess).campaign }

// roomFor is the waiting room of the person's part for the opening the
// schedule is about at now, or nil once every opening is over.
func (s *server) roomFor(now time.Time, sess session) *admission.Room {
	if i := s.openingAt(now); i >= 0 {
		return s.partOf(sess).rooms[i]
	}
	return nil
}

// partRoomName names part p's room of opening i.
func (p *part) roomName(i int, opening time.Time) string {
	n := roomName(i, opening)
	if p.name != "" {
		n += "." + p.name
	}
	return n
}

// partOfRequest is the part of the request's signed-in person; the first
// part when nobody is signed in (the pass check then refuses).
func (s *server) partOfRequest(r *http.Request) *part {
	if sess, err := s.readSession(r, s.clk.Now()); err == nil {
		return s.partOf(sess)
	}
	return s.parts[0]
}

// partOfCampaign is the part whose slots campaign is c, or nil.
func (s *server) partOfCampaign(c slots.Campaign) *part {
	for _, p := range s.parts {
		if p.campaign == c {
			return p
		}
	}
	return nil
}

// partitionFigures are one part's figures in the operator's stats.
type partitionFigures struct {
	Name     string       `json:"name"`
	Campaign string       `json:"campaign"`
	Places   int          `json:"places"`
	Room     *roomFigures `json:"room"`
}

// sumFigures adds a part's room figures into the whole opening's.
func sumFigures(into, f *roomFigures) {
	if f.Error != "" {
		into.Error = f.Error
		return
	}
	into.Joined += f.Joined
	if f.EarlyArrivals >= 0 && into.EarlyArrivals >= 0 {
		into.EarlyArrivals += f.EarlyArrivals
	} else {
		into.EarlyArrivals = -1
	}
	into.Waiting += f.Waiting
	into.Active += f.Active
	into.Admitted += f.Admitted
	into.AdmittedPerMin += f.AdmittedPerMin
	into.RateLimit += f.RateLimit
	into.Burst += f.Burst
	into.MaxActive += f.MaxActive
	into.MinRate += f.MinRate
	into.MaxRate += f.MaxRate
	into.Free += f.Free
	into.Held += f.Held
	into.SoldOut = into.SoldOut && f.SoldOut
	into.ETASamples += f.ETASamples
}

// setPartLimits shares l out over the parts' rooms of opening i, in
// proportion to their places, and sets each (the operator's limits for the
// whole opening). It returns the limits now in force, added up.
func (s *server) setPartLimits(ctx context.Context, i int, l admission.Limits) (admission.Limits, error) {
	shares, err := l.Split(s.partWeights())
	if err != nil {
		return admission.Limits{}, err
	}
	var sum admission.Limits
	for j, p := range s.parts {
		st, err := p.rooms[i].SetLimits(ctx, shares[j])
		if err != nil {
			return sum, err
		}
		sum = addLimits(sum, st.Limits)
	}
	return sum, nil
}

// partLimits reads the limits in force in the parts' rooms of opening i,
// added up.
func (s *server) partLimits(ctx context.Context, i int) (admission.Limits, error) {
	var sum admission.Limits
	for _, p := range s.parts {
		st, err := p.rooms[i].Stats(ctx)
		if err != nil {
			return sum, err
		}
		sum = addLimits(sum, st.Limits)
	}
	return sum, nil
}

func addLimits(a, b admission.Limits) admission.Limits {
	return admission.Limits{Rate: a.Rate + b.Rate, Burst: a.Burst + b.Burst, Cap: a.Cap + b.Cap,
		MinRate: a.MinRate + b.MinRate, MaxRate: a.MaxRate + b.MaxRate}
}

// partWeights are the parts' places, the weights their limits are shared
// out by.
func (s *server) partWeights() []int {
	w := make([]int, len(s.parts))
	for i, p := range s.parts {
		w[i] = p.places
	}
	return w
}
