package admission_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/admission"
	"github.com/gatehouse-go/gatehouse/admission/admissiontest"
	"github.com/gatehouse-go/gatehouse/internal/redistest"
	"github.com/redis/go-redis/v9"
)

func TestMemoryStoreConformance(t *testing.T) {
	admissiontest.Run(t, func(t *testing.T) admission.Store { return admission.NewMemoryStore() })
}

var prefixes atomic.Int64

// testBudget is the store budget of the tests that check what the room
// decides, not how fast: under -race on a loaded machine a call may take
// longer than the 500 ms default. The fault suite keeps the default.
const testBudget = 30 * time.Second

// redisStore returns a store on c under a prefix no other store of this
// test binary uses: a fresh, empty store on a shared server, with
// testBudget.
func redisStore(t testing.TB, c redis.UniversalClient) admission.Store {
	t.Helper()
	return redisStoreWith(t, c, admission.RedisOptions{Timeout: testBudget})
}

// redisStoreWith is redisStore with opts (its Prefix is set here).
func redisStoreWith(t testing.TB, c redis.UniversalClient, opts admission.RedisOptions) admission.Store {
	t.Helper()
	opts.Prefix = fmt.Sprintf("gh-test-%d:", prefixes.Add(1))
	s, err := admission.NewRedisStore(c, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestRedis runs everything that needs Redis on one standalone server and
// one three-master Cluster, started once for the test binary.
func TestRedis(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	cluster := redistest.StartCluster(t, redistest.Options{})
	backends := []struct {
		name   string
		client redis.UniversalClient
	}{
		{"Standalone", srv.Client()},
		{"Cluster", cluster.Client()},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Run("Conformance", func(t *testing.T) {
				admissiontest.Run(t, func(t *testing.T) admission.Store { return redisStore(t, b.client) })
			})
			// Every call through the batch function (one call a batch):
			// the group commit's code path on the whole contract.
			t.Run("ConformanceBatchFunction", func(t *testing.T) {
				admissiontest.Run(t, func(t *testing.T) admission.Store {
					s, err := admission.NewRedisStoreBatchingAll(b.client, admission.RedisOptions{
						Prefix: fmt.Sprintf("gh-test-%d:", prefixes.Add(1)), Timeout: testBudget})
					if err != nil {
						t.Fatal(err)
					}
					return s
				})
			})
			for _, sc := range scenarios {
				t.Run(sc.name, func(t *testing.T) {
					t.Parallel()
					sc.fn(t, func(t testing.TB) admission.Store { return redisStore(t, b.client) })
				})
			}
		})
	}
}
