package groupcommit

import (
	"context"
	"testing"
	"time"
)

// BenchmarkDo is the queue's own cost a call, with a sender that answers
// at once: alone (every call goes straight out) and from many goroutines
// (calls queue and share round trips).
func BenchmarkDo(b *testing.B) {
	q := New(func(ctx context.Context, batch []*Call[int, int]) {
		for _, c := range batch {
			c.Out = c.In
		}
	}, Options{Budget: time.Second})
	ctx := context.Background()
	b.Run("alone", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := q.Do(ctx, i); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(16)
		b.RunParallel(func(pb *testing.PB) {
			for i := 0; pb.Next(); i++ {
				if _, err := q.Do(ctx, i); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
