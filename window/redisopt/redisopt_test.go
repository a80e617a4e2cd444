package redisopt

import (
	"errors"
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestRules(t *testing.T) {
	for _, p := range []string{"", "gatehouse:window:", "app-1:"} {
		if err := CheckPrefix(p); err != nil {
			t.Errorf("%q: %v", p, err)
		}
	}
	for _, p := range []string{"{x}:", "a b", "é", string(make([]byte, MaxPrefix+1))} {
		if CheckPrefix(p) == nil {
			t.Errorf("%q accepted", p)
		}
	}
	off := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	on := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	defer off.Close()
	defer on.Close()
	if err := CheckClient(off); !errors.Is(err, ErrNoContextTimeout) {
		t.Errorf("client without ContextTimeoutEnabled: %v", err)
	}
	if err := CheckClient(on); err != nil {
		t.Error(err)
	}
}
