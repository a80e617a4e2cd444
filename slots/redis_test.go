package slots_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-go/gatehouse/internal/redistest"
	"github.com/gatehouse-go/gatehouse/slots"
	"github.com/gatehouse-go/gatehouse/slots/slotstest"
	"github.com/redis/go-redis/v9"
)

var prefixSeq atomic.Int64

// freshStore returns a store on rdb under a key prefix no other store of
// this test binary uses.
func freshStore(t testing.TB, rdb redis.UniversalClient, opts slots.RedisOptions) slots.Store {
	t.Helper()
	if opts.Prefix == "" {
		opts.Prefix = fmt.Sprintf("test%d:", prefixSeq.Add(1))
	}
	s, err := slots.NewRedisStore(rdb, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRedisConformance(t *testing.T) {
	rdb := redistest.Start(t, redistest.Options{}).Client()
	slotstest.Run(t, func(t *testing.T) slots.Store { return freshStore(t, rdb, slots.RedisOptions{}) })
}

func TestRedisClusterConformance(t *testing.T) {
	rdb := redistest.StartCluster(t, redistest.Options{}).Client()
	slotstest.Run(t, func(t *testing.T) slots.Store { return freshStore(t, rdb, slots.RedisOptions{}) })
}
