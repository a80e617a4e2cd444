package slotsupply_test

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/gatehouse-go/gatehouse/admission"
	"github.com/gatehouse-go/gatehouse/admission/slotsupply"
	"github.com/gatehouse-go/gatehouse/slots"
)

// A room over a campaign of two places: two people are admitted, the
// third waits; once both places are booked, the third hears "sold out",
// and so does a newcomer, at once.
func Example() {
	ctx := context.Background()
	clk := clock.NewMock()
	opening := time.Date(2021, 7, 12, 11, 0, 0, 0, time.UTC)
	clk.Set(opening.Add(-time.Minute))
	svc, err := slots.NewService(slots.NewMemoryStore(), slots.ServiceOptions{Clock: clk})
	if err != nil {
		panic(err)
	}
	const campaign = slots.Campaign("covid19-55-59")
	if err := svc.DefineSlots(ctx, slots.DefineRequest{Campaign: campaign, Key: "define",
		Slots: []slots.Slot{{ID: "seoul-0713-0900", Capacity: 2}}}); err != nil {
		panic(err)
	}
	key, _ := admission.NewKeyring(admission.Key{ID: "k1", Secret: bytes.Repeat([]byte{1}, 32)})
	seed, _ := admission.NewSeed(nil)
	room, err := admission.NewRoom(admission.NewMemoryStore(), admission.Options{
		Name: "covid19-55-59", Opening: opening, Rate: 600, Burst: 10,
		Keyring: key, IdentityKey: bytes.Repeat([]byte{2}, 32), Seed: seed, Clock: clk,
		Supply: slotsupply.New(svc, campaign),
	})
	if err != nil {
		panic(err)
	}
	for _, who := range []string{"alice", "bob", "carol"} {
		room.Join(ctx, who)
	}
	clk.Add(2 * time.Minute) // a minute after the opening
	for _, who := range []string{"alice", "bob", "carol"} {
		st, _ := room.Status(ctx, who)
		if st.State == admission.StateAdmitted {
			h, _ := svc.Hold(ctx, slots.HoldRequest{Campaign: campaign, Slot: "seoul-0713-0900", Person: who, Key: who + "-h"})
			svc.Confirm(ctx, slots.ConfirmRequest{Campaign: campaign, HoldID: h.ID, Person: who, Key: who + "-c"})
			room.Done(ctx, who)
		}
	}
	clk.Add(2 * time.Second) // the rooms' snapshot refreshes
	waiting := 0
	for _, who := range []string{"alice", "bob", "carol"} {
		st, _ := room.Status(ctx, who)
		if st.State == admission.StateSoldOut {
			waiting++
		}
	}
	dave, _ := room.Join(ctx, "dave")
	fmt.Println("told sold out:", waiting, "waiting,", "newcomer:", dave.State)
	// Output:
	// told sold out: 1 waiting, newcomer: sold_out
}
