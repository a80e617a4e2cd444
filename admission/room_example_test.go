package admission_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/gatehouse-go/gatehouse/admission"
	"github.com/redis/go-redis/v9"
)

// exampleRoom builds the examples' room: opening 12 July 2021, 20:00 in
// Seoul, one person a second, a mock clock set a minute before, fixed
// keys and seed (in production: secrets from your secret store, and a
// seed from admission.NewSeed(nil)).
func exampleRoom() (*admission.Room, *clock.Mock) { return exampleRoomWith(nil) }

// exampleRoomWith is exampleRoom with its options changed by mod.
func exampleRoomWith(mod func(*admission.Options)) (*admission.Room, *clock.Mock) {
	seoul := time.FixedZone("KST", 9*3600)
	open := time.Date(2021, 7, 12, 20, 0, 0, 0, seoul)
	clk := clock.NewMock()
	clk.Set(open.Add(-time.Minute))
	keyring, err := admission.NewKeyring(admission.Key{ID: "2021-07", Secret: bytes.Repeat([]byte("k"), 32)})
	if err != nil {
		panic(err)
	}
	seed, err := admission.ParseSeed(strings.Repeat("ab", 32))
	if err != nil {
		panic(err)
	}
	o := admission.Options{
		Name:        "vaccine-55-59",
		Opening:     open,
		Rate:        60, // people per minute
		Burst:       1,
		Cap:         500,
		Keyring:     keyring,
		IdentityKey: bytes.Repeat([]byte("i"), 32),
		Seed:        seed,
		Clock:       clk,
	}
	if mod != nil {
		mod(&o)
	}
	room, err := admission.NewRoom(admission.NewMemoryStore(), o)
	if err != nil {
		panic(err)
	}
	return room, clk
}

// A room before and after its opening: early arrivals wait without a
// place; at the opening they are shuffled and admitted one a second, in
// the order of their places.
func Example() {
	ctx := context.Background()
	room, clk := exampleRoom()
	people := []string{"alice", "bob", "carol", "dave"}
	for _, who := range people {
		room.Join(ctx, who)
	}
	st, _ := room.Status(ctx, "alice")
	fmt.Printf("before the opening: %s, early %v, place known %v\n", st.State, st.Early, st.Place >= 0)

	clk.Add(time.Minute) // 20:00
	for range 3 {
		line := make([]admission.Status, len(people))
		for _, who := range people {
			st, err := room.Status(ctx, who)
			if err != nil {
				panic(err)
			}
			line[st.Place] = st
		}
		for _, st := range line {
			fmt.Printf("%s place %d: %s", clk.Now().Format("15:04:05"), st.Place, st.State)
			if st.State == admission.StateWaiting {
				fmt.Printf(", %d ahead", st.Ahead)
			} else {
				fmt.Printf(", pass valid until %s", st.PassExpires.In(room.Opening().Location()).Format("15:04"))
			}
			fmt.Println()
		}
		clk.Add(time.Second)
	}
	// Output:
	// before the opening: waiting, early true, place known false
	// 20:00:00 place 0: admitted, pass valid until 20:15
	// 20:00:00 place 1: waiting, 0 ahead
	// 20:00:00 place 2: waiting, 1 ahead
	// 20:00:00 place 3: waiting, 2 ahead
	// 20:00:01 place 0: admitted, pass valid until 20:15
	// 20:00:01 place 1: admitted, pass valid until 20:15
	// 20:00:01 place 2: waiting, 0 ahead
	// 20:00:01 place 3: waiting, 1 ahead
	// 20:00:02 place 0: admitted, pass valid until 20:15
	// 20:00:02 place 1: admitted, pass valid until 20:15
	// 20:00:02 place 2: admitted, pass valid until 20:15
	// 20:00:02 place 3: waiting, 0 ahead
}

// Anyone can audit the opening shuffle: the commitment is published before
// the opening, the seed and the number of early arrivals after it.
func Example_audit() {
	ctx := context.Background()
	room, clk := exampleRoom()
	commitment := room.SeedCommitment() // published before the opening
	people := []string{"alice", "bob", "carol", "dave"}
	for _, who := range people {
		room.Join(ctx, who)
	}
	clk.Add(time.Minute)
	var line []admission.Status
	for _, who := range people {
		st, _ := room.Status(ctx, who) // each person sees index and place
		line = append(line, st)
	}

	// After the opening: check the seed against the commitment, then
	// recompute every early arrival's place from the arrival index.
	seed, _ := room.Seed(clk.Now())
	stats, _ := room.Stats(ctx)
	fmt.Println("seed matches commitment:", admission.VerifyCommitment(seed, commitment))
	fmt.Println("early arrivals:", stats.Early)
	shuffle := admission.NewShuffle(seed, uint64(stats.Early))
	for i, st := range line {
		fmt.Printf("%s: arrival index %d, place recomputed: %v\n", people[i], st.Index,
			int64(shuffle.Place(st.Index)) == st.Place)
	}
	// Output:
	// seed matches commitment: true
	// early arrivals: 4
	// alice: arrival index 0, place recomputed: true
	// bob: arrival index 1, place recomputed: true
	// carol: arrival index 2, place recomputed: true
	// dave: arrival index 3, place recomputed: true
}

// Protect guards the booking routes: only a valid pass for the request's
// own identity gets through, checked without the store.
func ExampleRoom_Protect() {
	ctx := context.Background()
	room, clk := exampleRoom()
	clk.Add(time.Minute)
	st, _ := room.Join(ctx, "alice") // first in line: admitted at once

	identity := func(r *http.Request) (string, bool) {
		u := r.Header.Get("X-User") // in a real server: the signed-in user
		return u, u != ""
	}
	booking := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "booking form") })
	h := room.Protect(booking, identity)

	for _, c := range []struct{ user, pass string }{
		{"alice", ""},
		{"alice", st.Pass},
		{"mallory", st.Pass},
	} {
		req := httptest.NewRequest("GET", "/book", nil)
		req.Header.Set("X-User", c.user)
		if c.pass != "" {
			req.Header.Set(admission.DefaultPassHeader, c.pass)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		fmt.Printf("%s with pass %v: %d %s\n", c.user, c.pass != "", w.Code, w.Header().Get("Content-Type"))
	}
	// Output:
	// alice with pass false: 401 application/problem+json
	// alice with pass true: 200 text/plain; charset=utf-8
	// mallory with pass true: 403 application/problem+json
}

// The JSON API a waiting page polls.
func ExampleRoom_Handler() {
	room, clk := exampleRoom()
	identity := func(r *http.Request) (string, bool) {
		u := r.Header.Get("X-User")
		return u, u != ""
	}
	mux := http.NewServeMux()
	mux.Handle("/queue/", room.Handler(identity))

	// Tokens are long: show their kind only.
	tokens := regexp.MustCompile(`"(ticket|pass)":"(g[ht][12])\.[^"]+"`)
	call := func(method, path, user, ticket string) string {
		req := httptest.NewRequest(method, path, nil)
		req.Header.Set("X-User", user)
		if ticket != "" {
			req.Header.Set(admission.DefaultTicketHeader, ticket)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		body := strings.TrimSpace(w.Body.String())
		fmt.Println(w.Code, w.Header().Get("Cache-Control"), tokens.ReplaceAllString(body, `"$1":"$2..."`))
		var st struct{ Ticket string }
		json.Unmarshal([]byte(body), &st)
		return st.Ticket
	}
	ticket := call("POST", "/queue/join", "bob", "")
	clk.Add(time.Minute) // the opening: bob is called at once
	call("POST", "/queue/join", "carol", "")
	call("GET", "/queue/status", "bob", ticket) // called: claims, gets the pass
	call("GET", "/queue/line", "", "")
	// Output:
	// 200 no-store {"room":"vaccine-55-59","state":"waiting","early":true,"returning":false,"index":0,"place":null,"ahead":null,"eta":{"known":false},"poll_after_seconds":30,"opens_at":"2021-07-12T20:00:00+09:00","joined_at":"2021-07-12T19:59:00+09:00","ticket":"gt2..."}
	// 200 no-store {"room":"vaccine-55-59","state":"waiting","early":false,"returning":false,"index":1,"place":1,"ahead":0,"eta":{"known":false},"poll_after_seconds":5,"opens_at":"2021-07-12T20:00:00+09:00","joined_at":"2021-07-12T20:00:00+09:00","ticket":"gt2..."}
	// 200 no-store {"room":"vaccine-55-59","state":"admitted","early":true,"returning":false,"index":0,"place":0,"ahead":0,"eta":{"known":false},"poll_after_seconds":0,"opens_at":"2021-07-12T20:00:00+09:00","joined_at":"2021-07-12T19:59:00+09:00","admitted_at":"2021-07-12T20:00:00+09:00","pass":"gh1...","pass_expires_at":"2021-07-12T20:15:00+09:00"}
	// 200 public, max-age=1 {"room":"vaccine-55-59","opens_at":"2021-07-12T20:00:00+09:00","as_of":"2021-07-12T20:00:00+09:00","opened":true,"early_arrivals":1,"joined":2,"serving":1,"returning":0,"active":1,"admitted":1,"limits":{"rate_per_minute":60,"burst":1,"cap":500},"seed_commitment":"9a2db2e23f1504cd056606553ac049c5e718e8f9ce9233876df1a7a1821af885","seed":"abababababababababababababababababababababababababababababababab"}
}

// With Redis, any number of instances share one line; see NewRedisStore
// for the key layout and durability settings.
func ExampleNewRedisStore() {
	rdb := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{"127.0.0.1:7000"}, ContextTimeoutEnabled: true})
	store, err := admission.NewRedisStore(rdb, admission.RedisOptions{})
	if err != nil {
		panic(err)
	}
	room, err := admission.NewRoom(store, admission.Options{ /* ... */ })
	fmt.Println(room != nil, err != nil)
}

// A waiting person polls with the place ticket Join handed out: the room
// answers from its snapshot, without asking the store, until the place is
// called; that poll claims the place in the store and carries the pass.
func ExampleRoom_Poll() {
	ctx := context.Background()
	room, clk := exampleRoom()
	for _, who := range []string{"alice", "bob", "carol"} {
		room.Join(ctx, who)
	}
	clk.Add(time.Minute) // the opening: one person a second
	st, _ := room.Join(ctx, "dave")
	ticket := st.Ticket // kept by the client (the handler sets a cookie)
	for range 4 {
		st, err := room.Poll(ctx, "dave", ticket)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s: place %d, %s, %d ahead, pass %v\n", clk.Now().Format("15:04:05"), st.Place, st.State, st.Ahead, st.Pass != "")
		clk.Add(time.Second)
	}
	// Output:
	// 20:00:00: place 3, waiting, 2 ahead, pass false
	// 20:00:01: place 3, waiting, 1 ahead, pass false
	// 20:00:02: place 3, waiting, 0 ahead, pass false
	// 20:00:03: place 3, admitted, 0 ahead, pass true
}

// A device that sends its join again (a reloaded page, a reconnect after
// toggling airplane mode) with the ticket it holds keeps its place, and
// the store is not asked: the answer comes from the ticket and the room's
// snapshot. Without the ticket the rejoin is a Join, with the same place.
func ExampleRoom_Rejoin() {
	ctx := context.Background()
	var ops []admission.Op
	room, clk := exampleRoomWith(func(o *admission.Options) {
		o.Observer = func(ev admission.Event) { ops = append(ops, ev.Op) }
	})
	clk.Add(time.Minute) // the opening: one person a second
	for _, who := range []string{"alice", "bob", "carol"} {
		room.Join(ctx, who)
	}
	st, _ := room.Join(ctx, "dave")
	for _, ticket := range []string{st.Ticket, st.Ticket, ""} {
		ops = ops[:0]
		again, _ := room.Rejoin(ctx, "dave", ticket)
		fmt.Printf("ticket %v: place %d, %s, observed %v\n", ticket != "", again.Place, again.State, ops)
	}
	// Output:
	// ticket true: place 3, waiting, observed [poll]
	// ticket true: place 3, waiting, observed [poll]
	// ticket false: place 3, waiting, observed [join]
}

// Rate, burst and cap can change while the room runs, from any instance:
// the old rate applies up to the change, the new one after.
func ExampleRoom_SetLimits() {
	ctx := context.Background()
	room, clk := exampleRoom()
	clk.Add(time.Minute)
	stats, err := room.SetLimits(ctx, admission.Limits{Rate: 600, Burst: 10, Cap: 500})
	if err != nil {
		panic(err)
	}
	fmt.Println(stats.Limits.Rate, "a minute, burst", stats.Limits.Burst)
	_, err = room.SetLimits(ctx, admission.Limits{Rate: 0, Burst: 10})
	fmt.Println(err)
	// Output:
	// 600 a minute, burst 10
	// admission: limits: rate 0, want > 0
}
