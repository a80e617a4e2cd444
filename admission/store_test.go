package admission_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-go/gatehouse/admission"
	"github.com/gatehouse-go/gatehouse/admission/admissiontest"
	"github.com/gatehouse-go/gatehouse/internal/redistest"
	"github.com/redis/go-redis/v9"
)

func TestMemoryStoreConformance(t *testing.T) {
	admissiontest.Run(t, func(t *testing.T) admission.Store { return admission.NewMemoryStore() })
}

var prefixes atomic.Int64

// redisStore returns a store on c under a prefix no other store of this
// test binary uses: a fresh, empty store on a shared server.
func redisStore(t testing.TB, c redis.UniversalClient) admission.Store {
	t.Helper()
	s, err := admission.NewRedisStore(c, admission.RedisOptions{Prefix: fmt.Sprintf("gh-test-%d:", prefixes.Add(1))})
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
			for _, sc := range scenarios {
				t.Run(sc.name, func(t *testing.T) {
					t.Parallel()
					sc.fn(t, func(t testing.TB) admission.Store { return redisStore(t, b.client) })
				})
			}
		})
	}
}
