// Command reservation is a complete reservation server built on gatehouse:
// the template a team copies to run an opening that a whole country hits at
// once.
//
//	go run ./examples/reservation
//
// With no flags it serves a demo campaign on in-memory backends, in Seoul
// time: the waiting room opens at start, booking opens a minute later
// (-opens-in) for everyone aged 18 or over, and five small slots at three
// clinics are on offer. It prints its address and an operator token for the
// console at /operator. With -campaign it serves an eligibility campaign
// file instead (see package eligibility), each booking window with its own
// waiting room opening -prequeue before it; with -now it starts its clock at
// another instant, to replay a past campaign:
//
//	go run ./examples/reservation -campaign eligibility/testdata/korea-2021-07.json -now 2021-07-19T19:45:00+09:00
//
// # How the parts compose
//
// Cross-origin protection (http.CrossOriginProtection) first refuses
// state-changing requests that a browser sent from another site. Then every
// request passes the gate, which wraps the whole mux and denies by default:
// the routes are registered from one table (routes.go), each with an access
// class, through the gate's Mux (window.Gate.NewMux), which classifies and
// mounts a route in one call, so no handler can be registered without a
// class, and a request that matches no route is refused. Booking routes are
// also wrapped in the waiting room's pass check (admission.Room.Protect) at
// registration. The server uses only the libraries' public API: a test
// copies it into a module of its own and builds it.
//
// A booking (hold, confirm, move) is then checked once more, at one instant:
// the slot service (slots.Service) reads its clock once and hands that
// instant both to its Gate and to the store. The server's Gate for the
// service checks the window (window.Gate.Require), the person's
// eligibility (eligibility.Campaign.Decide) and their pass
// (admission.Room.Verify) at that same instant, so nothing can open between
// the check and the write. The service tells it who books what
// (slots.Attempt, the request's Proof carrying the session and the pass).
//
// # Pages, in Korean and English
//
// Every page speaks the language the browser asks for (Accept-Language with
// q-values, or ?lang=ko / ?lang=en from the switch at the foot of each
// page), with dates in the campaign's zone written for the language
// ("2021년 7월 19일 (월) 오후 8:00", "Mon 19 July 2021, 20:00 KST"). The
// waiting room and the refusals of the gate and the room are the library's
// pages (admission/pages), handed the refusals by the deny hooks
// (window.GateOptions.Deny, admission.Options.Deny); the server's own pages
// take their words from the same languages (i18n.go adds the server's
// strings).
//
// The session cookie (a name and a birth date, signed with HMAC-SHA256)
// stands in for the host's real authentication. The identity the libraries
// see is derived from both; the waiting room stores only its keyed hash and
// the slot store a keyed hash of it too.
//
// # Routes and phases
//
// The gate opens each class of routes in these phases (maintenance closes
// everything but the infrastructure class; a valid operator token passes
// everywhere):
//
//	class       routes                                                 not yet  pre-queue  open  closed  maintenance
//	infra       GET /healthz, GET /metrics, GET /static/,              yes      yes        yes   yes     yes
//	            GET /gatehouse/ (the library pages' style and script),
//	            GET|POST /operator/signin
//	landing     GET /                                                  yes      yes        yes   yes     no
//	check-in    GET|POST /signin, POST /signout, GET /eligibility,     no       yes        yes   yes     no
//	            POST /api/session, GET /api/eligibility
//	queue       GET /queue, POST /queue/join,                          no       yes        yes   no      no
//	            POST /api/queue/join, GET /api/queue/status
//	booking     GET /book, POST /book/hold, GET /book/hold/{id},       no       no         yes   no      no
//	(+ pass)    POST /book/hold/{id}/confirm, POST /book/hold/{id}/release,
//	            POST /booking/move, POST /booking/cancel,
//	            GET /api/slots, POST /api/holds,
//	            POST /api/holds/{id}/confirm, DELETE /api/holds/{id},
//	            POST /api/bookings/me/move, DELETE /api/bookings/me
//	my-booking  GET /booking, GET /api/bookings/me                     no       no         yes   yes     no
//	operator    GET /operator, POST /operator/maintenance,             operators only, in every phase
//	            POST /operator/signout, GET /api/operator/stats,
//	            POST /operator/limits, POST /api/operator/limits,
//	            POST /operator/message, POST /api/operator/message
//
// A refusal is an RFC 9457 problem (application/problem+json) with the
// phase and, where known, "opens_at" and "closes_at" in the campaign's
// zone: 403 before opening or after closing, 503 with Retry-After in
// maintenance (or when the maintenance switch cannot be read), 404 for an
// operator route or a path nobody registered, 405 with Allow for a
// registered path and another method. Its type is
// docs/problems.md#<package>-<code> and its "code" member the code. A
// browser (Accept: text/html) gets the same status as an HTML page in its
// language; a browser without a pass that asks for a booking page is sent
// to the waiting room.
//
// # JSON API
//
// Clients keep cookies (the session cookie, and the pass cookie once
// admitted) or send the pass as "Authorization: Bearer <pass>". Errors are
// problem+json; a field error (422) lists {"field", "message"} pairs under
// "errors". Bodies are JSON objects of at most 8 KiB; unknown members are
// refused. Times are RFC 3339 in the campaign's zone.
//
//	POST   /api/session             {"name", "birth_date": "YYYY-MM-DD"} -> {"name", "birth_date", "expires_at", "partition"}; sets the session cookie
//	GET    /api/eligibility         -> {"status": "not_eligible"|"not_yet"|"open"|"closed", "reason", "cohort",
//	                                    "opens_at", "closes_at", "at", "phase", "may_queue"}
//	POST   /api/queue/join          -> the room's status (below); 403 if this opening is not the person's
//	GET    /api/queue/status        -> {"state": "waiting"|"admitted"|"expired"|"done", "people_ahead" (null until
//	                                    the draw), "eta": {"known", "min_seconds", "max_seconds"}, "eta_text",
//	                                    "headline", "poll_after_seconds", "place", "index", "early", "returning",
//	                                    "opens_at", "ticket" while waiting, "pass" and "pass_expires_at" once
//	                                    admitted, ...}
//	GET    /api/slots               -> {"slots": [{"id", "label", "capacity", "booked", "held", "left", "left_text"}]}
//	POST   /api/holds               {"slot"} -> 201 {"hold": {"id", "slot", "label", "created_at", "expires_at"}}
//	POST   /api/holds/{id}/confirm  -> {"booking": {"id", "slot", "label", "created_at", "confirmed_at"}}
//	DELETE /api/holds/{id}          -> {"released": id}
//	GET    /api/bookings/me         -> {"booking": {...}} or {"hold": {...}}; 404 if neither
//	POST   /api/bookings/me/move    {"slot"} -> {"booking": {...}}
//	DELETE /api/bookings/me         -> {"cancelled": id}
//	GET    /api/operator/stats      -> the console's figures (operators: "Authorization: Operator <token>"):
//	                                   limits in force, drain estimate, places free and held, sold out
//	POST   /api/operator/limits     {"rate_per_minute", "burst", "cap", "min_rate_per_minute",
//	                                 "max_rate_per_minute"} (any of them) -> the limits now in
//	                                   force, for every instance, without a restart
//	POST   /api/operator/message    {"message": "..."} -> shown on the waiting page and in the
//	                                   status JSON (operator_message); this instance's
//
// The console (GET /operator) reloads itself every 15 s, shows the line's
// drain estimate and the places left (SOLD OUT once every place is
// booked), changes the same limits by form, writes the message, and asks
// for confirmation before it turns maintenance on or off. The waiting room
// knows the places left (admission/slotsupply over the slots): it never
// admits more people at once than places remain times -overbooking, and
// says "sold out" at once when they are gone. -pacing lets the booking
// calls' latency and errors set the rate (admission.Pacer).
//
//	GET    /healthz                 -> 200 "ok", always
//
// Poll /api/queue/status after poll_after_seconds: the room says when a
// person should ask again so that nobody misses their turn. Join and status
// hand a place ticket (the gh_ticket cookie, and "ticket" in the JSON; an
// API client sends it back in a Gatehouse-Ticket header): with it a poll,
// and a join sent again (a reloaded page, a reconnect), is answered from
// the room's snapshot without a store call until the place is called.
// Mutating
// booking calls take an Idempotency-Key header (1 to 128 printable ASCII
// characters): a retry with the same key returns the first result, the same
// key with another request is refused with 422; without one the server
// makes one, so a retry is a new request. Booking statuses: 201/200 done;
// 401 no session or no pass; 403 refused at commit (window, eligibility,
// pass); 404 no such slot, hold or booking of yours; 409 the slot is full or
// you already hold or booked one; 410 the hold expired; 429 too many
// sign-ins or joins by one person (Retry-After); 503 a store is
// unavailable (Retry-After; nobody was admitted). A store error never
// means "nothing was booked": Redis may have run a call whose reply was
// lost. So a confirm that fails asks again with the same key before it
// answers; if that fails too it answers 503 with "outcome": "unknown", and
// the person looks at GET /api/bookings/me, which, once it finds the
// booking, also ends the person's place in the waiting room.
//
// # Flags
//
//	-addr         listen address (default 127.0.0.1:8080)
//	-campaign     eligibility campaign file; empty: the demo campaign
//	-prequeue     campaign file: the waiting room opens this long before each window (default 30m)
//	-opens-in     demo: booking opens this long after start (default 1m)
//	-open-for     demo: booking stays open this long (default 6h)
//	-store        memory or redis (default memory)
//	-redis-addr   Redis address; several, comma-separated, mean a Redis Cluster
//	-redis-timeout each Redis call's budget, past which the request gets 503 (default 500ms)
//	-rate         people admitted per minute (default 120)
//	-max-active   most people admitted and booking at once (default 50)
//	-hold-for     how long a hold waits for confirmation (default 5m)
//	-pass-for     how long an admitted person's pass stays valid once claimed (default 15m)
//	-client-limit sign-ins and joins per person per minute (default 20; 0 turns it off)
//	-client-limit-by  identity (default: the limit counts per person) or address
//	              (per client IP, an IPv6 /64; carrier-grade NAT puts whole mobile
//	              networks behind a few addresses, so only where clients have their own)
//	-trusted-proxy    with -client-limit-by address: IPs or CIDRs of the reverse proxies
//	              whose X-Forwarded-For is believed (from any other peer it is ignored)
//	-secure-cookies  mark cookies Secure on plain HTTP (behind a TLS-terminating proxy)
//	-now          start the clock at this RFC 3339 instant and let it run
//	-opens-at     demo: booking opens at this RFC 3339 instant (instead of -opens-in
//	              after start), so that instances started one after another serve one opening
//	-slots        the slots on offer: REGION[/SITE]=COUNTxCAPACITY groups, comma-separated
//	              (seoul=40x50,busan/haeundae=20x50: IDs seoul-0001, busan-haeundae-0001, ...);
//	              a -campaign file may carry them instead, as {"eligibility": {the campaign},
//	              "slots": [{"region", "site", "label", "count", "capacity"}]}
//	-partition    split the campaign by region: each region is a slots campaign
//	              ("booking.<region>") and a waiting room ("opening-1-<unix>.<region>") of
//	              its own, under its own Redis hash tag, so that a Cluster spreads one
//	              opening over its shards; -rate, the burst and -max-active are shared out
//	              over the regions by places (admission.Limits.Split) and add up to the
//	              whole; each person is routed to one region (slots.Partitions, a keyed
//	              hash weighted by places; GET /api/eligibility says which, "partition"),
//	              sees and books only its slots, on any instance, so one booking per person
//	              holds over the whole opening; the operator's stats list each region
//	              ("partitions") and every slot with its "partition"
//
// Invalid flags or a bad campaign file end the program with a message and
// status 2. The key that signs sessions, passes and operator tokens comes
// from $GATEHOUSE_SECRET (hex, at least 32 bytes); every instance behind one
// load balancer needs the same one, and with -store redis the same
// campaign file (the demo campaign's opening depends on each start).
//
// # Web basics
//
// The server is meant to be copied, so it carries what a production server
// needs: server timeouts (ReadHeaderTimeout and the rest), graceful
// shutdown on SIGINT and SIGTERM, request bodies bounded with
// http.MaxBytesReader, cookies HttpOnly, SameSite=Lax and Secure over TLS,
// cross-origin protection for forms and JSON, a per-client rate limit on
// sign-in and join (golang.org/x/time/rate, keyed by IP, /64 for IPv6, in
// a bounded map), a Content-Security-Policy without inline script,
// server-rendered pages that work without JavaScript (the waiting room
// reloads itself in a <noscript> meta refresh, and keeps going through
// maintenance and outages saying the place is kept), labelled form
// controls and an aria-live position, and Prometheus metrics at /metrics fed by the
// libraries' observer hooks.
package main
