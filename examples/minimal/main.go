package main

import (
	"context"
	"net/http"
	"os"
	"time"

	"github.com/gatehouse-go/gatehouse/admission"
	"github.com/gatehouse-go/gatehouse/slots"
	"github.com/gatehouse-go/gatehouse/window"
)

func main() { panic(http.ListenAndServe(":8080", handler(time.Now(), []byte(os.Getenv("SECRET"))))) }

func handler(now time.Time, secret []byte) http.Handler {
	seoul, open := window.MustLoadZone("Asia/Seoul"), window.Window{Start: now.Add(time.Minute), End: now.Add(time.Hour)}
	gate := must(window.NewGate(window.GateOptions{Schedule: window.Schedule{Zone: seoul, Openings: []window.Opening{{PreQueue: now, Booking: open}}}}))
	room := must(admission.NewRoom(admission.NewMemoryStore(), admission.Options{Name: "opening-1", Opening: open.Start,
		Keyring: must(admission.NewKeyring(admission.Key{ID: "k1", Secret: secret})), IdentityKey: secret, Seed: must(admission.NewSeed(nil))}))
	book := must(slots.NewService(slots.NewMemoryStore(), slots.ServiceOptions{Gate: slots.Window(gate)}))
	must(0, book.DefineSlots(context.Background(), slots.DefineRequest{Campaign: "c", Key: "d", Slots: []slots.Slot{{ID: "1400", Capacity: 9}}}))
	who := func(r *http.Request) (string, bool) { u, _, ok := r.BasicAuth(); return u, ok && u != "" }
	mux := gate.NewMux() // one registration: each route is classified for the gate as it is mounted
	mux.Handle(window.DuringPreQueue|window.DuringOpen, "/queue/", room.Handler(who))
	mux.Handle(window.DuringOpen, "POST /book/{slot}", room.Protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := who(r)
		if _, err := book.Hold(r.Context(), slots.HoldRequest{Campaign: "c", Slot: r.PathValue("slot"), Person: id, Key: r.Header.Get("Idempotency-Key")}); err != nil {
			slots.Problem(err, r).Write(w) // 409 full, 503 outcome unknown, ... as RFC 9457
		}
	}), who))
	return mux
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
