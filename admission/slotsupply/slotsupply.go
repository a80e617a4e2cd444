package slotsupply

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-go/gatehouse/admission"
	"github.com/gatehouse-go/gatehouse/slots"
)

// New returns the places left in campaign, as svc reports them: free
// places (capacity neither booked nor held) and live holds, summed over
// the slots named by ids, or over every slot of the campaign if none is
// named. With no ids it reads the campaign's totals ([slots.Service.Totals]:
// one read whatever the number of slots on the memory and Redis stores);
// with ids, the availability of each slot named. svc reads its own clock
// (the room's now is not passed on); give both the same one.
func New(svc *slots.Service, campaign slots.Campaign, ids ...string) admission.Supply {
	ids = append([]string(nil), ids...)
	return admission.SupplyFunc(func(ctx context.Context, _ time.Time) (admission.Places, error) {
		if len(ids) == 0 {
			t, err := svc.Totals(ctx, campaign)
			if err != nil {
				return admission.Places{}, fmt.Errorf("slotsupply: %w", err)
			}
			return admission.Places{Free: int64(t.Free), Held: int64(t.Held)}, nil
		}
		a, err := svc.Availability(ctx, campaign, ids...)
		if err != nil {
			return admission.Places{}, fmt.Errorf("slotsupply: %w", err)
		}
		return Sum(a), nil
	})
}

// Sum adds up the free and held places of a.
func Sum(a []slots.Availability) admission.Places {
	var pl admission.Places
	for _, s := range a {
		pl.Free += int64(s.Free)
		pl.Held += int64(s.Held)
	}
	return pl
}
