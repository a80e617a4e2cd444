package redistest

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"
)

// NoopScript is the baseline every Redis benchmark is measured against: a
// Lua script that touches one key (so Cluster routes it like a real
// operation) and does nothing. Its round trip is the floor Redis itself sets.
var NoopScript = redis.NewScript(`return 0`)

// BenchmarkNoop runs NoopScript b.N times on c with key, in parallel when
// parallel is true (use b.SetParallelism beforehand to choose the number of
// callers). Call it from a benchmark in the same run as the operation it is
// the baseline for, against the same server, so the two figures form a
// ratio.
func BenchmarkNoop(b *testing.B, c redis.UniversalClient, key string, parallel bool) {
	ctx := context.Background()
	if err := NoopScript.Load(ctx, c).Err(); err != nil {
		b.Fatal(err)
	}
	if err := NoopScript.Run(ctx, c, []string{key}).Err(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	if !parallel {
		for range b.N {
			if err := NoopScript.EvalSha(ctx, c, []string{key}).Err(); err != nil {
				b.Fatal(err)
			}
		}
		return
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := NoopScript.EvalSha(ctx, c, []string{key}).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
