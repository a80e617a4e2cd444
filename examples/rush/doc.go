// Command rush simulates an opening-night rush on gatehouse, at the scale of
// July 2021 (1.85 million people for 1.85 million slots), and audits the
// result independently of the system it drives.
//
//	go run ./rush                                   # 20,000 people, in process, memory
//	go run ./rush -store redis -redis-start         # the same on a Redis it starts (AOF, fsync always)
//	go run ./rush -people 1850000 -store redis -redis-start -plot out -json out/rush.json
//	go run ./rush -store redis -redis-start -fault redis-restart@30s -fault maintenance@5m+1m
//	go run ./rush -mode http -server-cmd 'go run ./reservation -addr {addr} -client-limit 0 -opens-in 20s' \
//	    -people 200 -prequeue 15s -tail 30s -think 2s
//
// # Modes
//
// In process (-mode inprocess, the default) the simulator drives the
// library directly, composed the way a server composes it: a
// window.Gate in front of the booking path, the pass checked with
// admission.Room.Verify, then slots.Service, which checks the gate again at
// the instant it books. Stores: -store memory, redis (standalone) or
// redis-cluster, at -redis-addr (loopback only), or on servers the
// simulator starts itself with -redis-start (AOF with appendfsync always by
// default, -redis-fsync to change it; a 3-master cluster for
// redis-cluster). Each run uses keys under a fresh prefix.
//
// Over HTTP (-mode http) it drives a running examples/reservation through
// its JSON API, one signed-in session per person, over loopback only:
// either -url (with -operator-token for maintenance faults and the audit)
// or -server-cmd, a command it starts with {addr} replaced by a free
// loopback address, reading the operator token the server prints. The
// opening and the slots are the server's own; the crowd is fitted to them.
// The server reads its own clock, so an HTTP run is paced on the wall clock,
// and it is bounded by -people and -max-wall. Start the server with
// -client-limit 0, so that its per-person limit on sign-ins and joins stays
// out of the measurement.
//
// With -servers K it starts K processes of -server-cmd, all with one
// GATEHOUSE_SECRET (drawn for the run unless set), and sends each
// request to the next instance in turn, as a load balancer without
// stickiness would: one person's sign-in, join, polls, hold and confirm
// land on different instances. In the command, {redis} is replaced by the
// address(es) of the Redis the simulator starts with -redis-start (-store
// redis: one server; redis-cluster: a 3-master Cluster) and {opens_at} by
// the opening it chose, for the server's -opens-at, so that every instance
// serves one opening. A server started with -partition (each region its
// own slots campaign and waiting room) tells each person's region at
// sign-in, and the simulator lets each person pick slots in their region
// only:
//
//	rush -mode http -servers 3 -store redis-cluster -redis-start \
//	    -server-cmd 'reservation -addr {addr} -client-limit 0 -store redis -redis-addr {redis} \
//	        -opens-at {opens_at} -slots seoul=184x50,busan=64x50,jeju=14x50 -partition -rate 15000' \
//	    -people 50000 -prequeue 60s -spike-width 60s -tail 150s
//
// # Simulated time
//
// By default the run is a discrete-event simulation: every person's next
// step is an event in a calendar; the main loop takes the events of the
// earliest tick (-tick, 100ms), sets the library's clock (a clock.Clock
// driven by the simulator, built on clock.Mock) to the tick's instant and
// runs the tick's events on up to -workers goroutines at once (the main
// loop's own among them): one for each event that calls the store (started
// first, confirms, which are followed by the person's Done, before the
// rest) and one for every 16 status polls, which the room mostly answers
// from its snapshot in microseconds; the steps they plan go back into the
// calendar (a slice of buckets by tick). Time moves only between ticks, and jumps over
// empty ones, so a night of traffic runs in minutes and every booking made
// at an instant is checked at that instant. With -overlap N (10 by
// default) up to N ticks within N ticks of simulated time, and within
// -overlap-for of it (1 s by default: at 1 s ticks, one at a time), run
// at once, each on its own -workers callers: a tick starts while the one
// before it still has round trips out, so that the store and the
// simulator work at the same time instead of each waiting for the other
// at every tick's end. Ticks do not overlap across the opening or a
// fault step; a follow-up planned for a tick that had already started
// runs in the first tick not yet started, up to N-1 ticks late (the
// report counts them, "late follow-ups"), and a late call reads the clock of the latest tick, up to
// N-1 ticks past its own. With -lane-rooms each lane has its own
// composition of the library (room, slots service, gate) on a clock of
// its own, set to its tick, as that many servers behind one load balancer
// over the same stores: a call reads its own tick's instant, and each
// room keeps its own snapshot and ETA. Over HTTP the servers read the
// wall clock, and ticks never overlap.
// -overlap 1 runs one tick at a time. Latencies are measured on the
// wall clock. -realtime paces the ticks on the wall clock instead (the
// library then gets the real clock). The opening is 12 July 2021, 20:00
// KST in simulated time. The run stops when everyone's night is over,
// after -max-sim of simulated time past the opening, or after -max-wall.
//
// # The crowd
//
// -people people arrive: a share -early uniformly over the -prequeue
// before the opening (the waiting room takes them; they are shuffled at
// the opening), a share -spike in the spike after it (exponential, mean
// -spike-width), and the rest uniformly over -tail. Each joins the waiting
// room, polls its status as the room says (PollAfter, within -poll-min and
// -poll-max), and once admitted waits -think (exponential), holds a random
// slot among those not yet seen full (up to -tries full ones), waits
// -confirm-think and confirms. -slots places (default: as many as people)
// are split into slots of -slot-capacity. Independently drawn shares of the
// crowd misbehave:
//
//   - -reconnect: reconnect storms: joins again -reconnect-joins times in a
//     burst while waiting, carrying the place ticket as a browser sends
//     its cookie (admission.Room.Rejoin: answered from the ticket until
//     the place is called); the place must not change. A double booker's
//     second device joins without a ticket, so the store's own answer to
//     a second join is checked too.
//   - -skippers: airplane-mode skippers: book at once with no pass, a forged
//     pass (a real one with its signature altered), a borrowed pass (someone
//     else's), or, after being admitted, with their own pass just past its
//     expiry (unless it would expire after the run's end: then they just
//     book). Every attempt must be refused.
//   - -backdoor: back-door users: arrive early and book before the opening.
//   - -double: double bookers: two devices join and hold at the same instant.
//   - -retry: their hold and confirm calls "time out": the answer is dropped
//     and the call repeated 2-5 s later with the same idempotency key; the
//     repeat must give the same answer.
//   - -abandon: leave the queue for good, between a tenth of
//     -abandon-within (10 min) and all of it after joining, if still waiting.
//   - -comeback: go away just before their number is called (less than half
//     a minute of admissions ahead) and come back -away later.
//
// Everyone also retries after errors (503 during an outage or maintenance)
// with backoff, reusing the idempotency key of a request whose outcome is
// unknown.
//
// # Faults
//
// -fault KIND@AT[+FOR], AT from the opening in simulated time (repeatable):
//
//   - redis-restart@30s[+10s]: SIGKILL the Redis server(s) the simulator
//     started (-redis-start) at AT, keep them down FOR (default 10 s,
//     simulated), restart them from their AOF. Requests fail closed
//     meanwhile; the audit then checks no confirmed booking was lost.
//   - maintenance@10m+2m: an operator turns maintenance on for FOR.
//   - backend-slow@5m+3m: the modelled booking backend (-backend-capacity)
//     serves a fifth of its capacity for FOR.
//
// # Supply and the booking backend
//
// In process the room knows the places left (-supply, on by default:
// admission.Options.Supply over the campaign's availability, through
// admission/slotsupply; -overbooking sets the factor): it admits no more
// people than places remain and says sold_out once the last one is
// booked; a person told so goes home. With -backend-capacity N, holds and
// confirms pass through a model of the booking backend that serves N calls
// per simulated second: beyond it calls queue (latency is -backend-latency
// plus the queue's wait) and a call that would wait more than
// -backend-timeout times out unserved. -pacing gives the room an
// admission.Pacer fed with every booking call (bounds -pacing-min and
// -pacing-max, target -pacing-target, decisions every -pacing-interval,
// step -pacing-step); -pacing-compare first runs the same crowd with the
// controller off and reports its pacing figures beside.
//
// # Checks
//
// The simulator keeps its own ledger: every pass it was given (token,
// owner, expiry), every success it was told of and when. Successes are
// checked as they happen (a booking before the opening, with a pass that is
// not the person's own or has expired, during maintenance or an outage; an
// admission before the opening; a re-join that moved a place; a retry with
// the same key that got another answer). At the end the audit reads the
// store (in process: a slots.Snapshot of the campaign, or, if that fails,
// every slot's Availability and every person's Lookup; over HTTP: the
// operator's slot figures and every person's GET /api/bookings/me) and
// checks, independently of any error code: per slot booked <= capacity,
// per person at most one booking, every booking the ledger confirmed is in
// the store (none lost), every booking in the store was confirmed to
// someone (none phantom, except for people whose last request's outcome
// stayed unknown).
//
// # The report
//
// A progress bar runs on stderr while the simulation does (not when stderr
// is not a terminal, nor with -quiet). Then the report goes to stdout as
// text, and with -json FILE as JSON, with these fields:
//
//	mode, backend, people, places, slots, slot_capacity, seed,
//	rate_per_minute, active_cap, tick, workers, realtime, opening
//	overlap             ticks run at once at most (1 with -realtime)
//	lane_rooms          each lane had its own room, slots service and gate
//	                    on a clock of its own (-lane-rooms)
//	late_follow_ups     follow-ups run a tick after the one planned, which
//	                    had already started (-overlap)
//	clock_lead_max_ms   the most the library's clock was past a call's own
//	                    tick when it returned (at most overlap-1 ticks; 0
//	                    with lane_rooms)
//	calls_past_opening  calls of a tick before the opening that could have
//	                    read a clock at or past it (0: ticks never overlap
//	                    across the opening)
//	faults[]            kind, at, for, wall_seconds (time the step took), error
//	stopped             why the run stopped early ("" if everyone finished)
//	wall_seconds        wall time of the simulation (setup and audit excluded)
//	sim_cpu_seconds     this process's CPU (user + system) over that same
//	                    main loop, and sim_cpu_us_per_person: the crowd,
//	                    the library in it and the store clients, beside
//	                    the store on the same machine (Linux: /proc)
//	sim_seconds         simulated time from the first tick to the last
//	events, requests    events handled, requests sent
//	fates               booked, sold_out, abandoned, session_lost, failed, unfinished
//	behaviours          how many people had each behaviour
//	counts              joined, reconnect_joins, admitted, booked,
//	                    timeout_retries, places_left, uncertain_people
//	throughput          per_wall_second, per_sim_second (joins over the whole
//	                    night; admissions and bookings from the opening),
//	                    peak_per_sim_second: {joins, admissions, bookings},
//	                    and requests per wall second
//	latency.OP          count, mean_us, p50_us, p90_us, p99_us, p999_us, max_us,
//	                    noop_ratio (mean over the no-op mean, one caller),
//	                    noop_parallel_ratio (over the no-op mean with
//	                    -workers callers); OP is join,
//	                    status, hold, confirm, done; wall time per request,
//	                    from a log-linear histogram (quantiles within 3%)
//	outcomes.OP.KIND    answers by kind: ok, full, already_booked,
//	                    hold_expired, not_found, not_open, maintenance,
//	                    invalid_pass, not_admitted, unavailable, timeout,
//	                    rate_limited, conflict, other
//	store               in-process only: what the run cost the store:
//	                    calls {join, status, done, advance, limits,
//	                    supply, pace, places, hold, confirm} (the room's
//	                    store calls, places its reads of the campaign's
//	                    totals from the slots store, and the holds and
//	                    confirms that reached the slots store), calls_total,
//	                    calls_per_person; status_polls (people's polls) and
//	                    status_store_calls (store calls made answering them:
//	                    a poll with a place ticket is answered from the
//	                    room's snapshot until the place is called); on
//	                    Redis, redis_cpu_us_per_person (main-thread CPU from
//	                    INFO cpu over the masters, during the run; left out,
//	                    with what is computed from it, when a redis-restart
//	                    fault set the counters back to zero),
//	                    noop_redis_cpu_us (one no-op script call, same
//	                    servers, same run: noop.cpu_us, sampled before
//	                    and after the run) and floor_ratio =
//	                    redis_cpu_us_per_person / (4 x noop_redis_cpu_us);
//	                    floor_wall_seconds = people x 4 / the no-op rate
//	                    with -workers callers, wall_over_floor =
//	                    wall_seconds / floor_wall_seconds;
//	                    redis_cpu_over_floor = Redis's main-thread CPU
//	                    over the run / floor_wall_seconds (Redis runs the
//	                    functions on that one thread: the wall time is at
//	                    least this many floors) and redis_busy = that CPU
//	                    / wall_seconds; in process, cores
//	                    (runtime.NumCPU), machine_cpu_over_floor = (this
//	                    process's CPU + Redis's main-thread CPU) / cores /
//	                    floor_wall_seconds (the simulator and Redis share
//	                    this machine: the wall time is at least this many
//	                    floors) and machine_busy = that CPU / (cores x
//	                    wall_seconds), the share of the machine the run
//	                    kept working; what that leaves out:
//	                    redis_other_cpu_seconds (Redis's threads but the
//	                    main one), redis_children_cpu_seconds (its forked
//	                    children that ended during the run: AOF rewrites,
//	                    aof_rewrites of which began) and
//	                    machine_busy_measured, the share of the machine's
//	                    CPU time not idle over the run (Linux /proc/stat:
//	                    every process and the kernel)
//	noop                Redis only: rounds, mean_us, p50_us, p99_us of
//	                    -noop-rounds EVALSHA of `return 0` on the campaign's
//	                    shard, one at a time before the run; parallel_mean_us,
//	                    parallel_per_sec and cpu_us (Redis's main-thread
//	                    CPU a call) with -workers callers: the medians of
//	                    parallel_samples runs of -noop-rounds calls each,
//	                    half of them before the run and half after it
//	                    (once Redis's CPU over the run has been read), with
//	                    their ranges (parallel_per_sec_min/_max,
//	                    cpu_min_us/cpu_max_us), so that a burst of another
//	                    process during one run moves neither the floor nor
//	                    the CPU unit, and a shared machine whose speed
//	                    drifts during the rush is measured at both ends;
//	                    before_per_sec, before_cpu_us, after_per_sec and
//	                    after_cpu_us are each end's medians
//	fairness            post_opening {n, spearman}: join order vs admission
//	                    order for people who joined after the opening and
//	                    waited normally; early {n, spearman, chi_square, df,
//	                    p_value} for those who joined before it;
//	                    admission_source ("reported": the room's admission
//	                    instant, ties broken by place; "observed": the poll
//	                    that saw it); observed_post_opening_spearman
//	eta                 with_estimate, inside, calibration, admitted_sooner,
//	                    admitted_later, without_estimate, median_low_s,
//	                    median_high_s, median_real_s, max_shown_high_s, not_admitted
//	eta_regimes         the eta block per regime of the run, each person filed
//	                    by join time and wait: rate_bound or cap_bound (the
//	                    cap holds fewer people than the rate admits during
//	                    -think plus -confirm-think), fault_start (the wait
//	                    overlaps a fault's first two minutes: shown before
//	                    anything could foresee it), during_fault, after_fault,
//	                    waiting_at_sell_out, after_sell_out; each with people,
//	                    shown, inside, sooner, later, calibration,
//	                    shown_not_admitted, without_estimate, median_width_s,
//	                    median_low_s, median_high_s, median_real_s,
//	                    latest_shown, latest_inside, latest_sooner,
//	                    latest_later, latest_calibration (the latest range a
//	                    poll showed before admission, against the rest of the
//	                    wait), told_sold_out, shown_time_ever,
//	                    shown_time_after_sell_out
//	comebacks           went_away, admitted_after_return,
//	                    median_wait_after_return_s, max_wait_after_return_s
//	attacks             skippers.TRICK, backdoor, second_device: {tried,
//	                    refused, succeeded}
//	supply              room_knows_supply, overbooking, sold_out_at_s (when
//	                    the store made the last booking, from the
//	                    opening; null if never), waiting_at_sold_out, told,
//	                    told_sold_out_p50_s, told_sold_out_p99_s,
//	                    told_sold_out_max_s (sell-out to each waiting
//	                    person's first sold_out answer), never_told,
//	                    told_at_join, told_before_sold_out (must be 0;
//	                    a call in flight with the last booking's tick
//	                    under -overlap is not counted),
//	                    admitted_after_sold_out (the room's admission
//	                    instant after the sell-out), longest_poll_interval_s
//	pacing              with -backend-capacity: controller, min/max_rate_per_minute,
//	                    target_latency_ms, backend_capacity_per_s,
//	                    backend_timeout_s, calls, timeouts,
//	                    calls_during_fault, timeouts_during_fault,
//	                    timeout_share_during_fault, latency_p99_ms {before,
//	                    during, after}, rate_before_fault, recovered_after_s
//	                    (fault end to the rate back at 90 % of it),
//	                    eta_calibration_outside_fault,
//	                    eta_samples_outside_fault, series [{t_s,
//	                    rate_per_minute, calls, timeouts, mean_latency_ms}
//	                    per 10 s], without_controller (-pacing-compare)
//	audit               performed, method, error, slots, capacity, booked,
//	                    people_with_booking, ledger_booked, overbooked_slots,
//	                    double_bookings, lost_bookings, phantom_bookings,
//	                    slot_counts_disagreeing, unknown_people_or_slots,
//	                    capacity_mismatches
//	multi               HTTP runs: instances [{url, requests, failed,
//	                    requests_per_wall_second, mean_us, p50_us, p99_us,
//	                    cpu_seconds (the process's user + system CPU during
//	                    the run, from /proc), cpu_us_per_request,
//	                    cpu_us_per_person, cores_busy}], total (the same,
//	                    summed), shards [{addr, redis_cpu_seconds (INFO cpu,
//	                    main thread, during the run), redis_cpu_us_per_person,
//	                    share, busy, hash_tags (the rooms' and campaigns'
//	                    tags it serves), noop_cpu_us (CPU per EVAL of
//	                    `return 0` on that master, before the run),
//	                    redis_cpu_per_person_in_noops}], partitions,
//	                    pacing_across_instances {rooms [{partition, room,
//	                    rate_per_minute, burst, admissions_seen,
//	                    room_admitted, max_excess, tolerance,
//	                    peak_per_second}], admissions, rooms_exceeded,
//	                    exact}: for each room, the largest excess of the
//	                    admissions it reported (admitted_at, first and
//	                    latest per person) over rate x T + burst, over every
//	                    interval between two of them; exact when none
//	                    exceeds the instants' 1 ms resolution (tolerance);
//	                    store_bookings (every slot's booked count, every
//	                    partition), people_with_booking,
//	                    client_cpu_seconds (the simulator's own CPU)
//	violations          overbooked_slots, overbooked_places, double_bookings,
//	                    admitted_before_opening, booked_before_opening,
//	                    booked_without_valid_pass, booked_during_maintenance,
//	                    booked_during_outage, lost_bookings, phantom_bookings,
//	                    idempotency_mismatches, reconnect_moved_place,
//	                    pacing_exceeded (rooms over rate x T + burst, HTTP),
//	                    audit_mismatch (slots whose store count differs
//	                    from the people's own lookups, and unknown entries,
//	                    HTTP), total
//
// With -plot DIR it writes rush-queue.png (people waiting over time: the
// simulator's count and the room's own figure, sampled once a simulated
// second from the room's snapshot, Room.Line, so the sampling adds no
// store call to the run), rush-flow.png (arrivals,
// admissions and bookings per simulated second), rush-eta.png (for each
// person the ETA range shown at join against the real wait) and
// rush-eta-time.png (mean low and high ends shown and mean real wait, by
// join time), rush-eta-regimes.png (the range shown at join against the
// real wait, coloured by regime), and with -backend-capacity
// rush-pacing.png (the rate in force, the booking calls' mean latency and
// timeouts over time).
//
// -cpuprofile FILE writes the simulator's CPU profile (pprof, the whole
// process: setup, run and audit) and -memprofile FILE its allocations
// (pprof allocs, written at the end): where a run's time goes on this side
// of the store. The CPU profile's samples are labelled with the part of
// the main loop they belong to (go tool pprof -tags FILE): part=target
// inside a call to the target (the library it drives, its store clients
// and the target's bookkeeping: what a server embedding the library would
// spend), part=crowd for the rest of the events' handling; samples with no
// part are the runtime's own goroutines (the collector, idle scheduling)
// and the work outside the main loop (the no-op, the audit). -ticklog
// FILE writes a line per tick run (tick, events, events that call the
// store, wall µs, and when it started, µs of wall time into the main
// loop): a tick ends when its last event does, so the log shows which
// ticks the wall time went to, and with ticks overlapping (-overlap) the
// start column gives the wall time of a stretch of simulated time.
// Unless the environment sets GOGC or GOMEMLIMIT, the simulator runs its
// collector at GOGC=400 under a memory limit of a third of the machine's
// memory: a run allocates much (some 24 KB a person) and keeps little,
// and at Go's default the collector took a fifth of the simulator's CPU,
// on the cores the store shares.
//
// # Reading the report
//
// Every violation must be 0; the exit status is 1 if one is not (2 for bad
// flags, 3 when the run could not be carried out, including an audit that
// could not read the store). The tests hold healthy runs to these bounds:
//
//   - fairness.post_opening.spearman >= 0.99: after the opening, first come,
//     first served. Admission order is the room's admission instant, with
//     ties (several people admitted at one tick) broken by place; join order
//     is the instant of the person's first successful join, ties averaged.
//   - |fairness.early.spearman| <= 4/sqrt(n-1), and the chi-square over
//     deciles (join decile x admission decile, 81 degrees of freedom) with
//     p_value >= 0.001: the opening shuffle leaves no trace of arrival order.
//   - eta.calibration >= 0.9: among people who were shown a range when they
//     joined (the room says when it has no measurement yet: those are
//     without_estimate) and then waited normally, the share whose real wait
//     (join to the room's admission instant) fell inside it.
//     max_shown_high_s is the check on "93 hours 4 minutes". Per regime
//     (eta_regimes), calibration >= 0.95 in every regime but fault_start,
//     and nobody waiting at the sell-out ever shown a time.
//
// noop_ratio relates each operation's mean latency to the no-op script's
// round trip on the same server, measured in the same run: with many
// callers at once compare with parallel_mean_us, since a loaded run's
// latency is mostly queueing. throughput.per_wall_second is what the
// machine sustained; per_sim_second is the rush as the crowd lived it.
//
// The ledger is the simulator's own: what it was told, never what the
// target says about itself. A target that lies (answers "full" and books,
// answers "booked" and loses it) shows up as phantom or lost bookings in
// the audit; one that lets a bad pass through, as booked_without_valid_pass.
package main
