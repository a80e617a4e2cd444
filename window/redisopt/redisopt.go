// Package redisopt holds the rules every gatehouse Redis backend follows:
// a key prefix ("gatehouse:<package>:" by default) of printable ASCII
// without spaces or braces (braces would break the hash tags that keep an
// entity's keys on one Cluster shard), and a client that honours context
// deadlines, so that the library's own timeouts hold. A host checks its
// client and prefixes with it before it builds the stores. Do bounds each
// call of the library by its budget even on a client CheckClient cannot
// inspect (budget.go). A function that refuses a call for mismatched
// settings or layout answers an error starting with MisconfiguredCode,
// which Misconfigured recognises for every backend.
//
// It imports nothing of gatehouse, so slots and admission use it without
// depending on window; it sits under window because the module's top level
// holds only the four packages.
package redisopt

import (
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// MisconfiguredCode starts the error reply with which a gatehouse Redis
// function refuses a call whose settings or data layout disagree with what
// the store holds (another instance's opening or seed, another version's
// layout): every backend maps it to its package's ErrMisconfigured.
const MisconfiguredCode = "GATEHOUSE_MISCONFIGURED"

// Misconfigured reports whether err is such a refusal from Redis.
func Misconfigured(err error) bool {
	var re redis.Error
	return errors.As(err, &re) && strings.HasPrefix(re.Error(), MisconfiguredCode+" ")
}

// MaxPrefix is the longest key prefix, in bytes.
const MaxPrefix = 64

// ErrNoContextTimeout reports a client built without ContextTimeoutEnabled:
// go-redis then ignores context deadlines, and a read bounded by the
// library could hang for the client's own ReadTimeout instead.
var ErrNoContextTimeout = errors.New("redis client must be built with ContextTimeoutEnabled: true")

// CheckPrefix checks a key prefix.
func CheckPrefix(p string) error {
	if len(p) > MaxPrefix {
		return fmt.Errorf("prefix %q is longer than %d bytes", p, MaxPrefix)
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c <= ' ' || c > '~' || c == '{' || c == '}' {
			return fmt.Errorf("prefix %q: byte %q not allowed (printable ASCII without spaces or braces)", p, c)
		}
	}
	return nil
}

// CheckClient checks that c honours context deadlines. Clients of other
// types (a wrapper) are accepted as they are: the caller vouches for them.
func CheckClient(c redis.UniversalClient) error {
	var on bool
	switch c := c.(type) {
	case nil:
		return errors.New("nil Redis client")
	case *redis.Client:
		on = c.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		on = c.Options().ContextTimeoutEnabled
	case *redis.Ring:
		on = c.Options().ContextTimeoutEnabled
	default:
		return nil
	}
	if !on {
		return ErrNoContextTimeout
	}
	return nil
}
