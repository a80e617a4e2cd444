package main

import (
	"container/list"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// clientLimiter limits how often one client may sign in or join the
// waiting room: a token bucket per client IP (an IPv6 client is its /64,
// which is what one subscriber usually gets), kept in a map of bounded size
// that forgets the least recently seen client first.
//
// Behind a reverse proxy every request comes from the proxy's address; a
// deployment there must key on the address the proxy reports instead, and
// only when it trusts the proxy. This example listens directly.
type clientLimiter struct {
	limit rate.Limit
	burst int
	max   int

	mu      sync.Mutex
	entries map[netip.Addr]*list.Element
	lru     *list.List // front: most recently seen
}

type limiterEntry struct {
	key netip.Addr
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
		entries: make(map[netip.Addr]*list.Element),
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
func (l *clientLimiter) allow(key netip.Addr, now time.Time) (bool, time.Duration) {
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

// clientKey is the limiter's key for a request: the remote IP, or its /64
// for IPv6.
func clientKey(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		if p, err := a.Prefix(64); err == nil {
			return p.Addr()
		}
	}
	return a
}
