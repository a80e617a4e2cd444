package main

import (
	"context"
	"net/http"
	"time"
)

// initBackends builds the gate, the waiting room and the slot store.
func (s *server) initBackends(secret []byte) error {
	s.gate = &gateState{token: newOperatorToken()}
	return nil
}

func (s *server) setMaintenance(ctx context.Context, on bool) error {
	s.gate.maintenance.Store(on)
	return nil
}

func (s *server) maintenanceOn(ctx context.Context) bool { return s.gate.maintenance.Load() }

func (s *server) roomFigures(ctx context.Context, now time.Time) []namedValue { return nil }

func (s *server) slotFigures(ctx context.Context, now time.Time) []slotFigures {
	out := make([]slotFigures, len(s.slots))
	for i, sl := range s.slots {
		out[i] = slotFigures{ID: sl.ID, Label: sl.Label, Capacity: sl.Capacity, Left: sl.Capacity}
	}
	return out
}

// notYetWired answers routes whose library has not been integrated yet.
func (s *server) notYetWired(w http.ResponseWriter, r *http.Request) {
	s.fail(w, r, http.StatusServiceUnavailable, "Not available yet",
		"This part of the server is being built.", time.Minute)
}

func (s *server) queuePage(w http.ResponseWriter, r *http.Request)      { s.notYetWired(w, r) }
func (s *server) queueJoin(w http.ResponseWriter, r *http.Request)      { s.notYetWired(w, r) }
func (s *server) apiQueueJoin(w http.ResponseWriter, r *http.Request)   { s.notYetWired(w, r) }
func (s *server) apiQueueStatus(w http.ResponseWriter, r *http.Request) { s.notYetWired(w, r) }
func (s *server) bookPage(w http.ResponseWriter, r *http.Request)       { s.notYetWired(w, r) }
func (s *server) bookHold(w http.ResponseWriter, r *http.Request)       { s.notYetWired(w, r) }
func (s *server) holdPage(w http.ResponseWriter, r *http.Request)       { s.notYetWired(w, r) }
func (s *server) bookConfirm(w http.ResponseWriter, r *http.Request)    { s.notYetWired(w, r) }
func (s *server) bookRelease(w http.ResponseWriter, r *http.Request)    { s.notYetWired(w, r) }
func (s *server) bookingMove(w http.ResponseWriter, r *http.Request)    { s.notYetWired(w, r) }
func (s *server) bookingCancel(w http.ResponseWriter, r *http.Request)  { s.notYetWired(w, r) }
func (s *server) apiSlots(w http.ResponseWriter, r *http.Request)       { s.notYetWired(w, r) }
func (s *server) apiHold(w http.ResponseWriter, r *http.Request)        { s.notYetWired(w, r) }
func (s *server) apiConfirm(w http.ResponseWriter, r *http.Request)     { s.notYetWired(w, r) }
func (s *server) apiRelease(w http.ResponseWriter, r *http.Request)     { s.notYetWired(w, r) }
func (s *server) apiMove(w http.ResponseWriter, r *http.Request)        { s.notYetWired(w, r) }
func (s *server) apiCancel(w http.ResponseWriter, r *http.Request)      { s.notYetWired(w, r) }
func (s *server) bookingPage(w http.ResponseWriter, r *http.Request)    { s.notYetWired(w, r) }
func (s *server) apiBooking(w http.ResponseWriter, r *http.Request)     { s.notYetWired(w, r) }
