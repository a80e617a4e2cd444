package window_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-go/gatehouse/internal/redistest"
	"github.com/gatehouse-go/gatehouse/window"
)

func TestMemorySwitch(t *testing.T) {
	ctx := context.Background()
	var zero window.MemorySwitch
	if on, err := zero.On(ctx); on || err != nil {
		t.Fatalf("zero MemorySwitch: %v, %v; want off", on, err)
	}
	s := window.NewMemorySwitch(true)
	if on, _ := s.On(ctx); !on {
		t.Fatal("NewMemorySwitch(true) is off")
	}
	if err := s.Set(ctx, false); err != nil {
		t.Fatal(err)
	}
	if on, _ := s.On(ctx); on {
		t.Fatal("Set(false) not seen")
	}
}

// getCounter counts GET commands, to show On does not read Redis per call.
type getCounter struct{ n atomic.Int64 }

func (c *getCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *getCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == "get" {
			c.n.Add(1)
		}
		return next(ctx, cmd)
	}
}
func (c *getCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// newRedisSwitch makes a switch on its own client, as another server
// instance would have, and waits until its subscription is active.
func newRedisSwitch(t testing.TB, c redis.UniversalClient, opts window.RedisOptions) *window.RedisSwitch {
	t.Helper()
	s, err := window.NewRedisSwitch(c, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	waitFor(t, 10*time.Second, "subscription", s.Subscribed)
	return s
}

// waitFor polls cond in real time: only for what travels over the network
// (pub/sub deliveries, reconnections), never for the decisions themselves,
// which the mock clock drives.
func waitFor(t testing.TB, limit time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return time.Since(start)
}

func isOn(t testing.TB, s window.Switch) bool {
	t.Helper()
	on, err := s.On(context.Background())
	if err != nil {
		t.Fatalf("On: %v", err)
	}
	return on
}

// switchSuite is what every Redis topology must show.
func switchSuite(t *testing.T, newClient func() redis.UniversalClient, prefix string) {
	ctx := context.Background()
	const ttl = time.Second
	t.Run("ttl bound without notices", func(t *testing.T) {
		key := prefix + ":ttl"
		clk := clock.NewMock()
		b := newRedisSwitch(t, newClient(), window.RedisOptions{Prefix: key + ":", Clock: clk})
		if isOn(t, b) {
			t.Fatal("missing key reads on")
		}
		// A change that sends no notice (written behind the switch's
		// back): the reading lives exactly TTL on the clock.
		if err := newClient().Set(ctx, key+":{maintenance}", "1", 0).Err(); err != nil {
			t.Fatal(err)
		}
		clk.Add(ttl - time.Nanosecond)
		if isOn(t, b) {
			t.Fatal("reading refreshed before TTL")
		}
		clk.Add(time.Nanosecond)
		if !isOn(t, b) {
			t.Fatal("change not seen at TTL: the bound does not hold")
		}
	})
	t.Run("notice reaches other instances at once", func(t *testing.T) {
		key := prefix + ":notice"
		clk := clock.NewMock()
		a := newRedisSwitch(t, newClient(), window.RedisOptions{Prefix: key + ":", Clock: clk})
		b := newRedisSwitch(t, newClient(), window.RedisOptions{Prefix: key + ":", Clock: clk})
		if isOn(t, a) || isOn(t, b) {
			t.Fatal("on before Set")
		}
		if err := a.Set(ctx, true); err != nil {
			t.Fatal(err)
		}
		if !isOn(t, a) {
			t.Fatal("Set not seen by its own instance")
		}
		// The mock clock stands still: only the notice can do it.
		took := waitFor(t, 5*time.Second, "notice", func() bool { return isOn(t, b) })
		t.Logf("notice delivered in %v of real time", took)
		if err := b.Set(ctx, false); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "notice back", func() bool { return !isOn(t, a) })
	})
	t.Run("no round trip per request", func(t *testing.T) {
		key := prefix + ":cost"
		clk := clock.NewMock()
		c := newClient()
		var gets getCounter
		c.AddHook(&gets)
		s := newRedisSwitch(t, c, window.RedisOptions{Prefix: key + ":", Clock: clk})
		base := gets.n.Load()
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 500 {
					if on, err := s.On(ctx); on || err != nil {
						t.Errorf("On = %v, %v", on, err)
						return
					}
				}
			})
		}
		wg.Wait()
		if n := gets.n.Load() - base; n != 1 {
			t.Fatalf("%d GETs for 4000 concurrent On calls within one TTL, want 1", n)
		}
		clk.Add(ttl)
		for range 1000 {
			s.On(ctx)
		}
		if n := gets.n.Load() - base; n != 2 {
			t.Fatalf("%d GETs after one TTL, want 2", n)
		}
	})
	t.Run("missing key", func(t *testing.T) {
		off := newRedisSwitch(t, newClient(), window.RedisOptions{Prefix: prefix + ":missing" + ":"})
		if isOn(t, off) {
			t.Fatal("missing key reads on by default")
		}
		on := newRedisSwitch(t, newClient(), window.RedisOptions{Prefix: prefix + ":missing" + ":", MissingIsOn: true})
		if !isOn(t, on) {
			t.Fatal("missing key reads off with MissingIsOn")
		}
		if err := on.Set(ctx, false); err != nil {
			t.Fatal(err)
		}
		if isOn(t, on) {
			t.Fatal("Set(false) not seen")
		}
	})
	t.Run("unreadable value fails closed", func(t *testing.T) {
		key := prefix + ":garbage"
		if err := newClient().Set(ctx, key+":{maintenance}", "yes", 0).Err(); err != nil {
			t.Fatal(err)
		}
		s := newRedisSwitch(t, newClient(), window.RedisOptions{Prefix: key + ":"})
		on, err := s.On(ctx)
		if !on || !errors.Is(err, window.ErrSwitchUnavailable) {
			t.Fatalf("On = %v, %v; want on and ErrSwitchUnavailable", on, err)
		}
	})
	t.Run("closed switch fails closed", func(t *testing.T) {
		key := prefix + ":closed"
		s, err := window.NewRedisSwitch(newClient(), window.RedisOptions{Prefix: key + ":"})
		if err != nil {
			t.Fatal(err)
		}
		if isOn(t, s) {
			t.Fatal("on")
		}
		s.Close()
		if on, err := s.On(ctx); !on || !errors.Is(err, window.ErrSwitchUnavailable) {
			t.Fatalf("after Close: On = %v, %v", on, err)
		}
		if s.Subscribed() {
			t.Fatal("subscribed after Close")
		}
		if err := s.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
	})
}

// TestRedisSwitch runs the switch suite on a standalone server.
func TestRedisSwitch(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	switchSuite(t, func() redis.UniversalClient { return srv.Client() }, "switch-standalone")
}

// TestRedisSwitchCluster runs the switch suite on a three-master cluster.
func TestRedisSwitchCluster(t *testing.T) {
	c := redistest.StartCluster(t, redistest.Options{})
	switchSuite(t, func() redis.UniversalClient { return c.Client() }, "switch-cluster")
}

func TestRedisOptions(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	defer c.Close()
	for _, o := range []window.RedisOptions{
		{TTL: -1},
		{TTL: time.Second, Retry: 2 * time.Second},
		{Retry: -1},
		{Timeout: -1},
	} {
		if s, err := window.NewRedisSwitch(c, o); err == nil {
			s.Close()
			t.Errorf("%+v accepted", o)
		}
	}
	if _, err := window.NewRedisSwitch(nil, window.RedisOptions{}); err == nil {
		t.Error("nil client accepted")
	}
	s, err := window.NewRedisSwitch(c, window.RedisOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Key() != window.DefaultRedisPrefix+"{maintenance}" {
		t.Fatalf("default key %q", s.Key())
	}
	// Nothing listens on port 1: the switch fails closed from the start.
	if on, err := s.On(context.Background()); !on || !errors.Is(err, window.ErrSwitchUnavailable) {
		t.Fatalf("unreachable Redis: On = %v, %v", on, err)
	}
}

// TestGatesShareRedis runs two gates, as two server instances, on one Redis
// switch: maintenance switched on through one is enforced by the other
// within the bound; with Redis killed both refuse (fail closed); when it
// returns, both serve again.
func TestGatesShareRedis(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	ctx := context.Background()
	const key = "gates:maintenance"
	clk := mockAt(kst(t, "2021-07-13T02:30")) // booking open
	var gates [2]*window.Gate
	var handlers [2]http.Handler
	for i := range gates {
		// Short client timeouts so a dead server is noticed quickly.
		c := redis.NewClient(&redis.Options{Addr: srv.Addr(), DialTimeout: 200 * time.Millisecond, MaxRetries: 1, ContextTimeoutEnabled: true})
		t.Cleanup(func() { c.Close() })
		sw := newRedisSwitch(t, c, window.RedisOptions{Prefix: key + ":", Clock: clk})
		gates[i], handlers[i], _ = newApp(t, window.GateOptions{Clock: clk, Switch: sw})
	}
	status := func(i int) int {
		return serve(handlers[i], httptest.NewRequest("POST", "/api/book", nil)).Code
	}
	for i := range gates {
		if s := status(i); s != 200 {
			t.Fatalf("gate %d: %d before maintenance", i, s)
		}
	}

	// On through gate 0: gate 1 enforces it by the notice, the clock
	// standing still.
	if err := gates[0].Switch().Set(ctx, true); err != nil {
		t.Fatal(err)
	}
	if s := status(0); s != 503 {
		t.Fatalf("gate 0: %d right after its own Set", s)
	}
	took := waitFor(t, 5*time.Second, "gate 1 enforcing maintenance", func() bool { return status(1) == 503 })
	t.Logf("gate 1 refused %v (real time) after gate 0 switched maintenance on", took)
	// And by the TTL alone, with no notice: turn it off behind their backs.
	if err := srv.Client().Set(ctx, key+":{maintenance}", "0", 0).Err(); err != nil {
		t.Fatal(err)
	}
	clk.Add(window.DefaultSwitchTTL - time.Nanosecond)
	if status(0) != 503 || status(1) != 503 {
		t.Fatal("a reading younger than the TTL was refreshed without a notice")
	}
	clk.Add(time.Nanosecond)
	if status(0) != 200 || status(1) != 200 {
		t.Fatal("the change was not enforced at the TTL bound")
	}

	// Redis dies: both fail closed, first through the broken
	// subscription (the clock standing still), then certainly past the TTL.
	srv.Kill()
	for i := range gates {
		waitFor(t, 5*time.Second, "fail closed", func() bool { return status(i) == 503 })
	}
	clk.Add(window.DefaultSwitchTTL)
	for i := range gates {
		rec := serve(handlers[i], httptest.NewRequest("POST", "/api/book", nil))
		p := problemBody(t, rec)
		if rec.Code != 503 || p["phase"] != "maintenance" || rec.Header().Get("Retry-After") != "5" {
			t.Fatalf("gate %d with Redis down: %d %v Retry-After %q", i, rec.Code, p, rec.Header().Get("Retry-After"))
		}
		if s := serve(handlers[i], httptest.NewRequest("GET", "/healthz", nil)).Code; s != 200 {
			t.Fatalf("gate %d: health check %d with Redis down (Always routes must pass)", i, s)
		}
		err := gates[i].Require(ctx, clk.Now())
		if !errors.Is(err, window.ErrMaintenance) || !errors.Is(err, window.ErrSwitchUnavailable) {
			t.Fatalf("gate %d: Require with Redis down = %v", i, err)
		}
		if err := gates[i].Switch().Set(ctx, false); !errors.Is(err, window.ErrSwitchUnavailable) {
			t.Fatalf("gate %d: Set with Redis down = %v", i, err)
		}
	}

	// Redis returns (empty, as without persistence: the key is missing,
	// which reads off): the restored subscription ends the outage.
	srv.Restart()
	for i := range gates {
		waitFor(t, 10*time.Second, "recovery", func() bool { return status(i) == 200 })
		if err := gates[i].Require(ctx, clk.Now()); err != nil {
			t.Fatalf("gate %d: Require after recovery = %v", i, err)
		}
	}
}

// TestRedisSwitchRetryPacing checks that during an outage On does not ask
// Redis on every call: a failed read is remembered for Retry on the clock.
func TestRedisSwitchRetryPacing(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, ContextTimeoutEnabled: true,
		Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return nil, errors.New("connection refused (test)")
		}})
	defer c.Close()
	var gets getCounter
	c.AddHook(&gets)
	clk := clock.NewMock()
	s, err := window.NewRedisSwitch(c, window.RedisOptions{Clock: clk, Retry: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	calls := func() {
		for range 100 {
			on, err := s.On(context.Background())
			if !on || !errors.Is(err, window.ErrSwitchUnavailable) {
				t.Fatalf("On = %v, %v; want on and ErrSwitchUnavailable", on, err)
			}
		}
	}
	calls()
	clk.Add(99 * time.Millisecond)
	calls()
	if n := gets.n.Load(); n != 1 {
		t.Fatalf("%d reads for 200 calls within one Retry, want 1", n)
	}
	clk.Add(time.Millisecond)
	calls()
	if n := gets.n.Load(); n != 2 {
		t.Fatalf("%d reads after one Retry, want 2", n)
	}
}
