package slots_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-go/gatehouse/slots"
)

// The opening night of 12 July 2021, driven by a mock clock: two places,
// three people, one hold that runs out.
func Example() {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(time.Date(2021, 7, 12, 11, 0, 0, 0, time.UTC)) // 20:00 in Seoul
	svc, err := slots.NewService(slots.NewMemoryStore(), slots.ServiceOptions{Clock: clk,
		HoldTTL: 10 * time.Minute,
	})
	if err != nil {
		panic(err)
	}
	const campaign = slots.Campaign("covid19-55-59")
	err = svc.DefineSlots(ctx, slots.DefineRequest{Campaign: campaign, Key: "define-1",
		Slots: []slots.Slot{{ID: "seoul-gangnam-0713-0900", Capacity: 2}}})
	if err != nil {
		panic(err)
	}

	hold := func(person, key string) (slots.Hold, error) {
		return svc.Hold(ctx, slots.HoldRequest{Campaign: campaign, Slot: "seoul-gangnam-0713-0900", Person: person, Key: key})
	}
	alice, _ := hold("alice", "a-1")
	bob, _ := hold("bob", "b-1")
	_, err = hold("carol", "c-1")
	fmt.Println("carol:", errors.Is(err, slots.ErrFull))

	b, _ := svc.Confirm(ctx, slots.ConfirmRequest{Campaign: campaign, HoldID: alice.ID, Person: "alice", Key: "a-2"})
	fmt.Println("alice booked at", b.Confirmed.Format("15:04"))

	// Bob never confirms: at his hold's expiry, his place is free again.
	clk.Set(bob.Expires)
	_, err = svc.Confirm(ctx, slots.ConfirmRequest{Campaign: campaign, HoldID: bob.ID, Person: "bob", Key: "b-2"})
	fmt.Println("bob:", errors.Is(err, slots.ErrHoldExpired))
	if _, err := hold("carol", "c-2"); err == nil {
		fmt.Println("carol holds at", clk.Now().UTC().Format("15:04"))
	}
	a, _ := svc.Availability(ctx, campaign)
	fmt.Printf("%s: %d booked, %d held, %d free\n", a[0].Slot, a[0].Booked, a[0].Held, a[0].Free)
	// Output:
	// carol: true
	// alice booked at 11:00
	// bob: true
	// carol holds at 11:10
	// seoul-gangnam-0713-0900: 1 booked, 1 held, 0 free
}

// A retry with the same idempotency key returns the first result and does
// nothing more; the same key with a different request is refused.
func ExampleService_Hold_retry() {
	ctx := context.Background()
	clk := clock.NewMock()
	svc, _ := slots.NewService(slots.NewMemoryStore(), slots.ServiceOptions{Clock: clk})
	svc.DefineSlots(ctx, slots.DefineRequest{Campaign: "c", Key: "d", Slots: []slots.Slot{{ID: "a", Capacity: 10}}})

	req := slots.HoldRequest{Campaign: "c", Slot: "a", Person: "p", Key: "7d1f0c52-hold"}
	first, _ := svc.Hold(ctx, req)
	clk.Add(3 * time.Second) // the client timed out and tries again
	again, err := svc.Hold(ctx, req)
	fmt.Println(again == first, err)

	req.Slot = "b"
	_, err = svc.Hold(ctx, req)
	fmt.Println(errors.Is(err, slots.ErrConflict))

	a, _ := svc.Availability(ctx, "c", "a")
	fmt.Println("held:", a[0].Held)
	// Output:
	// true <nil>
	// true
	// held: 1
}

// Move carries a booking to another slot, or changes nothing.
func ExampleService_Move() {
	ctx := context.Background()
	svc, _ := slots.NewService(slots.NewMemoryStore(), slots.ServiceOptions{Clock: clock.NewMock()})
	svc.DefineSlots(ctx, slots.DefineRequest{Campaign: "c", Key: "d",
		Slots: []slots.Slot{{ID: "mon", Capacity: 1}, {ID: "tue", Capacity: 1}}})
	h, _ := svc.Hold(ctx, slots.HoldRequest{Campaign: "c", Slot: "mon", Person: "p", Key: "h"})
	b, _ := svc.Confirm(ctx, slots.ConfirmRequest{Campaign: "c", HoldID: h.ID, Person: "p", Key: "c"})

	b, err := svc.Move(ctx, slots.MoveRequest{Campaign: "c", ID: b.ID, Person: "p", To: "tue", Key: "m"})
	fmt.Println(b.Slot, err)

	// Someone takes Monday; moving back is refused and nothing changes.
	svc.Hold(ctx, slots.HoldRequest{Campaign: "c", Slot: "mon", Person: "q", Key: "h2"})
	_, err = svc.Move(ctx, slots.MoveRequest{Campaign: "c", ID: b.ID, Person: "p", To: "mon", Key: "m2"})
	fmt.Println(errors.Is(err, slots.ErrFull))
	e, _ := svc.Lookup(ctx, "c", "p")
	fmt.Println(e.Booking.Slot)
	// Output:
	// tue <nil>
	// true
	// tue
}

// Totals are a whole campaign's counts, read at once whatever the number
// of slots: what a waiting room asks to know how many places are left.
func ExampleService_Totals() {
	ctx := context.Background()
	svc, _ := slots.NewService(slots.NewMemoryStore(), slots.ServiceOptions{Clock: clock.NewMock()})
	svc.DefineSlots(ctx, slots.DefineRequest{Campaign: "c", Key: "d",
		Slots: []slots.Slot{{ID: "mon", Capacity: 2}, {ID: "tue", Capacity: 3}}})
	h, _ := svc.Hold(ctx, slots.HoldRequest{Campaign: "c", Slot: "mon", Person: "p", Key: "h"})
	svc.Confirm(ctx, slots.ConfirmRequest{Campaign: "c", HoldID: h.ID, Person: "p", Key: "c"})
	svc.Hold(ctx, slots.HoldRequest{Campaign: "c", Slot: "tue", Person: "q", Key: "h2"})

	t, err := svc.Totals(ctx, "c")
	fmt.Printf("%+v %v\n", t, err)
	// Output:
	// {Capacity:5 Booked:1 Held:1 Free:3} <nil>
}

// A snapshot checks the invariants of a whole campaign at one instant, for
// audits after a rush.
func ExampleSnapshot_Check() {
	ctx := context.Background()
	now := time.Date(2021, 7, 12, 11, 0, 0, 0, time.UTC)
	st := slots.NewMemoryStore()
	st.DefineSlots(ctx, now, slots.DefineRequest{Campaign: "c", Key: "d", Slots: []slots.Slot{{ID: "a", Capacity: 1}}})
	st.Hold(ctx, now, slots.HoldRequest{Campaign: "c", Slot: "a", Person: "p", TTL: time.Minute, Key: "h"})

	snap, _ := st.(slots.Snapshotter).Snapshot(ctx, now, "c")
	fmt.Println(len(snap.Holds), snap.Check())

	// A doctored snapshot fails the check.
	snap.Slots[0].Capacity = 0
	fmt.Println(snap.Check())
	// Output:
	// 1 <nil>
	// slot "a" overbooked: 0 booked + 1 held > capacity 0
}

// A Redis store for production: keep appendonly yes and appendfsync always
// on the server (see the package documentation), and give the store the
// same client as the rest of the application.
func ExampleNewRedisStore() {
	rdb := redis.NewClient(&redis.Options{Addr: "redis.internal:6379", ContextTimeoutEnabled: true})
	store, err := slots.NewRedisStore(rdb, slots.RedisOptions{Prefix: "myapp:slots:"})
	if err != nil {
		panic(err)
	}
	svc, err := slots.NewService(store, slots.ServiceOptions{})
	if err != nil {
		panic(err)
	}
	_ = svc
}
