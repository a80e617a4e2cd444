package main

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse-go/gatehouse/eligibility"
	"github.com/gatehouse-go/gatehouse/window"
)

// campaign is what the server serves: who may book when (the eligibility
// campaign), and the schedule the gate follows, derived from it.
type campaign struct {
	elig     *eligibility.Campaign
	name     string
	zone     *time.Location
	schedule window.Schedule
	cohorts  []cohortInfo
	// slots are the campaign file's slots, if it has any.
	slots []slotSpec
}

// cohortInfo describes a cohort on the landing page.
type cohortInfo struct {
	Name    string
	Rule    string
	Windows []window.Window
}

// demoZone is the built-in campaign's zone: Seoul, where the July 2021
// failures happened, so that a visitor elsewhere sees times as the campaign
// publishes them, not in their own zone.
const demoZone = "Asia/Seoul"

// loadCampaign builds the campaign from cfg: the eligibility campaign file
// cfg.CampaignFile, or the demo campaign whose waiting room opens at now and
// whose booking opens cfg.OpensIn later.
func loadCampaign(cfg config, now time.Time) (*campaign, error) {
	if cfg.CampaignFile == "" {
		return demoCampaign(cfg, now)
	}
	ec, list, err := readCampaignFile(cfg.CampaignFile)
	if err != nil {
		return nil, err
	}
	c, err := fromEligibility(ec, cfg.PreQueue)
	if err != nil {
		return nil, err
	}
	c.slots = list
	return c, nil
}

func demoCampaign(cfg config, now time.Time) (*campaign, error) {
	zone := window.MustLoadZone(demoZone)
	start := now.Truncate(time.Second).In(zone)
	opens := start.Add(cfg.OpensIn)
	if !cfg.OpensAt.IsZero() {
		opens = cfg.OpensAt.In(zone)
	}
	booking, err := window.New(opens, opens.Add(cfg.OpenFor))
	if err != nil {
		return nil, fmt.Errorf("%w: demo campaign: %w", errConfig, err)
	}
	ec, err := eligibility.New(eligibility.Config{
		Name:        "Demo vaccination booking",
		Description: "Everyone aged 18 or over on the day booking opens.",
		Zone:        demoZone,
		Cohorts: []eligibility.Cohort{{
			Name:        "Adults",
			Description: "Aged 18 or over on the day booking opens.",
			Rule:        eligibility.AgeBetween(18, 200, eligibility.Date{}),
			Windows:     []window.Window{booking},
		}},
	})
	if err != nil {
		return nil, fmt.Errorf("%w: demo campaign: %w", errConfig, err)
	}
	// The waiting room opens at start: OpensIn ahead of booking.
	return fromEligibility(ec, opens.Sub(start))
}

// fromEligibility derives the gate's schedule from the campaign's windows:
// windows that overlap or touch become one opening, and each opening's
// waiting room opens preQueue before it (less if the previous opening ends
// closer than that).
func fromEligibility(ec *eligibility.Campaign, preQueue time.Duration) (*campaign, error) {
	cc := ec.Config()
	zone := ec.Zone()
	c := &campaign{elig: ec, name: ec.Name(), zone: zone}
	var all []window.Window
	for _, co := range cc.Cohorts {
		info := cohortInfo{Name: co.Name, Rule: co.Description}
		for _, w := range co.Windows {
			info.Windows = append(info.Windows, w.In(zone))
			all = append(all, w)
		}
		slices.SortFunc(info.Windows, func(a, b window.Window) int { return a.Start.Compare(b.Start) })
		c.cohorts = append(c.cohorts, info)
	}
	slices.SortFunc(all, func(a, b window.Window) int {
		return cmp.Or(a.Start.Compare(b.Start), a.End.Compare(b.End))
	})
	var merged []window.Window
	for _, w := range all {
		if n := len(merged); n > 0 && !w.Start.After(merged[n-1].End) {
			if w.End.After(merged[n-1].End) {
				merged[n-1].End = w.End
			}
			continue
		}
		merged = append(merged, w)
	}
	sched := window.Schedule{Zone: zone}
	var prevEnd time.Time
	for _, w := range merged {
		pq := w.Start.Add(-preQueue)
		if !prevEnd.IsZero() && pq.Before(prevEnd) {
			pq = prevEnd
		}
		o := window.Opening{Booking: w.In(zone)}
		if pq.Before(w.Start) {
			o.PreQueue = pq.In(zone)
		}
		sched.Openings = append(sched.Openings, o)
		prevEnd = w.End
	}
	if err := sched.Validate(); err != nil {
		return nil, fmt.Errorf("%w: campaign %q: %w", errConfig, ec.Name(), err)
	}
	c.schedule = sched
	return c, nil
}

// describeSchedule is the one-line schedule printed at start.
func (s *server) describeSchedule() string {
	st := s.camp.schedule.At(s.clk.Now())
	if st.OpensAt.IsZero() {
		return "the campaign is closed"
	}
	return fmt.Sprintf("phase %s; booking opens %s, closes %s", st.Phase,
		st.OpensAt.Format(time.RFC3339), st.ClosesAt.Format(time.RFC3339))
}

// openingAt is the index of the opening that the schedule's state at now is
// about (the current or next one), or -1 once every opening is over.
func (s *server) openingAt(now time.Time) int {
	st := s.camp.schedule.At(now)
	if st.OpensAt.IsZero() {
		return -1
	}
	for i, o := range s.camp.schedule.Openings {
		if o.Booking.Start.Equal(st.OpensAt) {
			return i
		}
	}
	return -1
}
