package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/internal/redistest"
)

// partitionConfig offers 3 regions of unequal size, split into
// partitions.
func partitionConfig(c *config) {
	groups, err := parseSlotGroups("seoul=4x5,busan/haeundae=2x5,jeju=1x5")
	if err != nil {
		panic(err)
	}
	if c.Slots, err = expandSlots(groups); err != nil {
		panic(err)
	}
	c.Partition = true
	c.Namespace = "parts" // instances behind one balancer share it
	c.Rate = 700
	c.MaxActive = 70
}

// TestPartitionedServer: with -partition each region is its own slots
// campaign and waiting room; a person sees, holds and books only in the
// region they are routed to, from any instance; the regions' limits add up
// to the server's; the operator sees every region and every slot.
func TestPartitionedServer(t *testing.T) {
	ts := newTestServer(t, partitionConfig)
	s := ts.s
	if len(s.parts) != 3 || s.partitions == nil {
		t.Fatalf("%d parts", len(s.parts))
	}
	var rate, burst, cp int
	for _, p := range s.parts {
		if got := p.rooms[0].Name(); !strings.HasSuffix(got, "."+p.name) || string(p.campaign) != "booking."+p.name {
			t.Errorf("part %s: room %q, campaign %q", p.name, got, p.campaign)
		}
		rate, burst, cp = rate+p.limits.Rate, burst+p.limits.Burst, cp+p.limits.Cap
	}
	if rate != 700 || cp != 70 || burst < 12 {
		t.Errorf("limits add up to rate %d, burst %d, cap %d; want 700, >= 12, 70", rate, burst, cp)
	}
	if s.parts[0].limits.Rate != 400 || s.parts[1].limits.Rate != 200 || s.parts[2].limits.Rate != 100 {
		t.Errorf("rates %d, %d, %d: want them in proportion to places 20:10:5", s.parts[0].limits.Rate, s.parts[1].limits.Rate, s.parts[2].limits.Rate)
	}

	// A second instance with the same secret and slots routes everyone
	// the same way.
	other := newTestServer(t, partitionConfig)
	seen := map[string]int{}
	for i := range 300 {
		sess := session{Name: fmt.Sprintf("Person %d", i), BirthDate: "1966-01-01"}
		a, b := s.partOf(sess), other.s.partOf(sess)
		if a.name != b.name {
			t.Fatalf("%s routed to %s here and %s there", sess.Name, a.name, b.name)
		}
		seen[a.name]++
	}
	if seen["seoul"] < seen["busan"] || seen["busan"] < seen["jeju"] || seen["jeju"] == 0 {
		t.Errorf("routing %v does not follow the places 20:10:5", seen)
	}

	ts.setTime(ts.opensAt())
	var people []*client
	for i := range 40 {
		c := ts.newClient()
		c.signIn(fmt.Sprintf("Person %d", i), "1966-01-01")
		people = append(people, c)
	}
	booked := map[string]int{}
	for i, c := range people {
		sess := session{Name: fmt.Sprintf("Person %d", i), BirthDate: "1966-01-01"}
		home := s.partOf(sess)
		elig := c.must(http.StatusOK, "GET", "/api/eligibility", nil)
		if elig["partition"] != home.name {
			t.Fatalf("eligibility says partition %v, routing %s", elig["partition"], home.name)
		}
		state := c.must(http.StatusOK, "POST", "/api/queue/join", nil)["state"]
		for n := 0; (state == "waiting" || state == "admitted" && c.pass == "") && n < 100; n++ {
			ts.setTime(ts.clk.Now().Add(time.Second))
			state = c.status()["state"]
		}
		if state == "sold_out" {
			booked[home.name+" sold out"]++
			continue
		}
		if c.pass == "" {
			t.Fatalf("person %d: %v, not admitted", i, state)
		}
		list := c.must(http.StatusOK, "GET", "/api/slots", nil, "Authorization", "Bearer "+c.pass)["slots"].([]any)
		if len(list) != len(home.slots) {
			t.Fatalf("%d slots shown, %d in %s", len(list), len(home.slots), home.name)
		}
		// Another region's slot is not on offer to this person.
		for _, p := range s.parts {
			if p != home {
				r := c.do("POST", "/api/holds", map[string]string{"slot": p.slots[0].ID}, "Authorization", "Bearer "+c.pass)
				if r.Status != http.StatusUnprocessableEntity {
					t.Fatalf("hold in another region: %s", r)
				}
			}
		}
		var free string
		for _, x := range list {
			if m := x.(map[string]any); m["left"].(float64) > 0 {
				free = m["id"].(string)
				break
			}
		}
		if free == "" {
			continue // the region is sold out
		}
		h := c.must(http.StatusCreated, "POST", "/api/holds", map[string]string{"slot": free}, "Authorization", "Bearer "+c.pass)["hold"].(map[string]any)
		c.must(http.StatusOK, "POST", "/api/holds/"+h["id"].(string)+"/confirm", nil, "Authorization", "Bearer "+c.pass)
		booked[home.name]++
	}
	// The operator's figures: every region and every slot.
	st := ts.newClient().must(http.StatusOK, "GET", "/api/operator/stats", nil, "Authorization", "Operator "+s.operatorToken())
	parts, _ := st["partitions"].([]any)
	slotList, _ := st["slots"].([]any)
	if len(parts) != 3 || len(slotList) != len(s.slots) {
		t.Fatalf("stats: %d partitions, %d slots", len(parts), len(slotList))
	}
	total := 0
	for _, x := range slotList {
		m := x.(map[string]any)
		total += int(m["booked"].(float64))
		if !strings.HasPrefix(m["id"].(string), m["partition"].(string)) {
			t.Errorf("slot %v in partition %v", m["id"], m["partition"])
		}
	}
	want := 0
	for _, p := range s.parts {
		want += booked[p.name]
	}
	if total != want || want == 0 || booked["jeju sold out"] == 0 {
		t.Errorf("operator counts %d bookings, the people made %d", total, want)
	}
	room := st["room"].(map[string]any)
	if room["rate_limit_per_minute"].(float64) != 700 {
		t.Errorf("the opening's rate %v, want the regions' 700", room["rate_limit_per_minute"])
	}

	// Limits for the whole opening are shared out over the regions.
	op := ts.newClient()
	got := op.must(http.StatusOK, "POST", "/api/operator/limits", map[string]int{"rate_per_minute": 350, "burst": 30, "cap": 35}, "Authorization", "Operator "+s.operatorToken())
	if got["rate_per_minute"].(float64) != 350 || got["cap"].(float64) != 35 || got["burst"].(float64) != 30 {
		t.Errorf("limits in force %v", got)
	}
	if r := op.do("POST", "/api/operator/limits", map[string]int{"rate_per_minute": 2}, "Authorization", "Operator "+s.operatorToken()); r.Status != http.StatusUnprocessableEntity {
		t.Errorf("a rate below one per region: %s", r)
	}
}

// TestPartitionedCluster: on a 3-master Redis Cluster the regions' hash
// tags spread over more than one shard, and two instances on the Cluster
// serve one line per region.
func TestPartitionedCluster(t *testing.T) {
	cl := redistest.StartCluster(t, redistest.Options{})
	rdb := cl.Client()
	mod := func(c *config) {
		redisConfig(rdb)(c)
		partitionConfig(c)
		c.Namespace = "cluster-part"
	}
	a, b := newTestServer(t, mod), newTestServer(t, mod)
	shards := map[string]bool{}
	for _, p := range a.s.parts {
		slot, err := rdb.ClusterKeySlot(t.Context(), "{"+string(p.campaign)+"}").Result()
		if err != nil {
			t.Fatal(err)
		}
		shards[fmt.Sprint(slot*3/16384)] = true
	}
	if len(shards) < 2 {
		t.Logf("the 3 regions share one shard (hash slots in one third): spreading is by chance with 3 regions")
	}
	for _, ts := range []*testServer{a, b} {
		ts.setTime(ts.opensAt())
	}
	// One person, joined on a, polled on b (no stickiness): the same place
	// and one pass for both instances.
	ca, cb := a.newClient(), b.newClient()
	ca.signIn("Han Ji-min", "1966-02-02")
	cb.signIn("Han Ji-min", "1966-02-02")
	j := ca.must(http.StatusOK, "POST", "/api/queue/join", nil)
	j2 := cb.must(http.StatusOK, "POST", "/api/queue/join", nil)
	if j["place"] != j2["place"] {
		t.Fatalf("places %v on a, %v on b", j["place"], j2["place"])
	}
	cb.admit()
	home := b.s.partOf(session{Name: "Han Ji-min", BirthDate: "1966-02-02"})
	h := ca.must(http.StatusCreated, "POST", "/api/holds", map[string]string{"slot": home.slots[0].ID}, "Authorization", "Bearer "+cb.pass)["hold"].(map[string]any)
	cb.must(http.StatusOK, "POST", "/api/holds/"+h["id"].(string)+"/confirm", nil, "Authorization", "Bearer "+cb.pass)
	// The other device cannot take a second place, on either instance.
	for _, c := range []*client{ca, cb} {
		for _, p := range a.s.parts {
			r := c.do("POST", "/api/holds", map[string]string{"slot": p.slots[len(p.slots)-1].ID}, "Authorization", "Bearer "+cb.pass)
			if r.Status != http.StatusConflict && r.Status != http.StatusUnprocessableEntity {
				t.Errorf("second hold in %s: %s", p.name, r)
			}
		}
	}
}

// TestSlotsFromFlagAndFile: -slots and a campaign file with slots give the
// same slots; bad groups are refused with the flag's name.
func TestSlotsFromFlagAndFile(t *testing.T) {
	cfg, err := parseFlags([]string{"-slots", "seoul=2x50,busan/haeundae=1x30"}, new(strings.Builder))
	if err != nil {
		t.Fatal(err)
	}
	want := []slotSpec{
		{ID: "seoul-0001", Label: "seoul, #1", Capacity: 50, Region: "seoul"},
		{ID: "seoul-0002", Label: "seoul, #2", Capacity: 50, Region: "seoul"},
		{ID: "busan-haeundae-0001", Label: "busan-haeundae, #1", Capacity: 30, Region: "busan"},
	}
	if fmt.Sprint(cfg.Slots) != fmt.Sprint(want) {
		t.Errorf("slots %v, want %v", cfg.Slots, want)
	}
	if _, err := parseFlags([]string{"-pass-for", "10s"}, new(strings.Builder)); err == nil || !strings.Contains(err.Error(), "-pass-for") {
		t.Errorf("-pass-for 10s: %v", err)
	}
	if _, err := parseFlags([]string{"-opens-at", "tomorrow"}, new(strings.Builder)); err == nil || !strings.Contains(err.Error(), "-opens-at") {
		t.Errorf("-opens-at tomorrow: %v", err)
	}
	for _, bad := range []string{"seoul", "seoul=0x5", "seoul=2x0", "se.oul=1x1", "seoul=1x1,seoul=1x1"} {
		if _, err := parseFlags([]string{"-slots", bad}, new(strings.Builder)); err == nil {
			t.Errorf("-slots %q accepted", bad)
		}
	}

	elig, err := os.ReadFile(koreaFile)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "campaign.json")
	doc := `{"eligibility": ` + string(elig) + `, "slots": [{"region": "seoul", "count": 2, "capacity": 50}, {"region": "busan", "site": "haeundae", "count": 1, "capacity": 30}]}`
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, func(c *config) { c.CampaignFile = file; c.Partition = true })
	if fmt.Sprint(ts.s.slots) != fmt.Sprint(want) || len(ts.s.parts) != 2 {
		t.Errorf("file slots %v in %d parts", ts.s.slots, len(ts.s.parts))
	}
	// A file with slots and the flag too: refused.
	if _, err := newServer(func() config { c := defaultConfig(); c.CampaignFile = file; c.Slots = want; return c }()); err == nil {
		t.Error("slots from both the flag and the file accepted")
	}
	bad := strings.Replace(doc, `"count": 2`, `"count": 0`, 1)
	os.WriteFile(file, []byte(bad), 0o600)
	if _, err := newServer(func() config { c := defaultConfig(); c.CampaignFile = file; return c }()); err == nil {
		t.Error("a group of 0 slots accepted")
	}
	// -partition needs regions: the demo slots have none.
	if _, err := newServer(func() config { c := defaultConfig(); c.Partition = true; return c }()); err == nil {
		t.Error("-partition over the demo slots accepted")
	}
}
