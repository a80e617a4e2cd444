package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/window"
)

const koreaFile = "../../eligibility/testdata/korea-2021-07.json"

// TestKoreaCampaignFile serves July 2021's campaign file at 02:30 on 20
// July in Seoul, the night the site told eligible 53-54 year olds to come
// back the next evening: here they are told that booking is open until
// 18:00 that day, and each other cohort gets its own answer.
func TestKoreaCampaignFile(t *testing.T) {
	seoul := window.MustLoadZone("Asia/Seoul")
	at := time.Date(2021, 7, 20, 2, 30, 0, 0, seoul)
	ts := newTestServer(t, func(c *config) {
		c.CampaignFile = koreaFile
		c.Clock.(interface{ Set(time.Time) }).Set(at)
	})

	// The schedule is the campaign's windows, each with a half-hour
	// waiting room before it.
	sched := ts.s.camp.schedule
	want := []string{
		"2021-07-12T19:30:00+09:00 [2021-07-12T20:00:00+09:00, 2021-07-17T18:00:00+09:00)",
		"2021-07-19T19:30:00+09:00 [2021-07-19T20:00:00+09:00, 2021-07-20T18:00:00+09:00)",
		"2021-07-20T19:30:00+09:00 [2021-07-20T20:00:00+09:00, 2021-07-21T18:00:00+09:00)",
		"2021-07-21T19:30:00+09:00 [2021-07-21T20:00:00+09:00, 2021-07-24T18:00:00+09:00)",
	}
	if len(sched.Openings) != len(want) {
		t.Fatalf("%d openings, want %d", len(sched.Openings), len(want))
	}
	for i, o := range sched.Openings {
		if got := o.PreQueue.Format(time.RFC3339) + " " + o.Booking.String(); got != want[i] {
			t.Errorf("opening %d: %s, want %s", i, got, want[i])
		}
	}
	if len(ts.s.rooms) != 4 {
		t.Fatalf("%d rooms, want one per opening", len(ts.s.rooms))
	}

	for _, tc := range []struct {
		born, status, opens, closes string
		mayQueue                    bool
	}{
		{"1967-05-01", "open", "2021-07-19T20:00:00+09:00", "2021-07-20T18:00:00+09:00", true},
		{"1968-12-31", "open", "2021-07-19T20:00:00+09:00", "2021-07-20T18:00:00+09:00", true},
		{"1970-03-03", "not_yet", "2021-07-20T20:00:00+09:00", "2021-07-21T18:00:00+09:00", false},
		{"1964-04-04", "closed", "2021-07-12T20:00:00+09:00", "2021-07-17T18:00:00+09:00", false},
		{"1990-01-01", "not_eligible", "", "", false},
	} {
		c := ts.newClient()
		c.signIn("Someone", tc.born)
		el := c.must(http.StatusOK, "GET", "/api/eligibility", nil)
		opens, _ := el["opens_at"].(string)
		closes, _ := el["closes_at"].(string)
		if el["status"] != tc.status || opens != tc.opens || closes != tc.closes || el["may_queue"] != tc.mayQueue {
			t.Errorf("born %s: %v", tc.born, el)
		}
		r := c.do("POST", "/api/queue/join", nil)
		if tc.mayQueue != (r.Status == http.StatusOK) {
			t.Errorf("born %s: join: %s", tc.born, r)
		}
	}

	// Between two openings: the landing page only.
	ts.setTime(time.Date(2021, 7, 17, 19, 0, 0, 0, seoul))
	c := ts.newClient()
	if r := c.do("POST", "/api/session", `{"name":"x","birth_date":"1967-01-01"}`); r.Status != http.StatusForbidden {
		t.Errorf("sign-in between openings: %s", r)
	}
	if r := c.do("GET", "/", nil, "Accept", "text/html"); r.Status != http.StatusOK || !strings.Contains(string(r.Body), "Not open yet. The waiting room opens at Mon 19 July 2021, 19:30 KST.") {
		t.Errorf("landing page between openings: %d\n%s", r.Status, r.Body)
	}
}

func TestRunRefusesBadCampaignFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"name":"x","zone":"Asia/Seoul","cohorts":[{"name":"a","rule":{"everyone":true},"windows":[{"start":"2021-07-12T20:00","end":"2021-07-12T19:00"}]}]}`), 0o644)
	unknown := filepath.Join(dir, "unknown.json")
	os.WriteFile(unknown, []byte(`{"name":"x","zone":"Mars/Olympus","cohorts":[]}`), 0o644)
	for file, says := range map[string]string{
		bad:                      "cohorts[0].windows[0].end",
		unknown:                  "zone",
		filepath.Join(dir, "no"): "no such file",
	} {
		var stdout, stderr syncBuffer
		code := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-campaign", file}, &stdout, &stderr)
		if code != exitUsage || !strings.Contains(stderr.String(), says) {
			t.Errorf("-campaign %s: exit %d, stderr %q (want it to mention %q)", filepath.Base(file), code, stderr.String(), says)
		}
	}
}
