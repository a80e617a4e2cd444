package window

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
)

// Allowance says in which phases the public may use a route: a set of
// During* bits. A Gate refuses a request unless the route it matches allows
// the current phase; a route that no Allow call classified allows nothing.
//
//	gate.Allow(window.Always, "GET /healthz", "GET /static/")
//	gate.Allow(window.DuringPreQueue|window.DuringOpen, "POST /api/queue/join")
//	gate.Allow(window.DuringOpen, "POST /api/book")
type Allowance uint8

const (
	// DuringNotYet allows the route before the next opening's pre-queue.
	DuringNotYet Allowance = 1 << NotYet
	// DuringPreQueue allows the route while the waiting room takes
	// arrivals, before booking opens.
	DuringPreQueue Allowance = 1 << PreQueue
	// DuringOpen allows the route while booking is open.
	DuringOpen Allowance = 1 << Open
	// DuringClosed allows the route after the last opening has closed.
	DuringClosed Allowance = 1 << Closed
	// DuringMaintenance allows the route while the maintenance switch is
	// on, or cannot be read. Keep such routes few: health checks, static
	// assets, a status page.
	DuringMaintenance Allowance = 1 << Maintenance
	// OperatorsOnly classifies a route that the public may never use,
	// such as an operator console: it is refused in every phase, as an
	// unclassified route is, but says so on purpose. It cannot be combined
	// with other bits.
	OperatorsOnly Allowance = 1 << 7

	// AnyPhase allows the route in every phase of the schedule, but not
	// during maintenance.
	AnyPhase = DuringNotYet | DuringPreQueue | DuringOpen | DuringClosed
	// Always allows the route in every phase and during maintenance.
	Always = AnyPhase | DuringMaintenance
)

// Allows reports whether a lets the public use the route in phase p.
func (a Allowance) Allows(p Phase) bool {
	return p >= NotYet && p <= Maintenance && a&(1<<p) != 0
}

// String names the phases of a, such as "pre_queue|open", or "always" or
// "operators_only".
func (a Allowance) String() string {
	switch a {
	case Always:
		return "always"
	case OperatorsOnly:
		return "operators_only"
	case 0:
		return "none"
	}
	var parts []string
	for p := NotYet; p <= Maintenance; p++ {
		if a.Allows(p) {
			parts = append(parts, p.String())
		}
	}
	if rest := a &^ Always; rest != 0 {
		parts = append(parts, fmt.Sprintf("Allowance(%#x)", uint8(rest)))
	}
	return strings.Join(parts, "|")
}

func (a Allowance) valid() error {
	switch {
	case a == 0:
		return fmt.Errorf("window: allowance names no phase (use OperatorsOnly for an operator-only route)")
	case a&OperatorsOnly != 0 && a != OperatorsOnly:
		return fmt.Errorf("window: allowance %s: OperatorsOnly cannot be combined with phases", a)
	case a&^(Always|OperatorsOnly) != 0:
		return fmt.Errorf("window: allowance %s has unknown bits", a)
	}
	return nil
}

// Route classifies patterns for GateOptions.Routes: the public may use
// requests matching any of Patterns in the phases Allow names.
type Route struct {
	// Allow is the set of phases, or OperatorsOnly.
	Allow Allowance
	// Patterns are net/http ServeMux patterns, such as "GET /healthz",
	// "/static/" or "POST /api/book/{slot}".
	Patterns []string
}

// routeClass is the handler registered in the gate's internal mux for a
// classified pattern. It is never served: the gate only reads it.
type routeClass struct {
	allow   Allowance
	pattern string
}

func (*routeClass) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	panic("window: routeClass is a marker, not a handler")
}

// routeKey is everything ServeMux.Handler looks at for a request that is
// not CONNECT: the method, the host (with port, a superset of what the mux
// uses) and the path, escaped form included.
type routeKey struct {
	method, host, path, rawPath string
}

// maxRouteMemo bounds the memo. It is filled by the first distinct
// requests that match a classified route and never evicts: an attacker
// sending distinct paths can only fill it, after which lookups that miss
// go to the ServeMux as they would without a memo.
const maxRouteMemo = 4096

// maxRouteMemoKey bounds the host and path bytes of a memoised request, so
// the memo holds at most about 1 MiB of keys.
const maxRouteMemoKey = 256

// routeMemo remembers which classified route a request key matched. The
// answer is ServeMux's own, so the memo cannot change a decision.
type routeMemo struct {
	mu sync.RWMutex
	m  map[routeKey]*routeClass
}

func (c *routeMemo) get(k routeKey) (*routeClass, bool) {
	c.mu.RLock()
	rc, ok := c.m[k]
	c.mu.RUnlock()
	return rc, ok
}

func (c *routeMemo) put(k routeKey, rc *routeClass) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxRouteMemo {
		return
	}
	if c.m == nil {
		c.m = make(map[routeKey]*routeClass)
	}
	k = routeKey{strings.Clone(k.method), strings.Clone(k.host), strings.Clone(k.path), strings.Clone(k.rawPath)}
	c.m[k] = rc
}

func (c *routeMemo) reset() {
	c.mu.Lock()
	c.m = nil
	c.mu.Unlock()
}
