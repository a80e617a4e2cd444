// Package slotsupply tells an admission.Room the places left in a slots
// campaign: the wiring between the two packages, which never import each
// other.
//
//	room, err := admission.NewRoom(store, admission.Options{
//		// ...
//		Supply: slotsupply.New(svc, campaign),
//	})
//
// Each Room then reads the campaign's places at most once per snapshot
// refresh: its totals, which the slots stores keep as they go, so one read
// costs the same for ten slots or ten thousand (or, when slots are named,
// one atomic read of those slots).
package slotsupply
