// Package gatehouse is a library for running an opening that a whole country
// hits at once: vaccine appointments, course registration, campsites, ticket
// drops. A team imports it into its own net/http server.
//
// It exists because of July 2021, when Korea's COVID-19 vaccine pre-booking
// site failed on every opening night: a direct link reached the booking form
// before it opened, maintenance left a back door, the waiting queue lived in
// the browser and was skipped by toggling airplane mode, the site took the
// current time the wrong way and told eligible people to come back another
// day, and it promised an "estimated wait of 93 hours 4 minutes" while it fell
// over. Each of those failures is a property one package guarantees:
//
//   - [github.com/gatehouse-go/gatehouse/window]: windows that open and close
//     at exact instants in a named IANA zone, half-open [start, end); a gate
//     that wraps the whole mux and denies by default; maintenance that closes
//     everything but an authenticated operator.
//   - [github.com/gatehouse-go/gatehouse/eligibility]: cohort rules over a
//     birth date, decided in the campaign's zone, loaded from strict JSON.
//   - [github.com/gatehouse-go/gatehouse/admission]: a fair,
//     server-authoritative waiting room with signed passes, an honest ETA, and
//     fail-closed behaviour when its store is unreachable.
//   - [github.com/gatehouse-go/gatehouse/slots]: atomic capacity: never
//     overbooked, one booking per person, hold then confirm, idempotent
//     retries.
//
// The packages are independent and compose: the gate wraps the server, the
// eligibility answer tells a person when to come, the waiting room paces who
// may book, and the slot store commits the booking after checking the window
// again at the same instant it books.
//
// The library's HTTP surface is shared: every refusal is an RFC 9457 problem
// whose type is problem.TypeURI(package, code), handed first to the host's
// deny hook as a typed value (window.GateOptions.Deny, admission.Options.Deny;
// package window/problem); admission/pages renders the waiting room and the
// refusals as pages in Korean and English; window.Gate.NewMux classifies and
// mounts a route in one call; slots' commit check (slots.Gate) is told who
// books what.
//
// One convention holds across the packages: a method that decides by time
// takes ctx first and now right after it (or now first without a ctx);
// stores are the first argument of a constructor and options the second
// (NewRoom(store, opts), slots.NewService(store, opts)); observers are an
// options field Observer func(Event), called synchronously, each Event with
// Op, Duration and Err; keyrings share one rule set (ids of 1 to 16
// characters, secrets of at least 32 bytes, no duplicate ids, 5 s clock
// skew, keys that never print their secret); times in JSON are in the
// campaign's zone.
//
// Every time read goes through an injected clock (github.com/benbjohnson/clock),
// stores take the current instant from the caller, and the line moves and
// holds expire lazily at the next call, so a mock clock drives every test,
// memory and Redis alike. Event.Duration in every package is measured on that
// injected clock (zero under a mock clock that does not move). One thing runs
// in the background: a window.RedisSwitch starts a goroutine that subscribes
// to the switch's change notices (stopped by its Close); nothing else starts a
// goroutine or a timer.
package gatehouse
