package groupcommit_test

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-go/gatehouse/internal/groupcommit"
)

// A queue whose round trip doubles each number it carries. One caller at
// a time: each call is sent at once, in a round trip of its own.
func Example() {
	trips := 0
	q := groupcommit.New(func(ctx context.Context, batch []*groupcommit.Call[int, int]) {
		trips++
		for _, c := range batch {
			c.Out = 2 * c.In
		}
	}, groupcommit.Options{Budget: time.Second})
	for i := range 3 {
		v, err := q.Do(context.Background(), i)
		fmt.Println(v, err)
	}
	fmt.Println(trips, "round trips")
	// Output:
	// 0 <nil>
	// 2 <nil>
	// 4 <nil>
	// 3 round trips
}
