package gatehouse_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/gatehouse-go/gatehouse/admission"
	"github.com/gatehouse-go/gatehouse/eligibility"
	"github.com/gatehouse-go/gatehouse/slots"
	"github.com/gatehouse-go/gatehouse/window"
)

// The four packages composed for one opening, 12 July 2021 in Seoul: the
// schedule decides the phase, eligibility tells a person when to come, the
// waiting room admits people at a paced rate, and the slot store books at
// the same instant it checks the window. One mock clock drives everything.
func Example() {
	ctx := context.Background()
	seoul := window.MustLoadZone("Asia/Seoul")
	at := func(day, hour, minute int) time.Time {
		t, err := window.Resolve(window.Date(2021, time.July, day).At(hour, minute, 0), seoul, window.Reject)
		if err != nil {
			panic(err)
		}
		return t
	}
	clk := clock.NewMock()
	clk.Set(at(12, 19, 30))

	// window: pre-queue from 19:00, booking [20:00 on the 12th, 18:00 on the 17th).
	booking, _ := window.New(at(12, 20, 0), at(17, 18, 0))
	gate, err := window.NewGate(window.GateOptions{
		Schedule: window.Schedule{Zone: seoul, Openings: []window.Opening{{PreQueue: at(12, 19, 0), Booking: booking}}},
		Clock:    clk,
	})
	if err != nil {
		panic(err)
	}

	// eligibility: people born 1962-1966 may book in that window.
	campaign, err := eligibility.New(eligibility.Config{
		Name: "vaccine-2021-07",
		Zone: "Asia/Seoul",
		Cohorts: []eligibility.Cohort{{
			Name:    "55-59",
			Rule:    eligibility.BornBetween(eligibility.MustParseDate("1962-01-01"), eligibility.MustParseDate("1966-12-31")),
			Windows: []window.Window{booking},
		}},
	})
	if err != nil {
		panic(err)
	}
	person := eligibility.Person{BirthDate: eligibility.MustParseDate("1964-05-01")}
	fmt.Println("19:30 eligibility:", campaign.Decide(clk.Now(), person))

	// admission: a room opening at 20:00, one person a second.
	keyring, _ := admission.NewKeyring(admission.Key{ID: "k1", Secret: bytes.Repeat([]byte("p"), 32)})
	seed, _ := admission.ParseSeed(strings.Repeat("5e", 32))
	room, err := admission.NewRoom(admission.NewMemoryStore(), admission.Options{
		Name: "vaccine-55-59", Opening: booking.Start, Rate: 60, Burst: 1,
		Keyring: keyring, IdentityKey: bytes.Repeat([]byte("i"), 32), Seed: seed, Clock: clk,
	})
	if err != nil {
		panic(err)
	}

	// slots: one clinic slot of capacity 1; the service checks the gate at
	// the instant it books.
	svc, err := slots.NewService(slots.NewMemoryStore(), slots.ServiceOptions{Clock: clk, Gate: slots.Window(gate)})
	if err != nil {
		panic(err)
	}
	const c = slots.Campaign("vaccine-2021-07")
	if err := svc.DefineSlots(ctx, slots.DefineRequest{Campaign: c, Slots: []slots.Slot{{ID: "clinic-a-0900", Capacity: 1}}, Key: "define-1"}); err != nil {
		panic(err)
	}

	// 19:30: the person joins the room early; booking is refused.
	if _, err := room.Join(ctx, "user-42"); err != nil {
		panic(err)
	}
	_, err = svc.Hold(ctx, slots.HoldRequest{Campaign: c, Slot: "clinic-a-0900", Person: "user-42", Key: "hold-1"})
	fmt.Println("19:30 hold refused, not open:", errors.Is(err, window.ErrNotOpen))

	// 20:00: the room opens and admits them; they hold and confirm.
	clk.Set(booking.Start)
	st, err := room.Status(ctx, "user-42")
	if err != nil {
		panic(err)
	}
	fmt.Println("20:00 room:", st.State, "pass issued:", st.Pass != "")
	fmt.Println("20:00 pass verifies:", room.Verify(clk.Now(), st.Pass, "user-42") == nil)
	hold, err := svc.Hold(ctx, slots.HoldRequest{Campaign: c, Slot: "clinic-a-0900", Person: "user-42", Key: "hold-2"})
	if err != nil {
		panic(err)
	}
	b, err := svc.Confirm(ctx, slots.ConfirmRequest{Campaign: c, HoldID: hold.ID, Person: "user-42", Key: "confirm-1"})
	if err != nil {
		panic(err)
	}
	fmt.Println("20:00 booked:", b.Slot)
	room.Done(ctx, "user-42")

	// Someone else finds the slot full: capacity is never exceeded.
	_, err = svc.Hold(ctx, slots.HoldRequest{Campaign: c, Slot: "clinic-a-0900", Person: "user-43", Key: "hold-3"})
	fmt.Println("second person refused, full:", errors.Is(err, slots.ErrFull))

	// Output:
	// 19:30 eligibility: opens at 2021-07-12T20:00:00+09:00 (cohort "55-59", window_ahead)
	// 19:30 hold refused, not open: true
	// 20:00 room: admitted pass issued: true
	// 20:00 pass verifies: true
	// 20:00 booked: clinic-a-0900
	// second person refused, full: true
}
