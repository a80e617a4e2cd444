package pages

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Lang is one language of a Pages: its strings and how it writes dates,
// times and durations. A request's Lang comes from Pages.Lang.
type Lang struct {
	tag     string
	strings map[string]string
	zone    *time.Location
}

// Tag returns the language's tag, such as "ko" or "en": the page's
// <html lang>.
func (l *Lang) Tag() string { return l.tag }

// T returns the string key in the language, with each {name} replaced by
// the value following name in args (name, value, name, value, ...).
// A missing key returns the key itself, so a gap shows rather than hides.
func (l *Lang) T(key string, args ...any) string {
	s, ok := l.strings[key]
	if !ok {
		return key
	}
	if len(args) == 0 || !strings.Contains(s, "{") {
		return s
	}
	pairs := make([]string, 0, len(args))
	for i := 0; i+1 < len(args); i += 2 {
		pairs = append(pairs, "{"+fmt.Sprint(args[i])+"}", fmt.Sprint(args[i+1]))
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

// N returns key + "_one" when n is 1 and the language has that key, else
// key + "_other", with {n} replaced by n and the other args as for T.
func (l *Lang) N(key string, n int64, args ...any) string {
	args = append([]any{"n", n}, args...)
	if n == 1 {
		if _, ok := l.strings[key+"_one"]; ok {
			return l.T(key+"_one", args...)
		}
	}
	return l.T(key+"_other", args...)
}

// Has reports whether the language has the key.
func (l *Lang) Has(key string) bool { _, ok := l.strings[key]; return ok }

// When writes the instant t in the campaign's zone, the language's way
// (format key "fmt.datetime"): "2021년 7월 12일 (월) 오후 8:00" in Korean,
// "Mon 12 July 2021, 20:00 KST" in English. Zero writes "".
func (l *Lang) When(t time.Time) string { return l.format("fmt.datetime", t) }

// Clock writes the time of day of t in the campaign's zone (format key
// "fmt.time"), such as "오후 8:00:05" or "20:00:05".
func (l *Lang) Clock(t time.Time) string { return l.format("fmt.time", t) }

func (l *Lang) format(key string, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.In(l.zone)
	h12 := t.Hour() % 12
	if h12 == 0 {
		h12 = 12
	}
	ampm := l.T("fmt.am")
	if t.Hour() >= 12 {
		ampm = l.T("fmt.pm")
	}
	pick := func(list string, i int) string {
		parts := strings.Split(list, ",")
		if i < len(parts) {
			return strings.TrimSpace(parts[i])
		}
		return ""
	}
	zone, _ := t.Zone()
	return strings.NewReplacer(
		"{year}", strconv.Itoa(t.Year()),
		"{mon}", strconv.Itoa(int(t.Month())),
		"{month}", pick(l.T("fmt.months"), int(t.Month())-1),
		"{day}", strconv.Itoa(t.Day()),
		"{weekday}", pick(l.T("fmt.weekdays"), int(t.Weekday())),
		"{h12}", strconv.Itoa(h12),
		"{hh}", fmt.Sprintf("%02d", t.Hour()),
		"{mm}", fmt.Sprintf("%02d", t.Minute()),
		"{ss}", fmt.Sprintf("%02d", t.Second()),
		"{ampm}", ampm,
		"{zone}", zone,
	).Replace(l.T(key))
}

// Duration writes d for people in whole seconds, minutes or hours,
// rounded up: "3 minutes", "3분".
func (l *Lang) Duration(d time.Duration) string {
	s := int64((d + time.Second - 1) / time.Second)
	switch {
	case s < 60:
		return l.N("dur.seconds", max(s, 1))
	case s < 2*3600:
		return l.N("dur.minutes", (s+59)/60)
	}
	return l.N("dur.hours", (s+3599)/3600)
}

// Range writes a wait from lo to hi: "3 to 5 minutes", "3~5분", or one
// duration when both round alike.
func (l *Lang) Range(lo, hi time.Duration) string {
	if hi < time.Minute {
		return l.T("eta.under_minute")
	}
	a, b := l.Duration(lo), l.Duration(hi)
	if a == b {
		return l.T("eta.about", "d", b)
	}
	if lo >= time.Minute && hi < 2*time.Hour {
		return l.T("eta.range_minutes", "min", (int64(lo/time.Second)+59)/60, "max", (int64(hi/time.Second)+59)/60)
	}
	return l.T("eta.range", "min", a, "max", b)
}

// negotiate picks the best of the available tags for an Accept-Language
// header (RFC 9110, section 12.5.4): ranges by decreasing q (ties keep
// their order), q=0 excluded; a range matches a tag equal to it or to its
// primary subtag ("ko-KR" matches "ko"), "*" matches the default. It
// returns def when nothing matches.
func negotiate(header string, available map[string]bool, def string) string {
	type rng struct {
		tag string
		q   float64
		i   int
	}
	var rs []rng
	for i, part := range strings.Split(header, ",") {
		fields := strings.Split(part, ";")
		tag := strings.ToLower(strings.TrimSpace(fields[0]))
		if tag == "" {
			continue
		}
		q := 1.0
		for _, f := range fields[1:] {
			k, v, ok := strings.Cut(strings.TrimSpace(f), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				pq, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil || pq < 0 || pq > 1 {
					pq = 0
				}
				q = pq
			}
		}
		if q > 0 {
			rs = append(rs, rng{tag, q, i})
		}
	}
	sort.SliceStable(rs, func(a, b int) bool { return rs[a].q > rs[b].q })
	for _, r := range rs {
		if r.tag == "*" {
			return def
		}
		if available[r.tag] {
			return r.tag
		}
		if p, _, ok := strings.Cut(r.tag, "-"); ok && available[p] {
			return p
		}
	}
	return def
}

// Lang returns the language r asks for (Accept-Language with q-values, or
// the "lang" query parameter when it names a language of p, for a
// language switch link), falling back to Options.Default.
func (p *Pages) Lang(r *http.Request) *Lang {
	if r != nil {
		if r.URL != nil {
			if q := strings.ToLower(r.URL.Query().Get("lang")); q != "" && p.langs[q] != nil {
				return p.langs[q]
			}
		}
		return p.langs[negotiate(r.Header.Get("Accept-Language"), p.avail, p.def)]
	}
	return p.langs[p.def]
}
