package main

import (
	"fmt"
	"time"

	"github.com/gatehouse-go/gatehouse/window"
)

// campaign is what the server serves: a name, the zone its times are shown
// in, the schedule the gate follows, and who may book when.
type campaign struct {
	name     string
	zone     *time.Location
	schedule window.Schedule
	cohorts  []cohortInfo
	decide   func(birth time.Time, now time.Time) answer
}

// cohortInfo describes a cohort on the landing page.
type cohortInfo struct {
	Name    string
	Rule    string
	Windows []window.Window
}

// Eligibility answers, as the API spells them.
const (
	answerNotEligible = "not_eligible"
	answerOpensAt     = "opens_at"
	answerOpenUntil   = "open_until"
	answerClosed      = "closed"
)

// answer is the eligibility answer for one person at one instant.
type answer struct {
	Status   string    `json:"status"`
	Cohort   string    `json:"cohort,omitempty"`
	OpensAt  time.Time `json:"opens_at,omitzero"`
	ClosesAt time.Time `json:"closes_at,omitzero"`
}

// demoZone is the built-in campaign's zone: Seoul, where the July 2021
// failures happened, so a visitor elsewhere sees times in a zone not their
// own, as the campaign publishes them.
const demoZone = "Asia/Seoul"

// loadCampaign builds the campaign from cfg: the file named by
// cfg.CampaignFile, or the demo campaign whose waiting room opens at now and
// whose booking opens cfg.OpensIn later.
func loadCampaign(cfg config, now time.Time) (*campaign, error) {
	if cfg.CampaignFile != "" {
		return nil, fmt.Errorf("%w: -campaign: campaign files are not supported yet", errConfig)
	}
	return demoCampaign(cfg, now)
}

func demoCampaign(cfg config, now time.Time) (*campaign, error) {
	zone := window.MustLoadZone(demoZone)
	start := now.Truncate(time.Second).In(zone)
	booking, err := window.New(start.Add(cfg.OpensIn), start.Add(cfg.OpensIn+cfg.OpenFor))
	if err != nil {
		return nil, fmt.Errorf("%w: demo campaign: %w", errConfig, err)
	}
	sched := window.Schedule{Zone: zone, Openings: []window.Opening{{PreQueue: start, Booking: booking}}}
	if err := sched.Validate(); err != nil {
		return nil, fmt.Errorf("%w: demo campaign: %w", errConfig, err)
	}
	c := &campaign{
		name:     "Demo vaccination booking",
		zone:     zone,
		schedule: sched,
		cohorts: []cohortInfo{{
			Name:    "Adults",
			Rule:    "aged 18 or over on the day booking opens",
			Windows: []window.Window{booking.In(zone)},
		}},
	}
	opensDay := booking.Start.In(zone)
	c.decide = func(birth, now time.Time) answer {
		y, m, d := opensDay.Date()
		adultIfBornBy := time.Date(y-18, m, d, 0, 0, 0, 0, time.UTC)
		if birth.After(adultIfBornBy) {
			return answer{Status: answerNotEligible}
		}
		a := answer{Cohort: "Adults", OpensAt: booking.Start.In(zone), ClosesAt: booking.End.In(zone)}
		switch {
		case booking.Before(now):
			a.Status = answerOpensAt
		case booking.Contains(now):
			a.Status = answerOpenUntil
		default:
			a.Status = answerClosed
		}
		return a
	}
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
