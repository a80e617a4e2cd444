// Package eligibility decides who may book when: cohorts of people drawn by
// birth date, each with its booking windows, answered in the campaign's
// time zone and never the host's.
//
// On 20 July 2021 at 02:00, Korea's vaccine pre-booking site told eligible
// 53-54 year olds to "book after the 21st, 20:00" while their window was
// open until 18:00 that day: the current time had been taken the wrong way.
// Here an answer depends only on the instant asked about and the campaign
// (its zone included); the July 2021 timeline is a test, run under several
// host zones.
//
// # People and dates
//
// A Person is a birth date, and a Date is a civil date (year, month, day)
// of this package, not a time.Time: ParseDate reads "2006-01-02" and
// refuses dates that do not exist (31 April, 29 February 2021). Ages are in
// full years (Person.AgeOn): a person born on 29 February turns a year older
// on 1 March in common years and on 29 February in leap years. Person.YearAge
// is the age by year, the reference year minus the birth year, as Korean
// public-health programmes count.
//
// # Rules
//
// A Rule says who belongs to a cohort: BornBetween, AgeBetween,
// KoreanAgeBetween, BirthYearLastDigit, BirthDayLastDigit,
// BirthDayLastDigitMatchesToday, Everyone, and All, Any and Not to combine
// them. A rule sees the person and a civil date in the campaign's zone
// (Input): rules such as "day of birth ends in the same digit as today" or
// "aged 18 today" read it.
//
// When a campaign decides, that date is the window's opening date: the
// date, in the campaign's zone, on which the window being considered
// starts. A rule is asked once per window, so its answer holds for the
// whole window:
//
//   - "Open until T" is exact: T is the window's end (or the end of the last
//     of several back-to-back windows that all admit the person).
//   - "Opens at T" for a rotation cohort is the start of the next window
//     whose opening date admits the person, not merely the next window.
//   - A window that crosses midnight keeps its people. Korea's August 2021
//     rotation opened at 20:00 for birth days ending in that day's digit and
//     closed at 18:00 the next day; reading "today" from the instant instead
//     would have shut out, at 00:00, the very people whose window it was.
//
// A rotation cohort therefore has one window per turn (one window spanning
// ten days is asked once, on its first day). Dates are always read in the
// campaign's zone: a window opening at 00:00 on 1 January in Seoul is in
// the new year for KoreanAgeBetween, though it is still 31 December in UTC.
//
// # Campaigns and decisions
//
// A Campaign has a name, an IANA zone and cohorts; a Cohort has a name, a
// rule and one or more half-open windows [start, end) (window.Window). Build
// one from a Config with New, or from JSON with Parse, Load or LoadFile.
// Campaign.Decide(now, person) answers StatusNotEligible, StatusNotYet
// ("opens at T"), StatusOpen ("open until T") or StatusClosed (named apart
// from window's phases NotYet, Open and Closed), with the deciding cohort, a
// machine-readable Reason and times shown in the campaign's zone. Where
// several cohorts admit the person, one open now wins, else the one that
// opens earliest, else the one that closed last. Decide does not allocate
// and a Campaign is safe for concurrent use.
//
// # Campaign files
//
// A campaign file is one JSON object, read strictly: unknown members,
// duplicate members, trailing data, invalid UTF-8, duplicate cohort names,
// unknown zones, empty or overlapping windows in a cohort are all refused,
// and every error names its JSON path and what is wrong, such as
//
//	eligibility: invalid campaign: cohorts[2].windows[0].end: before start (...)
//
// (as a *CampaignError; errors.Is(err, ErrInvalidCampaign) holds). Nothing
// is half loaded: a campaign or an error. The form:
//
//	{
//	  "name": "July 2021",                  // required
//	  "description": "...",                 // optional
//	  "zone": "Asia/Seoul",                 // required, an IANA zone name
//	  "disambiguation": "reject",           // optional: reject (default), compatible, earlier, later
//	  "cohorts": [                          // at least one
//	    {
//	      "name": "53-54",                  // required, unique
//	      "description": "...",             // optional
//	      "rule": {"born_between": {"from": "1967-01-01", "to": "1968-12-31"}},
//	      "windows": [                      // at least one; no two overlap
//	        {"start": "2021-07-19T20:00", "end": "2021-07-20T18:00"}
//	      ]
//	    }
//	  ]
//	}
//
// (JSON has no comments; they are notes here.) Window times are civil times
// in the campaign's zone, "2006-01-02T15:04" with optional ":05" and
// fraction, and no offset. A civil time the zone skips or repeats (a
// daylight-saving change) is refused unless "disambiguation" says how to
// read it (see window.Disambiguation).
//
// A rule is an object with exactly one member, its kind:
//
//	{"born_between": {"from": "1962-01-01", "to": "1966-12-31"}}  both ends included; either may be left out
//	{"age_between": {"min": 55, "max": 59, "on": "2021-07-12"}}   full years on "on" (default: the window's opening date)
//	{"korean_age_between": {"min": 55, "max": 59, "year": 2021}}  year minus birth year ("year" default: the opening date's)
//	{"birth_year_last_digit": [1, 6]}                             birth year ends in 1 or 6
//	{"birth_day_last_digit": [3, 8]}                              day of birth ends in 3 or 8
//	{"birth_day_last_digit_matches_today": true}                  day of birth ends like the opening date's day
//	{"everyone": true}                                            everybody
//	{"all": [rule, ...]}                                          every rule matches (at least one rule)
//	{"any": [rule, ...]}                                          some rule matches (at least one rule)
//	{"not": rule}                                                 the rule does not match
//
// Names are 1-200 bytes; names and descriptions are UTF-8 without control
// characters (newlines included). Ages are 0-200; digits 0-9, each at most
// once; rules nest at most 32 deep; a file is at most MaxFileSize bytes. Campaign.MarshalJSON writes this form back, and parsing it gives a
// campaign that decides the same.
//
// # HTTP
//
// Handler answers a POSTed {"birth_date": "1967-03-04"} with the Decision
// as JSON, and bad input with RFC 9457 problem details. Its clock is
// injected (HandlerOptions.Clock) so tests can stand at any instant.
package eligibility
