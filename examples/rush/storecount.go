package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-go/gatehouse/admission"
	"github.com/redis/go-redis/v9"
)

// Store operations counted for the report's store block.
const (
	scJoin = iota
	scStatus
	scDone
	scAdvance
	scLimits
	scHold
	scConfirm
	scSupply
	scPace
	scPlaces
	numStoreOps
)

var storeOpNames = [numStoreOps]string{"join", "status", "done", "advance", "limits", "hold", "confirm", "supply", "pace", "places"}

// storeCounter counts the store calls a run makes, by operation, and those
// made while answering status polls.
type storeCounter struct {
	calls [numStoreOps]atomic.Int64
	polls stripedCount // status polls asked of the room
	// pollCalls are store calls made while answering a poll.
	pollCalls atomic.Int64
}

// stripedCount is a counter that many goroutines add to at once, each to
// one of its stripes (by a number of the caller's, such as the person's
// index), a cache line apart: the status polls, 23 a person, would
// otherwise all write one cache line from both cores. Load sums the
// stripes.
type stripedCount [countStripes]struct {
	n atomic.Int64
	_ [56]byte
}

const countStripes = 16

// Add adds 1 to stripe i mod countStripes (any int, negative too).
func (c *stripedCount) Add(i int) { c[uint(i)%countStripes].n.Add(1) }

// Load returns the sum of the stripes.
func (c *stripedCount) Load() int64 {
	var n int64
	for i := range c {
		n += c[i].n.Load()
	}
	return n
}

type pollKey struct{}

// asPoll marks ctx as a status poll's, so that the store calls it causes
// are counted as the poll's. A request's own context (the simulator's
// reqCtx) carries the mark itself, without a context around it.
func asPoll(ctx context.Context) context.Context {
	if rc, ok := ctx.(*reqCtx); ok {
		rc.poll = true
		return rc
	}
	return context.WithValue(ctx, pollKey{}, true)
}

func (c *storeCounter) add(ctx context.Context, op int) {
	c.calls[op].Add(1)
	if ctx.Value(pollKey{}) != nil {
		c.pollCalls.Add(1)
	}
}

// countingStore is an admission.Store that counts the calls reaching the
// store under it.
type countingStore struct {
	admission.Store
	c *storeCounter
}

func (s countingStore) Join(ctx context.Context, now time.Time, room string, p admission.Params, id admission.IdentityHash) (admission.Record, error) {
	s.c.add(ctx, scJoin)
	return s.Store.Join(ctx, now, room, p, id)
}

func (s countingStore) Status(ctx context.Context, now time.Time, room string, p admission.Params, id admission.IdentityHash, h admission.PlaceHint) (admission.Record, error) {
	s.c.add(ctx, scStatus)
	return s.Store.Status(ctx, now, room, p, id, h)
}

func (s countingStore) Done(ctx context.Context, now time.Time, room string, p admission.Params, id admission.IdentityHash) (admission.Record, error) {
	s.c.add(ctx, scDone)
	return s.Store.Done(ctx, now, room, p, id)
}

func (s countingStore) Advance(ctx context.Context, now time.Time, room string, p admission.Params) (admission.Line, error) {
	s.c.add(ctx, scAdvance)
	return s.Store.Advance(ctx, now, room, p)
}

func (s countingStore) SetLimits(ctx context.Context, now time.Time, room string, p admission.Params, l admission.Limits) (admission.Line, error) {
	s.c.add(ctx, scLimits)
	return s.Store.SetLimits(ctx, now, room, p, l)
}

func (s countingStore) SetSupply(ctx context.Context, now time.Time, room string, p admission.Params, pl admission.Places, allowance int64) (admission.Line, error) {
	s.c.add(ctx, scSupply)
	return s.Store.SetSupply(ctx, now, room, p, pl, allowance)
}

func (s countingStore) AdjustLimits(ctx context.Context, now time.Time, room string, p admission.Params, l admission.Limits, since time.Time) (admission.Line, error) {
	s.c.add(ctx, scPace)
	return s.Store.AdjustLimits(ctx, now, room, p, l, since)
}

// countingSupply is an admission.Supply that counts its reads: each is a
// call to the slots store (the campaign's totals) that a room makes when
// it refreshes its snapshot, one per room instance (lane).
type countingSupply struct {
	admission.Supply
	c *storeCounter
}

func (s countingSupply) Places(ctx context.Context, now time.Time) (admission.Places, error) {
	s.c.add(ctx, scPlaces)
	return s.Supply.Places(ctx, now)
}

// storeStat is the report's store block: what the run cost the store.
type storeStat struct {
	// Calls counts store calls by operation: the room's (join, status,
	// done, advance, limits, supply, pace; places, its reads of the
	// campaign's totals from the slots store at a snapshot refresh) and
	// the booking's (hold, confirm: those that passed the gate and the
	// pass check and reached the slots store).
	Calls          map[string]int64 `json:"calls"`
	CallsTotal     int64            `json:"calls_total"`
	CallsPerPerson float64          `json:"calls_per_person"`
	// StatusPolls counts the people's status polls; StatusStoreCalls the
	// store calls made answering them (a claim, a snapshot refresh, a
	// poll without a usable ticket).
	StatusPolls      int64 `json:"status_polls"`
	StatusStoreCalls int64 `json:"status_store_calls"`
	// RedisCPUUSPerPerson is the Redis main-thread CPU (INFO cpu,
	// used_cpu_sys_main_thread + used_cpu_user_main_thread, summed over
	// the masters) spent during the run, per person, in microseconds;
	// NoopRedisCPUUS that of one no-op script call, measured the same way
	// on the same servers in the same run; FloorRatio is
	// RedisCPUUSPerPerson / (4 x NoopRedisCPUUS): a booking's four calls
	// (join, claim, hold, confirm) at the no-op's cost would be 1.
	RedisCPUUSPerPerson float64 `json:"redis_cpu_us_per_person,omitempty"`
	NoopRedisCPUUS      float64 `json:"noop_redis_cpu_us,omitempty"`
	FloorRatio          float64 `json:"floor_ratio,omitempty"`
	// FloorWallSeconds is people x 4 / the no-op's rate with -workers
	// callers (noop.parallel_per_sec): the wall time of a booking's four
	// calls at the no-op's speed; WallOverFloor is wall_seconds over it.
	FloorWallSeconds float64 `json:"floor_wall_seconds,omitempty"`
	WallOverFloor    float64 `json:"wall_over_floor,omitempty"`
	// RedisCPUOverFloor is Redis's main-thread CPU over the run (people x
	// redis_cpu_us_per_person) over the same floor: Redis runs the
	// functions on that one thread, so the wall time cannot be less than
	// this many floors whatever the client does. RedisBusy is that CPU
	// over the wall time: the share of the run Redis's main thread
	// worked.
	RedisCPUOverFloor float64 `json:"redis_cpu_over_floor,omitempty"`
	RedisBusy         float64 `json:"redis_busy,omitempty"`
	// In process (the library, its store clients and the crowd in this
	// process; Redis on this machine, as -redis-addr must be loopback):
	// MachineCPUOverFloor is this process's CPU plus Redis's main-thread
	// CPU over the run, spread over Cores (runtime.NumCPU), in floors:
	// the wall time could not be less with every core working all the
	// time. MachineBusy is the same CPU over Cores x the wall time: how
	// much of the machine the run kept working; the rest of the wall
	// time the run waited (each tick ends when its last call returns).
	MachineCPUOverFloor float64 `json:"machine_cpu_over_floor,omitempty"`
	MachineBusy         float64 `json:"machine_busy,omitempty"`
	Cores               int     `json:"cores,omitempty"`
	// What the figures above leave out, measured over the same run:
	// RedisOtherCPUSeconds is the CPU of Redis's threads but the main one
	// (background fsync and close, I/O threads); RedisChildrenCPUSeconds
	// that of its forked children that ended during the run, the AOF
	// rewrites (AOFRewrites began; a rewrite still running at the end is
	// not counted), which run beside the main thread on the same cores.
	// MachineBusyMeasured is the share of the machine's CPU time that was
	// not idle over the main loop (Linux /proc/stat: every process and
	// the kernel), against which MachineBusy shows what the simulator and
	// Redis's main thread account for.
	RedisOtherCPUSeconds    float64 `json:"redis_other_cpu_seconds,omitempty"`
	RedisChildrenCPUSeconds float64 `json:"redis_children_cpu_seconds,omitempty"`
	AOFRewrites             int64   `json:"aof_rewrites,omitempty"`
	MachineBusyMeasured     float64 `json:"machine_busy_measured,omitempty"`
}

// setFloors fills the store block's figures in floors from the run's wall
// time, its people, the no-op's rate with the run's callers, this
// process's CPU over the run (0: not in process) and the machine's cores.
func (st *storeStat) setFloors(people int, wallSec, noopPerSec, simCPUSec float64, cores int) {
	if noopPerSec <= 0 {
		return
	}
	st.FloorWallSeconds = float64(people) * 4 / noopPerSec
	st.WallOverFloor = wallSec / st.FloorWallSeconds
	redisSec := st.RedisCPUUSPerPerson * float64(people) / 1e6
	if redisSec <= 0 {
		return
	}
	st.RedisCPUOverFloor = redisSec / st.FloorWallSeconds
	st.RedisBusy = redisSec / wallSec
	if simCPUSec > 0 && cores > 0 {
		st.Cores = cores
		st.MachineCPUOverFloor = (simCPUSec + redisSec) / float64(cores) / st.FloorWallSeconds
		st.MachineBusy = (simCPUSec + redisSec) / (float64(cores) * wallSec)
	}
}

// machineCPU returns the machine's CPU time not idle and in all, in clock
// ticks, from the first line of Linux's /proc/stat (user, nice, system,
// idle, iowait, irq, softirq, steal; guest time is inside user and nice);
// zeros where there is no such file.
func machineCPU() (busy, total float64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0
	}
	for i, v := range f[1:9] {
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, 0
		}
		total += x
		if i != 3 && i != 4 { // idle, iowait
			busy += x
		}
	}
	return busy, total
}

// redisCPU returns the main-thread CPU Redis has used, summed over the
// masters c reaches, in microseconds.
func redisCPU(ctx context.Context, c redis.UniversalClient) (float64, error) {
	u, err := redisUsage(ctx, c, "cpu")
	return u.main, err
}

// redisCPUOne is redisCPU for one server.
func redisCPUOne(ctx context.Context, c redis.UniversalClient) (float64, error) {
	u, err := redisUsageOne(ctx, c, "cpu")
	return u.main, err
}

// redisUse is what Redis servers have used (INFO cpu and persistence),
// summed over masters: CPU in microseconds on the main thread, in the
// whole process (every thread), and in forked children that have ended
// (AOF rewrites, RDB saves); and how many AOF rewrites they began.
type redisUse struct {
	main, process, children float64
	rewrites                int64
}

func (u redisUse) plus(v redisUse) redisUse {
	return redisUse{u.main + v.main, u.process + v.process, u.children + v.children, u.rewrites + v.rewrites}
}

func (u redisUse) minus(v redisUse) redisUse {
	return u.plus(redisUse{-v.main, -v.process, -v.children, -v.rewrites})
}

// redisUsage returns what the masters c reaches have used so far, from
// the INFO sections named ("cpu" alone leaves the rewrites at 0).
func redisUsage(ctx context.Context, c redis.UniversalClient, sections ...string) (redisUse, error) {
	if cc, ok := c.(*redis.ClusterClient); ok {
		var mu sync.Mutex
		var total redisUse
		err := cc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
			u, err := redisUsageOne(ctx, m, sections...)
			mu.Lock()
			total = total.plus(u)
			mu.Unlock()
			return err
		})
		return total, err
	}
	return redisUsageOne(ctx, c, sections...)
}

func redisUsageOne(ctx context.Context, c redis.UniversalClient, sections ...string) (redisUse, error) {
	info, err := c.Info(ctx, sections...).Result()
	if err != nil {
		return redisUse{}, err
	}
	var u redisUse
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		var dst *float64
		switch k {
		case "used_cpu_sys_main_thread", "used_cpu_user_main_thread":
			dst = &u.main
		case "used_cpu_sys", "used_cpu_user":
			dst = &u.process
		case "used_cpu_sys_children", "used_cpu_user_children":
			dst = &u.children
		case "aof_rewrites":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return redisUse{}, fmt.Errorf("INFO %s: %w", k, err)
			}
			u.rewrites = n
			continue
		default:
			continue
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return redisUse{}, fmt.Errorf("INFO %s: %w", k, err)
		}
		*dst += f * 1e6
	}
	return u, nil
}
