// Package slotsupply tells an admission.Room the places left in a slots
// campaign: the wiring between the two packages, which never import each
// other.
//
//	room, err := admission.NewRoom(store, admission.Options{
//		// ...
//		Supply: slotsupply.New(svc, campaign),
//	})
//
// Each Room then reads the campaign's availability (one atomic read of
// every slot, or of the slots named) at most once per snapshot refresh.
package slotsupply
