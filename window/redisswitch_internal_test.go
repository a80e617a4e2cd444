package window

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestRedisOptionsTimeoutFormerName: the deprecated ReadTimeout is still
// the budget when Timeout is unset, Timeout wins when both are set, a
// negative former name is refused as a negative Timeout is, and the
// default is the admission and slots stores' 500 ms.
func TestRedisOptionsTimeoutFormerName(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	defer c.Close()
	for _, tc := range []struct {
		o    RedisOptions
		want time.Duration
	}{
		{RedisOptions{}, DefaultRedisTimeout},
		{RedisOptions{Timeout: 300 * time.Millisecond}, 300 * time.Millisecond},
		{RedisOptions{ReadTimeout: 200 * time.Millisecond}, 200 * time.Millisecond},
		{RedisOptions{Timeout: 300 * time.Millisecond, ReadTimeout: 200 * time.Millisecond}, 300 * time.Millisecond},
	} {
		s, err := NewRedisSwitch(c, tc.o)
		if err != nil {
			t.Fatalf("%+v: %v", tc.o, err)
		}
		if s.timeout != tc.want {
			t.Errorf("%+v: budget %v, want %v", tc.o, s.timeout, tc.want)
		}
		s.Close()
	}
	if s, err := NewRedisSwitch(c, RedisOptions{ReadTimeout: -1}); err == nil {
		s.Close()
		t.Error("negative ReadTimeout accepted")
	}
	if DefaultRedisTimeout != 500*time.Millisecond || DefaultSwitchReadTimeout != DefaultRedisTimeout {
		t.Errorf("defaults %v, %v", DefaultRedisTimeout, DefaultSwitchReadTimeout)
	}
}
