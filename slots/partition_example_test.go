package slots_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/gatehouse-go/gatehouse/slots"
)

// One opening split by region: each region is a campaign of its own (its
// own Redis hash tag, so a Cluster spreads the regions over its shards),
// and each person books in the one region Route sends them to, so that
// one booking per person holds over the whole opening.
func ExamplePartitions() {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(time.Date(2021, 7, 12, 11, 0, 0, 0, time.UTC))
	svc, err := slots.NewService(slots.NewMemoryStore(), slots.ServiceOptions{Clock: clk})
	if err != nil {
		panic(err)
	}
	parts, err := slots.NewPartitions("covid19-55-59", []slots.Partition{
		{Name: "seoul", Weight: 2}, // places: weights follow supply
		{Name: "busan", Weight: 1},
	}, slots.PartitionOptions{Key: []byte(strings.Repeat("secret-", 5))})
	if err != nil {
		panic(err)
	}
	for _, p := range parts.List() {
		err := svc.DefineSlots(ctx, slots.DefineRequest{Campaign: p.Campaign, Key: "define",
			Slots: []slots.Slot{{ID: p.Name + "-0900", Capacity: 2}}})
		if err != nil {
			panic(err)
		}
	}

	person := "3f9a0c" // a stable pseudonymous identifier
	home := parts.Of(person)
	fmt.Println("same partition every time:", parts.Of(person) == home)
	_, err = svc.Hold(ctx, slots.HoldRequest{Campaign: home.Campaign, Slot: home.Name + "-0900", Person: person, Key: "k1"})
	fmt.Println("hold in the home partition:", err)
	for _, p := range parts.List() {
		fmt.Println(p.Campaign)
	}
	// Output:
	// same partition every time: true
	// hold in the home partition: <nil>
	// covid19-55-59.seoul
	// covid19-55-59.busan
}
