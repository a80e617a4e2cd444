package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/redis/go-redis/v9"
)

// Several server instances over HTTP (-servers K): the simulator starts K
// reservation servers with -server-cmd (each on its own loopback address,
// all with one GATEHOUSE_SECRET, {redis} replaced by the Redis it started
// with -redis-start, {opens_at} by the opening it chose), and spreads every
// person's requests over them in turn, as a load balancer without
// stickiness would. The report's multi block gives each instance's
// requests, latency and process CPU, each Redis shard's main-thread CPU
// (INFO cpu) and the hash tags it holds, and the pacing check: for each
// waiting room, over every interval between two admissions, the
// admissions the rooms reported (their own admitted_at instants) stay
// within rate x T + burst.

// httpFactory builds the HTTP target: a server at -url, or -servers
// processes of -server-cmd (with the Redis of -redis-start under them).
func httpFactory(ctx context.Context, cfg *config, clk clock.Clock, open time.Time, cr *crowd) (target, faultControl, func(), error) {
	run := &multiRun{}
	bases, operator := []string{cfg.URL}, cfg.Operator
	redisAddrs := cfg.RedisAddrs
	if cfg.ServerCmd != "" {
		command := cfg.ServerCmd
		if cfg.RedisStart {
			rp, err := startRedis(cfg.Store == "redis-cluster", cfg.RedisFsync)
			if err != nil {
				return nil, nil, nil, err
			}
			run.redis = rp
			redisAddrs = rp.Addrs()
		}
		if strings.Contains(command, "{redis}") {
			if len(redisAddrs) == 0 {
				run.close()
				return nil, nil, nil, fmt.Errorf("-server-cmd has {redis}: give -redis-start or -redis-addr")
			}
			command = strings.ReplaceAll(command, "{redis}", strings.Join(redisAddrs, ","))
		}
		command = strings.ReplaceAll(command, "{opens_at}", open.Format(time.RFC3339))
		env := os.Environ()
		if os.Getenv("GATEHOUSE_SECRET") == "" {
			// Every instance behind one balancer signs with one key.
			key := make([]byte, 32)
			rand.Read(key)
			env = append(env, "GATEHOUSE_SECRET="+hex.EncodeToString(key))
		}
		bases = nil
		for range cfg.Servers {
			sp, err := startServer(ctx, command, env)
			if err != nil {
				run.close()
				return nil, nil, nil, err
			}
			run.servers = append(run.servers, sp)
			bases = append(bases, sp.url)
			if operator == "" {
				operator = sp.operator
			}
		}
	}
	if len(redisAddrs) > 0 {
		run.rdb = newRedisClient(cfg, redisAddrs, false)
	}
	t, err := newHTTPTarget(ctx, cfg, bases, operator)
	if err != nil {
		run.close()
		return nil, nil, nil, err
	}
	t.multi = run
	run.begin(ctx)
	return t, nil, run.close, nil
}

// multiRun is what an HTTP run started: servers, Redis, and the CPU they
// had used when the run began.
type multiRun struct {
	servers []*serverProc
	redis   *redisProcs
	rdb     redis.UniversalClient

	cpu0   []float64          // each server's CPU seconds at the start
	shard0 map[string]float64 // each Redis master's main-thread CPU (µs) at the start
	noop   map[string]float64 // each master's CPU per no-op script call (µs)
	wall0  time.Time
	self0  float64 // this process's CPU seconds at the start
}

// noopCalls is how many no-op scripts each master runs before the run,
// to measure its CPU per call, the unit of the shards' figures.
const noopCalls = 2000

// measureNoop runs noopCalls EVALs of `return 0` on each master, one at a
// time, and returns the main-thread CPU each spent per call.
func measureNoop(ctx context.Context, c redis.UniversalClient) map[string]float64 {
	out := map[string]float64{}
	var mu sync.Mutex
	one := func(ctx context.Context, m *redis.Client) error {
		before, err := redisCPUOne(ctx, m)
		if err != nil {
			return err
		}
		for range noopCalls {
			if err := m.Eval(ctx, "return 0", nil).Err(); err != nil {
				return err
			}
		}
		after, err := redisCPUOne(ctx, m)
		if err != nil {
			return err
		}
		mu.Lock()
		out[m.Options().Addr] = (after - before) / noopCalls
		mu.Unlock()
		return nil
	}
	if cc, ok := c.(*redis.ClusterClient); ok {
		cc.ForEachMaster(ctx, one)
	} else if cl, ok := c.(*redis.Client); ok {
		one(ctx, cl)
	}
	return out
}

func (m *multiRun) begin(ctx context.Context) {
	m.wall0 = time.Now()
	m.self0 = procCPUSeconds(os.Getpid())
	for _, sp := range m.servers {
		m.cpu0 = append(m.cpu0, procCPUSeconds(sp.cmd.Process.Pid))
	}
	if m.rdb != nil {
		m.noop = measureNoop(ctx, m.rdb)
		m.shard0, _ = shardCPU(ctx, m.rdb)
	}
}

func (m *multiRun) close() {
	for _, sp := range m.servers {
		sp.stop()
	}
	if m.rdb != nil {
		m.rdb.Close()
	}
	if m.redis != nil {
		m.redis.Close()
	}
}

// procCPUSeconds is the user + system CPU time of process pid, from
// /proc (0 where there is none).
func procCPUSeconds(pid int) float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) in
	// parentheses; utime and stime are fields 14 and 15, in clock ticks
	// (100 a second on Linux).
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+1:]
	}
	f := strings.Fields(s)
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100
}

// shardCPU is each master's main-thread CPU in microseconds, by address.
func shardCPU(ctx context.Context, c redis.UniversalClient) (map[string]float64, error) {
	out := map[string]float64{}
	var mu sync.Mutex
	if cc, ok := c.(*redis.ClusterClient); ok {
		err := cc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
			us, err := redisCPUOne(ctx, m)
			mu.Lock()
			out[m.Options().Addr] = us
			mu.Unlock()
			return err
		})
		return out, err
	}
	us, err := redisCPUOne(ctx, c)
	if cl, ok := c.(*redis.Client); ok {
		out[cl.Options().Addr] = us
	}
	return out, err
}

// shardOf maps hash tags to the master serving them, by address.
func shardOf(ctx context.Context, c redis.UniversalClient, tags []string) map[string][]string {
	out := map[string][]string{}
	cc, ok := c.(*redis.ClusterClient)
	if !ok {
		if cl, ok := c.(*redis.Client); ok {
			out[cl.Options().Addr] = tags
		}
		return out
	}
	shards, err := cc.ClusterShards(ctx).Result()
	if err != nil {
		return out
	}
	for _, tag := range tags {
		slot, err := cc.ClusterKeySlot(ctx, tag).Result()
		if err != nil {
			continue
		}
		for _, sh := range shards {
			for _, r := range sh.Slots {
				if r.Start <= slot && slot <= r.End {
					for _, n := range sh.Nodes {
						if n.Role == "master" {
							addr := net.JoinHostPort(n.IP, strconv.FormatInt(n.Port, 10))
							out[addr] = append(out[addr], tag)
						}
					}
				}
			}
		}
	}
	return out
}

// instCounter counts one instance's requests.
type instCounter struct {
	url      string
	requests atomic.Int64
	failed   atomic.Int64 // no answer, or a 5xx
	mu       sync.Mutex
	lat      hist
}

func (c *instCounter) count(d time.Duration, resp *http.Response, err error) {
	c.requests.Add(1)
	if err != nil || resp == nil || resp.StatusCode >= 500 {
		c.failed.Add(1)
	}
	c.mu.Lock()
	c.lat.add(d)
	c.mu.Unlock()
}

// statsRoom is a room's figures in the operator's stats.
type statsRoom struct {
	Room     string `json:"room"`
	Waiting  int64  `json:"waiting"`
	Admitted uint64 `json:"admitted"`
	Rate     int    `json:"rate_limit_per_minute"`
	Burst    int    `json:"burst"`
}

// roomLimits are a room's rate and burst, for the pacing check.
type roomLimits struct {
	Room        string
	Rate, Burst int
	Admitted    uint64
}

// roomLimits are the rooms' limits by partition ("" for a server that
// does not partition).
func (st statsJSON) roomLimits() map[string]roomLimits {
	out := map[string]roomLimits{}
	if len(st.Partitions) == 0 {
		out[""] = roomLimits{Room: st.Room.Room, Rate: st.Room.Rate, Burst: st.Room.Burst, Admitted: st.Room.Admitted}
	}
	for _, p := range st.Partitions {
		out[p.Name] = roomLimits{Room: p.Room.Room, Rate: p.Room.Rate, Burst: p.Room.Burst, Admitted: p.Room.Admitted}
	}
	return out
}

// partitionedTarget is a target whose people each book in one partition
// of the slots (a server started with -partition).
type partitionedTarget interface {
	// slotPartitions is each slot's partition, in slotList's order.
	slotPartitions() []string
	// partitionOf is person's partition, "" if not known yet.
	partitionOf(person string) string
}

func (t *httpTarget) slotPartitions() []string { return t.slotPart }

func (t *httpTarget) partitionOf(person string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.parts[person]
}

// partitionPools are one slot pool per partition, or nil when the target
// does not partition its slots.
func partitionPools(tgt target, n int) map[string]*slotPool {
	pt, ok := tgt.(partitionedTarget)
	if !ok {
		return nil
	}
	parts := pt.slotPartitions()
	if len(parts) != n {
		return nil
	}
	members := map[string][]int32{}
	for i, p := range parts {
		if p == "" {
			return nil
		}
		members[p] = append(members[p], int32(i))
	}
	pools := map[string]*slotPool{}
	for name, m := range members {
		sp := &slotPool{open: slices.Clone(m), pos: make([]int32, n), members: m}
		for i := range sp.pos {
			sp.pos[i] = -1
		}
		for k, i := range m {
			sp.pos[i] = int32(k)
		}
		pools[name] = sp
	}
	return pools
}

// slotsFor is the pool person p picks slots from: their partition's.
func (s *sim) slotsFor(p *person) *slotPool {
	if s.pools != nil {
		if sp := s.pools[s.tgt.(partitionedTarget).partitionOf(p.name)]; sp != nil {
			return sp
		}
	}
	return s.slots
}

// multiStat is the report's multi block.
type multiStat struct {
	Instances []instanceStat `json:"instances"`
	Total     instanceStat   `json:"total"`
	// Shards: each Redis master's main-thread CPU during the run.
	Shards     []shardStat `json:"shards,omitempty"`
	Partitions int         `json:"partitions"`
	Pacing     pacingCheck `json:"pacing_across_instances"`
	// StoreBookings is the bookings the store counts over every slot of
	// every partition; PeopleWithBooking the people whose own lookup
	// found one. Equal, with double_bookings 0: one place per identity
	// across instances and partitions.
	StoreBookings     int64 `json:"store_bookings"`
	PeopleWithBooking int64 `json:"people_with_booking"`
	// ClientCPUSeconds is the simulator's own CPU during the run (the
	// crowd's side of every request, on the same machine).
	ClientCPUSeconds float64 `json:"client_cpu_seconds"`
}

type instanceStat struct {
	URL                  string  `json:"url"`
	Requests             int64   `json:"requests"`
	Failed               int64   `json:"failed"`
	RequestsPerWallSec   float64 `json:"requests_per_wall_second"`
	MeanUS               float64 `json:"mean_us"`
	P50US                float64 `json:"p50_us"`
	P99US                float64 `json:"p99_us"`
	CPUSeconds           float64 `json:"cpu_seconds"`
	CPUUSPerRequest      float64 `json:"cpu_us_per_request"`
	CPUUSPerPerson       float64 `json:"cpu_us_per_person"`
	CoresBusyMeanPerWall float64 `json:"cores_busy"`
}

type shardStat struct {
	Addr           string   `json:"addr"`
	CPUSeconds     float64  `json:"redis_cpu_seconds"`
	CPUUSPerPerson float64  `json:"redis_cpu_us_per_person"`
	Share          float64  `json:"share"`
	Busy           float64  `json:"busy"` // CPU seconds over wall seconds
	Tags           []string `json:"hash_tags"`
	// NoopUS is the shard's CPU per no-op script call (EVAL return 0,
	// measured before the run); PerPersonNoops is CPUUSPerPerson in
	// those: machine load moves both alike.
	NoopUS         float64 `json:"noop_cpu_us"`
	PerPersonNoops float64 `json:"redis_cpu_per_person_in_noops"`
}

// pacingCheck: for each room, the largest excess of admissions over
// rate x T + burst over any interval [t_i, t_j] between two admissions
// the room reported (admitted_at), and whether every room stayed within
// it (to the reported instants' resolution, 1 ms: Tolerance admissions).
type pacingCheck struct {
	Rooms      []roomPacing `json:"rooms"`
	Admissions int          `json:"admissions"`
	Exceeded   int          `json:"rooms_exceeded"`
	Exact      bool         `json:"exact"`
}

type roomPacing struct {
	Partition    string  `json:"partition,omitempty"`
	Room         string  `json:"room"`
	Rate         int     `json:"rate_per_minute"`
	Burst        int     `json:"burst"`
	Admissions   int     `json:"admissions_seen"`
	RoomAdmitted uint64  `json:"room_admitted"`
	MaxExcess    float64 `json:"max_excess"`
	Tolerance    float64 `json:"tolerance"`
	// PeakPerSecond is the most admissions reported in one second.
	PeakPerSecond int `json:"peak_per_second"`
}

// maxExcess is the largest (admissions in [t_i, t_j]) - (rate x (t_j -
// t_i) + burst) over all i <= j, for sorted instants ts (seconds), in
// one pass: count(i..j) - r(t_j - t_i) = (j + 1 - r t_j) + (r t_i - i).
func maxExcess(ts []float64, perSec float64, burst int) float64 {
	best, out := -1e300, -1e300
	for j, t := range ts {
		best = max(best, perSec*t-float64(j))
		out = max(out, float64(j+1)-perSec*t+best-float64(burst))
	}
	return out
}

// multiReport builds the multi block after the run (before the audit),
// and adds its violations.
func (s *sim) multiReport(ctx context.Context, t *httpTarget, wall time.Duration) *multiStat {
	m := &multiStat{}
	people := float64(s.cfg.People)
	var all hist
	for i, ic := range t.inst {
		is := instanceStat{URL: ic.url, Requests: ic.requests.Load(), Failed: ic.failed.Load()}
		ic.mu.Lock()
		is.MeanUS, is.P50US, is.P99US = us(ic.lat.mean()), us(ic.lat.quantile(0.5)), us(ic.lat.quantile(0.99))
		all.merge(&ic.lat)
		ic.mu.Unlock()
		if t.multi != nil && i < len(t.multi.servers) {
			is.CPUSeconds = procCPUSeconds(t.multi.servers[i].cmd.Process.Pid) - t.multi.cpu0[i]
		}
		m.Instances = append(m.Instances, is)
		m.Total.Requests += is.Requests
		m.Total.Failed += is.Failed
		m.Total.CPUSeconds += is.CPUSeconds
	}
	m.Total.URL = fmt.Sprintf("%d instances", len(t.inst))
	m.Total.MeanUS, m.Total.P50US, m.Total.P99US = us(all.mean()), us(all.quantile(0.5)), us(all.quantile(0.99))
	for _, is := range append([]*instanceStat{&m.Total}, ptrs(m.Instances)...) {
		is.RequestsPerWallSec = float64(is.Requests) / wall.Seconds()
		is.CoresBusyMeanPerWall = is.CPUSeconds / wall.Seconds()
		if is.Requests > 0 {
			is.CPUUSPerRequest = is.CPUSeconds * 1e6 / float64(is.Requests)
		}
		is.CPUUSPerPerson = is.CPUSeconds * 1e6 / people
	}

	if t.multi != nil {
		m.ClientCPUSeconds = procCPUSeconds(os.Getpid()) - t.multi.self0
	}
	// The shards.
	if run := t.multi; run != nil && run.rdb != nil {
		end, _ := shardCPU(ctx, run.rdb)
		var tags []string
		for name, l := range t.limits {
			tags = append(tags, l.Room)
			if name != "" {
				tags = append(tags, "booking."+name)
			} else {
				tags = append(tags, "booking")
			}
		}
		sort.Strings(tags)
		where := shardOf(ctx, run.rdb, tags)
		var total float64
		for addr, us1 := range end {
			sh := shardStat{Addr: addr, CPUSeconds: (us1 - run.shard0[addr]) / 1e6, Tags: where[addr], NoopUS: run.noop[addr]}
			total += sh.CPUSeconds
			m.Shards = append(m.Shards, sh)
		}
		sort.Slice(m.Shards, func(i, j int) bool { return m.Shards[i].Addr < m.Shards[j].Addr })
		for i := range m.Shards {
			sh := &m.Shards[i]
			sh.CPUUSPerPerson = sh.CPUSeconds * 1e6 / people
			sh.Busy = sh.CPUSeconds / wall.Seconds()
			if sh.NoopUS > 0 {
				sh.PerPersonNoops = sh.CPUUSPerPerson / sh.NoopUS
			}
			if total > 0 {
				sh.Share = sh.CPUSeconds / total
			}
		}
	}

	// Pacing, from the admission instants the rooms reported, by room.
	end, err := t.stats(ctx)
	endLimits := t.limits
	if err == nil {
		endLimits = end.roomLimits()
	}
	by := map[string][]float64{}
	for _, p := range s.cr.people {
		p.mu.Lock()
		first, last := p.reported, p.lastAdmitted
		p.mu.Unlock()
		if first.IsZero() {
			continue
		}
		part := t.partitionOf(p.name)
		by[part] = append(by[part], first.Sub(s.open).Seconds())
		if last.After(first) {
			by[part] = append(by[part], last.Sub(s.open).Seconds())
		}
	}
	m.Partitions = len(t.limits)
	m.Pacing.Exact = true
	names := make([]string, 0, len(t.limits))
	for name := range t.limits {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		l := t.limits[name]
		ts := by[name]
		sort.Float64s(ts)
		rp := roomPacing{Partition: name, Room: l.Room, Rate: l.Rate, Burst: l.Burst, Admissions: len(ts),
			RoomAdmitted: endLimits[name].Admitted, Tolerance: float64(l.Rate) / 60 * 0.002}
		if len(ts) > 0 {
			rp.MaxExcess = maxExcess(ts, float64(l.Rate)/60, l.Burst)
			for i, j := 0, 0; j < len(ts); j++ {
				for ts[j]-ts[i] >= 1 {
					i++
				}
				rp.PeakPerSecond = max(rp.PeakPerSecond, j-i+1)
			}
		}
		if rp.MaxExcess > rp.Tolerance {
			m.Pacing.Exceeded++
			m.Pacing.Exact = false
		}
		m.Pacing.Admissions += len(ts)
		m.Pacing.Rooms = append(m.Pacing.Rooms, rp)
	}
	return m
}

func ptrs(l []instanceStat) []*instanceStat {
	out := make([]*instanceStat, len(l))
	for i := range l {
		out[i] = &l[i]
	}
	return out
}

func us(d time.Duration) float64 { return float64(d) / 1e3 }

// multiStater is implemented by the HTTP target.
type multiStater interface {
	multiStatFor(ctx context.Context, s *sim, wall time.Duration) *multiStat
}

func (t *httpTarget) multiStatFor(ctx context.Context, s *sim, wall time.Duration) *multiStat {
	return s.multiReport(ctx, t, wall)
}

// finishMulti adds the audit's cross-partition figures and the violations
// of the multi block to the report.
func (r *report) finishMulti(m *multiStat) {
	if m == nil {
		return
	}
	r.Multi = m
	m.StoreBookings, m.PeopleWithBooking = r.Audit.Booked, r.Audit.PeopleWithBook
	r.Violations.PacingExceeded = int64(m.Pacing.Exceeded)
	r.Violations.AuditMismatch = r.Audit.CountsDisagree + r.Audit.UnknownInStore
	r.Violations.sum()
}

// writeMulti writes the multi block as text.
func (r *report) writeMulti(w io.Writer) {
	m := r.Multi
	if m == nil {
		return
	}
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	p("instances (%d, requests spread in turn, no stickiness):", len(m.Instances))
	for _, is := range append(slices.Clone(m.Instances), m.Total) {
		p("  %-28s %9d requests (%d failed), %7.0f/s, mean %6.0f µs, p99 %7.0f µs; CPU %7.1f s = %5.1f µs/request, %6.0f µs/person, %.2f cores",
			is.URL, is.Requests, is.Failed, is.RequestsPerWallSec, is.MeanUS, is.P99US, is.CPUSeconds, is.CPUUSPerRequest, is.CPUUSPerPerson, is.CoresBusyMeanPerWall)
	}
	for _, sh := range m.Shards {
		p("  shard %-21s Redis main thread %6.1f s (%4.1f %%, busy %.2f): %6.1f µs/person = %.1f no-ops of %.1f µs; %s",
			sh.Addr, sh.CPUSeconds, 100*sh.Share, sh.Busy, sh.CPUUSPerPerson, sh.PerPersonNoops, sh.NoopUS, strings.Join(sh.Tags, " "))
	}
	p("  the simulator itself: CPU %.1f s", m.ClientCPUSeconds)
	p("pacing across instances: %d admissions in %d rooms, %d rooms over rate x T + burst (exact: %v)",
		m.Pacing.Admissions, len(m.Pacing.Rooms), m.Pacing.Exceeded, m.Pacing.Exact)
	for _, rp := range m.Pacing.Rooms {
		p("  %-34s rate %6d/min burst %4d: %6d admissions seen (room counts %d), peak %d in 1 s, max excess %.3f (tolerance %.3f)",
			rp.Room, rp.Rate, rp.Burst, rp.Admissions, rp.RoomAdmitted, rp.PeakPerSecond, rp.MaxExcess, rp.Tolerance)
	}
	p("one place per identity: %d bookings in the store over %d slots, %d people with a booking, double bookings %d",
		m.StoreBookings, r.Slots, m.PeopleWithBooking, r.Violations.DoubleBookings)
	p("violations of the multi block: pacing exceeded %d, audit mismatch %d (total with the above: %d)",
		r.Violations.PacingExceeded, r.Violations.AuditMismatch, r.Violations.Total)
}
