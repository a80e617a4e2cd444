package main

import (
	"container/list"
	"crypto/hmac"
	"crypto/sha256"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// clientLimiter limits how often one client may sign in or join the
// waiting room: a token bucket per key, kept in a map of bounded size that
// forgets the least recently seen key first. The key is the person by
// default (limitKey): on an opening night whole mobile carriers reach the
// server from a handful of addresses (carrier-grade NAT), and a limit per
// address would lock most of a country out. A per-address limit is there
// only when the operator asks for it (-client-limit-by address), and then
// X-Forwarded-For counts only from a proxy the operator named
// (-trusted-proxy).
type clientLimiter struct {
	limit rate.Limit
	burst int
	max   int

	mu      sync.Mutex
	entries map[string]*list.Element
	lru     *list.List // front: most recently seen
}

type limiterEntry struct {
	key string
	lim *rate.Limiter
}

// newClientLimiter allows perMinute events a minute per client (with a
// burst of as many, at least 1) and remembers at most max clients. A zero
// perMinute returns nil, which allows everything.
func newClientLimiter(perMinute float64, max int) *clientLimiter {
	if perMinute <= 0 {
		return nil
	}
	return &clientLimiter{
		limit:   rate.Limit(perMinute / 60),
		burst:   max1(int(perMinute)),
		max:     max,
		entries: make(map[string]*list.Element),
		lru:     list.New(),
	}
}

func max1(n int) int {
	if n < 1 {
		return 1
	}
	return n
}

// allow reports whether the client may go ahead at now and, if not, how
// long until it may.
func (l *clientLimiter) allow(key string, now time.Time) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var e *limiterEntry
	if el, ok := l.entries[key]; ok {
		l.lru.MoveToFront(el)
		e = el.Value.(*limiterEntry)
	} else {
		for l.lru.Len() >= l.max {
			old := l.lru.Back()
			delete(l.entries, old.Value.(*limiterEntry).key)
			l.lru.Remove(old)
		}
		e = &limiterEntry{key: key, lim: rate.NewLimiter(l.limit, l.burst)}
		l.entries[key] = l.lru.PushFront(e)
	}
	r := e.lim.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Minute
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// size is the number of clients remembered.
func (l *clientLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lru.Len()
}

// Values of config.LimitBy.
const (
	limitByIdentity = "identity"
	limitByAddress  = "address"
)

// limitKey is the limiter's key for a request made by or for identity (the
// person signing in, or the signed-in person joining): a keyed hash of the
// identity by default, or the client's address when the operator asked for
// a per-address limit.
func (s *server) limitKey(r *http.Request, identity string) string {
	if s.cfg.LimitBy == limitByAddress {
		return "addr:" + clientAddr(r, s.cfg.TrustedProxies).String()
	}
	m := hmac.New(sha256.New, s.limitHashKey)
	m.Write([]byte(identity))
	return "id:" + string(m.Sum(nil)[:16])
}

// clientAddr is the client's address: the remote IP, or its /64 for IPv6
// (what one subscriber usually gets). When the remote IP is one of the
// trusted proxies, it is the rightmost X-Forwarded-For entry that is not a
// trusted proxy itself (the address the proxy saw); otherwise
// X-Forwarded-For, which anyone can write, is ignored.
func clientAddr(r *http.Request, trusted []netip.Prefix) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a := parseAddr(host)
	if a.IsValid() && isTrusted(a, trusted) {
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			h := parseAddr(strings.TrimSpace(hops[i]))
			if !h.IsValid() {
				break // a malformed hop: trust nothing beyond it
			}
			a = h
			if !isTrusted(h, trusted) {
				break
			}
		}
	}
	if a.Is6() {
		if p, err := a.Prefix(64); err == nil {
			return p.Addr()
		}
	}
	return a
}

func parseAddr(s string) netip.Addr {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap().WithZone("")
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
