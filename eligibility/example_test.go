package eligibility_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/gatehouse-go/gatehouse/eligibility"
	"github.com/gatehouse-go/gatehouse/window"
)

// The night of 20 July 2021: a person born in 1967 asks at 02:30 in Seoul
// (17:30 UTC the day before). Their window is open until 18:00 that day.
func Example() {
	c, err := eligibility.LoadFile("testdata/korea-2021-07.json")
	if err != nil {
		panic(err)
	}
	p := eligibility.Person{BirthDate: eligibility.MustParseDate("1967-03-04")}
	now := time.Date(2021, 7, 19, 17, 30, 0, 0, time.UTC)
	d := c.Decide(now, p)
	fmt.Println(d.Status, d.Cohort, "until", d.ClosesAt.Format("2 January 15:04 MST"))
	fmt.Println(d)
	// Output:
	// open 53-54 until 20 July 18:00 KST
	// open until 2021-07-20T18:00:00+09:00 (cohort "53-54", window_open)
}

// A campaign built in Go: a ten-day rotation by the last digit of the day
// of birth, one window per day from 20:00 to 18:00 the next day.
func ExampleCampaign_Decide() {
	seoul := window.MustLoadZone("Asia/Seoul")
	var windows []window.Window
	for day := 9; day <= 18; day++ {
		start := time.Date(2021, 8, day, 20, 0, 0, 0, seoul)
		windows = append(windows, window.Window{Start: start, End: start.Add(22 * time.Hour)})
	}
	c, err := eligibility.New(eligibility.Config{
		Name: "August 2021",
		Zone: "Asia/Seoul",
		Cohorts: []eligibility.Cohort{{
			Name: "18-49",
			Rule: eligibility.All(
				eligibility.KoreanAgeBetween(18, 49, 2021),
				eligibility.BirthDayLastDigitMatchesToday(),
			),
			Windows: windows,
		}},
	})
	if err != nil {
		panic(err)
	}
	at := time.Date(2021, 8, 10, 1, 0, 0, 0, seoul) // 01:00 on the 10th
	for _, born := range []string{"1990-03-19", "1990-03-20", "1990-03-05", "1960-03-19"} {
		p := eligibility.Person{BirthDate: eligibility.MustParseDate(born)}
		fmt.Println(born, c.Decide(at, p))
	}
	// Output:
	// 1990-03-19 open until 2021-08-10T18:00:00+09:00 (cohort "18-49", window_open)
	// 1990-03-20 opens at 2021-08-10T20:00:00+09:00 (cohort "18-49", turn_ahead)
	// 1990-03-05 opens at 2021-08-15T20:00:00+09:00 (cohort "18-49", turn_ahead)
	// 1960-03-19 not eligible (no_matching_cohort)
}

// Every error in a campaign file names its JSON path.
func ExampleParse() {
	_, err := eligibility.Parse([]byte(`{
	  "name": "July 2021",
	  "zone": "Asia/Seoul",
	  "cohorts": [{
	    "name": "53-54",
	    "rule": {"born_between": {"from": "1967-01-01", "to": "1968-12-31"}},
	    "windows": [{"start": "2021-07-20T18:00", "end": "2021-07-19T20:00"}]
	  }]
	}`))
	fmt.Println(errors.Is(err, eligibility.ErrInvalidCampaign))
	var ce *eligibility.CampaignError
	if errors.As(err, &ce) {
		fmt.Println(ce.Path)
	}
	fmt.Println(err)
	// Output:
	// true
	// cohorts[0].windows[0].end
	// eligibility: invalid campaign: cohorts[0].windows[0].end: before start (end 2021-07-19T20:00:00+09:00, start 2021-07-20T18:00:00+09:00)
}

// Someone born on 29 February turns a year older on 1 March in common
// years.
func ExamplePerson_AgeOn() {
	p := eligibility.Person{BirthDate: eligibility.MustParseDate("2000-02-29")}
	for _, on := range []string{"2023-02-28", "2023-03-01", "2024-02-28", "2024-02-29"} {
		fmt.Println(on, p.AgeOn(eligibility.MustParseDate(on)))
	}
	// Output:
	// 2023-02-28 22
	// 2023-03-01 23
	// 2024-02-28 23
	// 2024-02-29 24
}

func ExampleParseDate() {
	d, err := eligibility.ParseDate("2024-02-29")
	fmt.Println(d, err)
	_, err = eligibility.ParseDate("2021-02-29")
	fmt.Println(errors.Is(err, eligibility.ErrInvalidDate), err)
	// Output:
	// 2024-02-29 <nil>
	// true eligibility: invalid date: February 2021 has no day 29
}

// The rule's date is read in the campaign's zone: 31 December 15:00 UTC
// is already 1 January in Seoul.
func ExampleDateIn() {
	t := time.Date(2021, 12, 31, 15, 0, 0, 0, time.UTC)
	fmt.Println(eligibility.DateIn(t, window.MustLoadZone("Asia/Seoul")))
	fmt.Println(eligibility.DateIn(t, time.UTC))
	// Output:
	// 2022-01-01
	// 2021-12-31
}

// The HTTP handler with a mock clock standing at 20 July 2021, 02:30 KST.
func ExampleNewHandler() {
	c, err := eligibility.LoadFile("testdata/korea-2021-07.json")
	if err != nil {
		panic(err)
	}
	clk := clock.NewMock()
	clk.Set(time.Date(2021, 7, 19, 17, 30, 0, 0, time.UTC))
	h, err := eligibility.NewHandler(c, eligibility.HandlerOptions{Clock: clk})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	for _, body := range []string{`{"birth_date":"1967-03-04"}`, `{"birth_date":"1967-02-30"}`} {
		resp, err := http.Post(srv.URL, "application/json", strings.NewReader(body))
		if err != nil {
			panic(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"))
		fmt.Print(string(b))
	}
	// Output:
	// 200 application/json
	// {"status":"open","reason":"window_open","cohort":"53-54","opens_at":"2021-07-19T20:00:00+09:00","closes_at":"2021-07-20T18:00:00+09:00","at":"2021-07-20T02:30:00+09:00"}
	// 422 application/problem+json
	// {"code":"invalid_birth_date","detail":"birth_date: invalid date: February 1967 has no day 30","field":"birth_date","instance":"/","status":422,"title":"Unprocessable Entity","type":"https://github.com/gatehouse-go/gatehouse/blob/main/docs/problems.md#eligibility-invalid_birth_date"}
}

// Rules compose with All, Any and Not.
func ExampleAll() {
	d := eligibility.MustParseDate
	// Born 1962-1966, except those whose birth year ends in 0 or 5.
	r := eligibility.All(
		eligibility.BornBetween(d("1962-01-01"), d("1966-12-31")),
		eligibility.Not(eligibility.BirthYearLastDigit(0, 5)),
	)
	for _, born := range []string{"1962-05-05", "1965-05-05", "1970-05-05"} {
		in := eligibility.Input{Person: eligibility.Person{BirthDate: d(born)}}
		fmt.Println(born, r.Match(in))
	}
	// Output:
	// 1962-05-05 true
	// 1965-05-05 false
	// 1970-05-05 false
}
