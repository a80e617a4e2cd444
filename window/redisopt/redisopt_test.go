package redisopt

import (
	"errors"
	"fmt"
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

// replyErr is an error reply as go-redis returns it (a redis.Error).
type replyErr string

func (e replyErr) Error() string { return string(e) }
func (replyErr) RedisError()     {}

// TestMisconfigured: only a Redis error reply that starts with the code is
// a refusal; the same words elsewhere, or in an error that is not Redis's,
// are not.
func TestMisconfigured(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{replyErr("GATEHOUSE_MISCONFIGURED room was created by another version of gatehouse"), true},
		{fmt.Errorf("batch: %w", replyErr("GATEHOUSE_MISCONFIGURED campaign of another layout")), true},
		{replyErr("ERR something GATEHOUSE_MISCONFIGURED"), false},
		{replyErr("GATEHOUSE_MISCONFIGUREDX no"), false},
		{errors.New("GATEHOUSE_MISCONFIGURED not from Redis"), false},
		{nil, false},
	} {
		if got := Misconfigured(tc.err); got != tc.want {
			t.Errorf("Misconfigured(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
