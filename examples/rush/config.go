package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"
)

// errUsage marks a configuration error: the program exits with status 2.
var errUsage = errors.New("usage")

// config is everything a run needs; flags fill it (see doc.go).
type config struct {
	// System under test.
	Mode       string   // "inprocess" or "http"
	Store      string   // "memory", "redis", "redis-cluster"
	RedisAddrs []string // Redis address(es); empty with RedisStart
	RedisStart bool     // start our own redis-server(s) on loopback
	RedisFsync string   // with RedisStart: appendfsync always, everysec, or no (AOF off)
	RedisBatch bool     // the Redis stores share round trips (group commit; admission's and slots' RedisOptions.Unbatched off)
	URL        string   // http mode: base URL of a running reservation server
	ServerCmd  string   // http mode: command that starts the server (with {addr})
	Operator   string   // http mode: operator token (maintenance faults)
	Servers    int      // http mode: server processes of ServerCmd

	// Crowd.
	People         int
	Slots          int // total places
	SlotCapacity   int // places per slot
	Seed           int64
	Prequeue       time.Duration // the room takes arrivals this long before opening
	Early          float64       // share arriving before the opening
	Spike          float64       // share arriving in the spike after it
	SpikeWidth     time.Duration // mean delay of spike arrivals after the opening
	Tail           time.Duration // the rest arrive uniformly over this
	Reconnect      float64       // share of people who storm Join
	ReconnectJoins int           // joins per storm
	Skippers       float64
	Backdoor       float64
	Double         float64
	Retry          float64
	Abandon        float64
	AbandonWithin  time.Duration // abandoners leave within this of joining
	Comeback       float64
	Away           time.Duration // how long comebacks are away
	Think          time.Duration // mean time from admission to hold
	ConfirmThink   time.Duration // mean time from hold to confirm
	PollMin        time.Duration
	PollMax        time.Duration
	Tries          int // holds per person before giving up (slots full)

	// Room and booking.
	Rate        int // admissions per minute; 0: auto
	Cap         int // active cap; 0: auto; -1: none
	ClaimWindow time.Duration
	SessionTTL  time.Duration
	HoldTTL     time.Duration
	OpenFor     time.Duration // booking window length
	Supply      bool          // the room knows the places left (in process)
	Overbooking float64       // the room's overbooking factor

	// The booking backend and the pacing controller.
	BackendCapacity float64       // calls per simulated second; 0: unbounded
	BackendLatency  time.Duration // base latency
	BackendTimeout  time.Duration // a call waiting longer times out
	Pacing          bool          // the room's rate follows the backend's health
	PacingMin       int           // the controller's bounds (0: auto)
	PacingMax       int
	PacingTarget    time.Duration // booking latency objective (0: 4 x base latency)
	PacingInterval  time.Duration // the controller's decision interval
	PacingStep      int           // additive increase per interval (0: (max-min)/100)
	PacingCompare   bool          // run the same crowd with the controller off first
	baseline        *pacingStat   // that run's pacing figures

	// Run.
	Tick       time.Duration
	Workers    int
	Overlap    int           // ticks that may run at once (simulated time)
	OverlapFor time.Duration // ...only while they lie within this much simulated time
	LaneRooms  bool          // in process: a composition of the library, on its own clock, per lane
	Realtime   bool
	MaxSim     time.Duration // bound on simulated time after the opening
	MaxWall    time.Duration // bound on wall time
	Timeout    time.Duration // per request (wall)
	Faults     []fault
	JSONPath   string
	PlotDir    string
	Quiet      bool
	CPUProfile string // write the simulator's CPU profile here
	MemProfile string // write the simulator's allocation profile here
	TickLog    string // write one line per tick run here
	NoopRounds int
	Audit      bool
}

// fault is a scheduled disturbance: at At (simulated, from the opening)
// for For.
type fault struct {
	Kind string // "redis-restart", "maintenance"
	At   time.Duration
	For  time.Duration
}

func (f fault) String() string {
	s := f.Kind + "@" + f.At.String()
	if f.For > 0 {
		s += "+" + f.For.String()
	}
	return s
}

// parseFault parses KIND@AT[+FOR].
func parseFault(s string) (fault, error) {
	kindS, rest, ok := strings.Cut(s, "@")
	if !ok {
		return fault{}, fmt.Errorf("fault %q: want KIND@AT[+FOR], e.g. redis-restart@30s", s)
	}
	var f fault
	switch kindS {
	case "redis-restart", "maintenance", "backend-slow":
		f.Kind = kindS
	default:
		return fault{}, fmt.Errorf("fault %q: unknown kind %q (redis-restart, maintenance, backend-slow)", s, kindS)
	}
	atS, forS, hasFor := strings.Cut(rest, "+")
	at, err := time.ParseDuration(atS)
	if err != nil {
		return fault{}, fmt.Errorf("fault %q: %v", s, err)
	}
	f.At = at
	if hasFor {
		d, err := time.ParseDuration(forS)
		if err != nil || d < 0 {
			return fault{}, fmt.Errorf("fault %q: bad duration %q", s, forS)
		}
		f.For = d
	}
	if (f.Kind == "maintenance" || f.Kind == "backend-slow") && f.For <= 0 {
		return fault{}, fmt.Errorf("fault %q: %s needs a duration, e.g. %s@10m+2m", s, f.Kind, f.Kind)
	}
	return f, nil
}

type faultList []fault

func (l *faultList) String() string {
	var parts []string
	for _, f := range *l {
		parts = append(parts, f.String())
	}
	return strings.Join(parts, ",")
}

func (l *faultList) Set(s string) error {
	for _, part := range strings.Split(s, ",") {
		f, err := parseFault(strings.TrimSpace(part))
		if err != nil {
			return err
		}
		*l = append(*l, f)
	}
	return nil
}

func defaultConfig() config {
	return config{
		Mode:           "inprocess",
		Store:          "memory",
		RedisBatch:     true,
		People:         20000,
		SlotCapacity:   50,
		Seed:           1,
		Prequeue:       10 * time.Minute,
		Early:          0.3,
		Spike:          0.5,
		SpikeWidth:     2 * time.Minute,
		Tail:           30 * time.Minute,
		Reconnect:      0.05,
		ReconnectJoins: 10,
		Skippers:       0.03,
		Backdoor:       0.01,
		Double:         0.03,
		Retry:          0.03,
		Abandon:        0.03,
		AbandonWithin:  10 * time.Minute,
		Comeback:       0.02,
		Away:           5 * time.Minute,
		Think:          20 * time.Second,
		ConfirmThink:   5 * time.Second,
		PollMin:        2 * time.Second,
		PollMax:        time.Minute,
		Tries:          8,
		ClaimWindow:    2 * time.Minute,
		SessionTTL:     10 * time.Minute,
		HoldTTL:        5 * time.Minute,
		OpenFor:        24 * time.Hour,
		Supply:         true,
		Overbooking:    1,
		BackendLatency: 50 * time.Millisecond,
		BackendTimeout: 2 * time.Second,
		Tick:           100 * time.Millisecond,
		Workers:        4 * runtime.GOMAXPROCS(0) * 8,
		Overlap:        10,
		OverlapFor:     time.Second,
		MaxSim:         6 * time.Hour,
		MaxWall:        2 * time.Hour,
		Timeout:        5 * time.Second,
		Servers:        1,
		NoopRounds:     10000,
		Audit:          true,
	}
}

// parseFlags fills a config from args.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	c := defaultConfig()
	fs := flag.NewFlagSet("rush", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: rush [flags]\n\nSimulates an opening-night rush on gatehouse and audits the result.\nSee go doc for the crowd model and the report.\n\nflags:\n")
		fs.PrintDefaults()
	}
	var redisAddr string
	var faults faultList
	fs.StringVar(&c.Mode, "mode", c.Mode, "inprocess (drive the library) or http (drive a reservation server)")
	fs.StringVar(&c.Store, "store", c.Store, "memory, redis or redis-cluster (inprocess mode)")
	fs.StringVar(&redisAddr, "redis-addr", "", "Redis address host:port (cluster: comma-separated seeds); loopback only")
	fs.BoolVar(&c.RedisStart, "redis-start", false, "start our own redis-server (AOF, appendfsync always) on a free loopback port; a 3-master cluster with -store redis-cluster")
	fs.BoolVar(&c.RedisBatch, "redis-batch", c.RedisBatch, "the room's and the slots' Redis stores share round trips among concurrent calls (group commit, their default); false: a round trip per call (RedisOptions.Unbatched)")
	fs.StringVar(&c.RedisFsync, "redis-fsync", "always", "with -redis-start: AOF appendfsync always (no acknowledged write lost on a crash), everysec, or off (AOF off; no redis-restart fault)")
	fs.StringVar(&c.URL, "url", "", "http mode: base URL of a running reservation server (loopback only)")
	fs.StringVar(&c.ServerCmd, "server-cmd", "", "http mode: command that starts the reservation server; {addr} is replaced by a free loopback address")
	fs.IntVar(&c.Servers, "servers", 1, "http mode: start this many -server-cmd processes (one Redis under them) and spread each person's requests over them in turn")
	fs.StringVar(&c.Operator, "operator-token", "", "http mode: operator token, for maintenance faults")

	fs.IntVar(&c.People, "people", c.People, "number of people")
	fs.IntVar(&c.Slots, "slots", 0, "total places to book (0: as many as people)")
	fs.IntVar(&c.SlotCapacity, "slot-capacity", c.SlotCapacity, "places per slot")
	fs.Int64Var(&c.Seed, "seed", c.Seed, "seed of the crowd (same seed, same crowd)")
	fs.DurationVar(&c.Prequeue, "prequeue", c.Prequeue, "the waiting room takes arrivals this long before the opening")
	fs.Float64Var(&c.Early, "early", c.Early, "share of people arriving before the opening (uniformly over -prequeue)")
	fs.Float64Var(&c.Spike, "spike", c.Spike, "share arriving in the spike after the opening")
	fs.DurationVar(&c.SpikeWidth, "spike-width", c.SpikeWidth, "mean delay of spike arrivals after the opening (exponential)")
	fs.DurationVar(&c.Tail, "tail", c.Tail, "the remaining people arrive uniformly over this long after the opening")
	fs.Float64Var(&c.Reconnect, "reconnect", c.Reconnect, "share of people in reconnect storms")
	fs.IntVar(&c.ReconnectJoins, "reconnect-joins", c.ReconnectJoins, "joins per reconnect storm")
	fs.Float64Var(&c.Skippers, "skippers", c.Skippers, "share of airplane-mode skippers (book with no, forged, borrowed or expired pass)")
	fs.Float64Var(&c.Backdoor, "backdoor", c.Backdoor, "share of back-door users (book before the opening)")
	fs.Float64Var(&c.Double, "double", c.Double, "share of double bookers (two devices)")
	fs.Float64Var(&c.Retry, "retry", c.Retry, "share of people whose booking calls time out and are retried with the same key")
	fs.Float64Var(&c.Abandon, "abandon", c.Abandon, "share of people who abandon the queue")
	fs.DurationVar(&c.AbandonWithin, "abandon-within", c.AbandonWithin, "abandoners leave between a tenth of this and this long after joining")
	fs.Float64Var(&c.Comeback, "comeback", c.Comeback, "share of people who are away when called and come back")
	fs.DurationVar(&c.Away, "away", c.Away, "how long comebacks are away")
	fs.DurationVar(&c.Think, "think", c.Think, "mean time from admission to hold (exponential)")
	fs.DurationVar(&c.ConfirmThink, "confirm-think", c.ConfirmThink, "mean time from hold to confirm (exponential)")
	fs.DurationVar(&c.PollMin, "poll-min", c.PollMin, "shortest interval between status polls")
	fs.DurationVar(&c.PollMax, "poll-max", c.PollMax, "longest interval between status polls")
	fs.IntVar(&c.Tries, "tries", c.Tries, "holds a person tries (full slots) before giving up")

	fs.IntVar(&c.Rate, "rate", 0, "admissions per minute (0: people/15, at least 60)")
	fs.IntVar(&c.Cap, "cap", 0, "most people active at once (0: 5 minutes of -rate; -1: no cap)")
	fs.DurationVar(&c.ClaimWindow, "claim-window", c.ClaimWindow, "time to claim a place once called")
	fs.DurationVar(&c.SessionTTL, "session-ttl", c.SessionTTL, "how long a pass is valid")
	fs.DurationVar(&c.HoldTTL, "hold-ttl", c.HoldTTL, "how long a hold waits for confirmation")
	fs.DurationVar(&c.OpenFor, "open-for", c.OpenFor, "booking window length from the opening")
	fs.BoolVar(&c.Supply, "supply", c.Supply, "the room knows the places left (admission.Options.Supply over the slots' availability; in process)")
	fs.Float64Var(&c.Overbooking, "overbooking", c.Overbooking, "the room's overbooking factor: people active per free place")
	fs.Float64Var(&c.BackendCapacity, "backend-capacity", 0, "booking calls (holds, confirms) the backend serves per simulated second; beyond it they queue and time out (0: unbounded)")
	fs.DurationVar(&c.BackendLatency, "backend-latency", c.BackendLatency, "the backend's latency when not queueing (simulated)")
	fs.DurationVar(&c.BackendTimeout, "backend-timeout", c.BackendTimeout, "a booking call queued longer than this times out, unserved (simulated)")
	fs.BoolVar(&c.Pacing, "pacing", false, "an admission.Pacer sets the room's rate from the booking calls' latency and errors (in process)")
	fs.IntVar(&c.PacingMin, "pacing-min", 0, "the controller's lowest rate, per minute (0: a tenth of -rate)")
	fs.IntVar(&c.PacingMax, "pacing-max", 0, "the controller's highest rate, per minute (0: -rate)")
	fs.DurationVar(&c.PacingTarget, "pacing-target", 0, "booking latency the controller keeps the p90 under (0: 4 x -backend-latency)")
	fs.DurationVar(&c.PacingInterval, "pacing-interval", time.Second, "the controller's decision interval")
	fs.IntVar(&c.PacingStep, "pacing-step", 0, "the controller's increase per interval, per minute (0: a hundredth of max - min, at least 1)")
	fs.BoolVar(&c.PacingCompare, "pacing-compare", false, "first run the same crowd with the controller off, and report its figures beside (implies -pacing)")

	fs.DurationVar(&c.Tick, "tick", c.Tick, "simulated time step: events within one tick run concurrently at the tick's instant")
	fs.IntVar(&c.Workers, "workers", c.Workers, "concurrent callers")
	fs.IntVar(&c.Overlap, "overlap", c.Overlap, "ticks that may run at once, within as many ticks of simulated time and within -overlap-for, each on its own lane of -workers callers (simulated time only; 1: one tick at a time)")
	fs.DurationVar(&c.OverlapFor, "overlap-for", c.OverlapFor, "ticks run at once only while they lie within this much simulated time: at most -overlap-for / -tick of them (at least 1; 0: -overlap alone), so that no call reads a clock this far past its tick")
	fs.BoolVar(&c.LaneRooms, "lane-rooms", false, "in process, give each -overlap lane its own room, slots service and gate on a clock set to its tick, over the same stores (as that many servers): no call reads a clock past its tick")
	fs.BoolVar(&c.Realtime, "realtime", false, "pace the run on the wall clock instead of simulated time")
	fs.DurationVar(&c.MaxSim, "max-sim", c.MaxSim, "stop after this much simulated time past the opening")
	fs.DurationVar(&c.MaxWall, "max-wall", c.MaxWall, "stop after this much wall time")
	fs.DurationVar(&c.Timeout, "timeout", c.Timeout, "per-request timeout (wall)")
	fs.Var(&faults, "fault", "fault KIND@AT[+FOR], AT from the opening in simulated time: redis-restart@30s[+10s], maintenance@10m+2m, backend-slow@5m+3m (capacity / 5) (repeatable)")
	fs.StringVar(&c.JSONPath, "json", "", "write the report as JSON to this file")
	fs.StringVar(&c.PlotDir, "plot", "", "write PNG charts to this directory")
	fs.BoolVar(&c.Quiet, "quiet", false, "no progress bar")
	fs.StringVar(&c.CPUProfile, "cpuprofile", "", "write the simulator's CPU profile (pprof) to this file")
	fs.StringVar(&c.MemProfile, "memprofile", "", "write the simulator's allocation profile (pprof allocs, at the end) to this file")
	fs.StringVar(&c.TickLog, "ticklog", "", "write one line per tick run to this file: tick, events, events that call the store, wall µs, start (wall µs into the run): where the wall time goes")
	fs.IntVar(&c.NoopRounds, "noop-rounds", c.NoopRounds, "no-op script round trips measured at start (Redis)")
	fs.BoolVar(&c.Audit, "audit", c.Audit, "read the store at the end and check it against the ledger")
	if err := fs.Parse(args); err != nil {
		return c, fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	if redisAddr != "" {
		for _, a := range strings.Split(redisAddr, ",") {
			if a = strings.TrimSpace(a); a != "" {
				c.RedisAddrs = append(c.RedisAddrs, a)
			}
		}
	}
	c.Faults = faults
	if err := c.finish(); err != nil {
		return c, err
	}
	return c, nil
}

// finish fills automatic values and validates.
func (c *config) finish() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{errUsage}, a...)...)
	}
	if c.Slots == 0 {
		c.Slots = c.People
	}
	if c.Tick > 0 && c.Prequeue%c.Tick != 0 {
		// The opening falls on a tick.
		c.Prequeue += c.Tick - c.Prequeue%c.Tick
	}
	if c.Rate == 0 {
		c.Rate = max(60, c.People/15)
	}
	if c.Cap == 0 {
		c.Cap = 5 * c.Rate
	}
	if c.PacingCompare {
		c.Pacing = true
	}
	if c.PacingMax == 0 {
		c.PacingMax = c.Rate
	}
	if c.PacingMin == 0 {
		c.PacingMin = max(1, c.PacingMax/10)
	}
	if c.PacingTarget == 0 {
		c.PacingTarget = 4 * c.BackendLatency
	}
	if c.PacingStep == 0 {
		c.PacingStep = max(1, (c.PacingMax-c.PacingMin+99)/100)
	}
	switch c.Mode {
	case "inprocess":
		switch c.Store {
		case "memory":
		case "redis", "redis-cluster":
			if len(c.RedisAddrs) == 0 && !c.RedisStart {
				return bad("-store %s needs -redis-addr or -redis-start", c.Store)
			}
		default:
			return bad("-store %q: want memory, redis or redis-cluster", c.Store)
		}
	case "http":
		if (c.URL == "") == (c.ServerCmd == "") {
			return bad("-mode http needs exactly one of -url and -server-cmd")
		}
		if c.Servers < 1 || c.Servers > 32 || (c.Servers > 1 && c.ServerCmd == "") {
			return bad("-servers %d: want 1 to 32, several only with -server-cmd", c.Servers)
		}
		if c.RedisStart && c.Store != "redis" && c.Store != "redis-cluster" {
			return bad("-redis-start in http mode: -store redis or redis-cluster (the Redis the servers get as {redis})")
		}
		if !c.Realtime {
			// A server outside this process reads its own clock.
			c.Realtime = true
		}
	default:
		return bad("-mode %q: want inprocess or http", c.Mode)
	}
	switch c.RedisFsync {
	case "", "always", "everysec", "off":
	default:
		return bad("-redis-fsync %q: want always, everysec or off", c.RedisFsync)
	}
	for _, a := range c.RedisAddrs {
		if err := loopbackOnly(a); err != nil {
			return bad("-redis-addr: %v", err)
		}
	}
	if c.URL != "" {
		if err := loopbackURL(c.URL); err != nil {
			return bad("-url: %v", err)
		}
	}
	switch {
	case c.People <= 0:
		return bad("-people must be positive")
	case c.Slots < 0 || c.SlotCapacity <= 0:
		return bad("-slots must be >= 0 and -slot-capacity positive")
	case c.Prequeue < 0 || c.SpikeWidth < 0 || c.Tail < 0 || c.Away < 0 || c.Think < 0 || c.ConfirmThink < 0 || c.AbandonWithin < 0:
		return bad("durations must not be negative")
	case c.Early < 0 || c.Spike < 0 || c.Early+c.Spike > 1:
		return bad("-early and -spike are shares: each >= 0, sum <= 1")
	case c.Early > 0 && c.Prequeue == 0:
		return bad("-early > 0 needs -prequeue > 0")
	case c.PollMin <= 0 || c.PollMax < c.PollMin:
		return bad("need 0 < -poll-min <= -poll-max")
	case c.Tick <= 0 || c.Tick > c.PollMin:
		return bad("need 0 < -tick <= -poll-min")
	case c.Workers <= 0:
		return bad("-workers must be positive")
	case c.Overlap < 1:
		return bad("-overlap must be at least 1")
	case c.OverlapFor < 0:
		return bad("-overlap-for must not be negative")
	case c.Rate <= 0:
		return bad("-rate must be positive")
	case c.Tries <= 0:
		return bad("-tries must be positive")
	case c.ReconnectJoins <= 0:
		return bad("-reconnect-joins must be positive")
	case c.MaxSim <= 0 || c.MaxWall <= 0 || c.Timeout <= 0:
		return bad("-max-sim, -max-wall and -timeout must be positive")
	case c.ClaimWindow <= 0 || c.SessionTTL <= 0 || c.HoldTTL <= 0 || c.OpenFor <= 0:
		return bad("-claim-window, -session-ttl, -hold-ttl and -open-for must be positive")
	case c.Overbooking <= 0 || c.Overbooking > 10:
		return bad("-overbooking must be in (0, 10]")
	case c.BackendCapacity < 0 || c.BackendLatency <= 0 || c.BackendTimeout <= c.BackendLatency:
		return bad("need -backend-capacity >= 0 and 0 < -backend-latency < -backend-timeout")
	case c.Pacing && (c.PacingMin <= 0 || c.PacingMax < c.PacingMin):
		return bad("need 0 < -pacing-min <= -pacing-max")
	case c.Pacing && (c.PacingInterval < time.Millisecond || c.PacingStep < 0):
		return bad("need -pacing-interval >= 1ms and -pacing-step >= 0")
	case c.Pacing && c.Mode != "inprocess":
		return bad("-pacing needs -mode inprocess")
	}
	for _, s := range []struct {
		name string
		v    float64
	}{{"reconnect", c.Reconnect}, {"skippers", c.Skippers}, {"backdoor", c.Backdoor},
		{"double", c.Double}, {"retry", c.Retry}, {"abandon", c.Abandon}, {"comeback", c.Comeback}} {
		if s.v < 0 || s.v > 1 {
			return bad("-%s is a share in [0, 1]", s.name)
		}
	}
	for _, f := range c.Faults {
		if f.Kind == "redis-restart" {
			if c.Mode != "inprocess" || c.Store == "memory" {
				return bad("fault %s needs -mode inprocess with a Redis store", f)
			}
			if !c.RedisStart {
				return bad("fault %s needs a Redis this program controls: -redis-start", f)
			}
			if c.RedisFsync == "off" {
				return bad("fault %s needs the AOF: not with -redis-fsync off", f)
			}
		}
		if f.Kind == "backend-slow" && (c.BackendCapacity <= 0 || c.Mode != "inprocess") {
			return bad("fault %s needs a modelled backend: -backend-capacity > 0, -mode inprocess", f)
		}
		if f.Kind == "maintenance" && c.Mode == "http" && c.Operator == "" && c.ServerCmd == "" {
			return bad("fault %s in http mode needs -operator-token", f)
		}
	}
	return nil
}

// sim offsets: the simulation starts at simStart; the room opens Prequeue
// later. Every offset the crowd model uses is from simStart.
func (c *config) openAt() time.Duration { return c.Prequeue }

// lanes is how many ticks may run at once in simulated time: -overlap of
// them, but no more than -overlap-for holds (0: no such bound), and at
// least one.
func (c *config) lanes() int {
	n := c.Overlap
	if c.OverlapFor > 0 && c.Tick > 0 {
		n = min(n, int(c.OverlapFor/c.Tick))
	}
	return max(1, n)
}
