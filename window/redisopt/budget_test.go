package redisopt_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-go/gatehouse/internal/redistest"
	"github.com/gatehouse-go/gatehouse/window/redisopt"
)

func TestHonoursDeadlines(t *testing.T) {
	plain := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer plain.Close()
	honest := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	defer honest.Close()
	cluster := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}, ContextTimeoutEnabled: true})
	defer cluster.Close()
	for _, c := range []struct {
		name string
		c    redis.UniversalClient
		want bool
	}{{"plain", plain, false}, {"ContextTimeoutEnabled", honest, true}, {"cluster", cluster, false}} {
		if got := redisopt.HonoursDeadlines(c.c); got != c.want {
			t.Errorf("%s: HonoursDeadlines = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestDoReturnsByTheBudget(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	start := time.Now()
	_, err := redisopt.Do(context.Background(), 50*time.Millisecond, false, func(ctx context.Context) (int, error) {
		<-block // a call that ignores its context
		return 1, nil
	})
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Fatalf("Do returned after %v, budget 50ms", d)
	}
	if !errors.Is(err, redisopt.ErrBudget) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrBudget", err)
	}
	v, err := redisopt.Do(context.Background(), time.Second, true, func(ctx context.Context) (int, error) {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("inline call without a deadline")
		}
		return 7, nil
	})
	if v != 7 || err != nil {
		t.Fatalf("inline Do = %d, %v", v, err)
	}
}

// A stalled server costs a caller no more than the budget, with a client
// that honours deadlines and with one that does not.
func TestDoBoundsAStalledServer(t *testing.T) {
	s := redistest.Start(t, redistest.Options{})
	plain := redis.NewClient(&redis.Options{Addr: s.Addr()})
	t.Cleanup(func() { plain.Close() })
	for _, c := range []redis.UniversalClient{plain, s.Client()} {
		if err := c.Ping(context.Background()).Err(); err != nil {
			t.Fatal(err)
		}
	}
	s.Pause()
	for _, c := range []redis.UniversalClient{plain, s.Client()} {
		start := time.Now()
		_, err := redisopt.Do(context.Background(), 100*time.Millisecond, redisopt.HonoursDeadlines(c), func(ctx context.Context) (string, error) {
			return c.Get(ctx, "k").Result()
		})
		if d := time.Since(start); d > 600*time.Millisecond || err == nil {
			t.Errorf("inline=%v: GET on a paused server: %v after %v, want an error within 100ms (+ slack)", redisopt.HonoursDeadlines(c), err, d)
		}
	}
}
