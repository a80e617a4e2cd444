package admission

import "github.com/redis/go-redis/v9"

// NewRedisStoreBatchingAll is NewRedisStore whose group commit sends
// every call through the library's batch function, a single call as a
// batch of one, so that the conformance suite runs the batch function's
// code path on every call.
func NewRedisStoreBatchingAll(c redis.UniversalClient, opts RedisOptions) (Store, error) {
	s, err := NewRedisStore(c, opts)
	if err != nil {
		return nil, err
	}
	s.(*redisStore).batchAll = true
	return s, nil
}
