package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-go/gatehouse/internal/redisproc"
)

// httpTarget drives a running examples/reservation server over loopback
// through its JSON API, one signed-in session per person:
//
//	POST /api/session            {"name","birth_date"}  -> session cookie
//	POST /api/queue/join, GET /api/queue/status          -> the room's Status JSON
//	                                                        (status sends back the
//	                                                        place ticket: Gatehouse-Ticket)
//	POST /api/holds              {"slot"}, Idempotency-Key, Authorization: Bearer <pass>
//	POST /api/holds/{id}/confirm Idempotency-Key, Authorization: Bearer <pass>
//	GET  /api/bookings/me        (audit, per person)
//	POST /operator/maintenance   on=true|false, Authorization: Operator <token>
//	GET  /api/operator/stats     (audit: every slot's booked count; line)
//
// The pass is never kept as a cookie: each request carries exactly the pass
// the simulator chooses (none, forged, borrowed, expired or genuine).
type httpTarget struct {
	// bases are the server instances; each request goes to the next one
	// (round robin, no stickiness), and is counted in its inst.
	bases    []*url.URL
	next     atomic.Uint64
	inst     []*instCounter
	multi    *multiRun // the servers and Redis this run started, or nil
	client   *http.Client
	operator string
	open     time.Time
	slotIDs  []string
	slotCap  []int

	mu       sync.Mutex
	sessions map[string]string // person -> session cookie value
	tickets  map[string]string // person -> place ticket, sent back on status
	// parts is each person's partition (the server says at sign-in),
	// slotPart each slot's, with a partitioned server.
	parts    map[string]string
	slotPart []string
	// limits are the rooms' limits at the start, by partition ("" for
	// an unpartitioned server), for the pacing check.
	limits map[string]roomLimits
	// lineAt and lineN: the last sample of the room's line (line).
	lineAt time.Time
	lineN  int64
}

// The reservation server's cookie and a birth date its demo campaign
// (adults) accepts.
const (
	httpSessionCookie = "gh_session"
	httpBirthDate     = "1964-05-01"
)

func newHTTPTarget(ctx context.Context, cfg *config, bases []string, operator string) (*httpTarget, error) {
	var us []*url.URL
	var inst []*instCounter
	for _, base := range bases {
		u, err := url.Parse(base)
		if err != nil {
			return nil, err
		}
		if err := loopbackURL(base); err != nil {
			return nil, err
		}
		us = append(us, u)
		inst = append(inst, &instCounter{url: base})
	}
	base := bases[0]
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
		MaxIdleConns:        cfg.Workers * 2,
		MaxIdleConnsPerHost: cfg.Workers * 2,
		IdleConnTimeout:     time.Minute,
	}
	t := &httpTarget{
		bases:    us,
		inst:     inst,
		parts:    map[string]string{},
		client:   &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		operator: operator,
		sessions: map[string]string{},
		tickets:  map[string]string{},
	}
	// A probe session learns the opening from the eligibility answer.
	var elig struct {
		OpensAt time.Time `json:"opens_at"`
		Phase   string    `json:"phase"`
	}
	if err := t.signIn(ctx, "rush-probe"); err != nil {
		return nil, fmt.Errorf("sign in at %s: %w", base, err)
	}
	if _, err := t.do(ctx, "rush-probe", "GET", "/api/eligibility", "", "", nil, &elig); err != nil {
		return nil, fmt.Errorf("eligibility: %w", err)
	}
	if elig.OpensAt.IsZero() {
		return nil, fmt.Errorf("the server gave no opening time (phase %q)", elig.Phase)
	}
	t.open = elig.OpensAt
	// The slots, from the operator's figures (GET /api/slots is only open
	// during booking).
	st, err := t.stats(ctx)
	if err != nil {
		return nil, fmt.Errorf("operator stats (is -operator-token right?): %w", err)
	}
	for _, s := range st.Slots {
		t.slotIDs = append(t.slotIDs, s.ID)
		t.slotCap = append(t.slotCap, s.Capacity)
		t.slotPart = append(t.slotPart, s.Partition)
	}
	t.limits = st.roomLimits()
	if len(t.slotIDs) == 0 {
		return nil, errors.New("the server offers no slots")
	}
	return t, nil
}

// opening and slotList let simulate fit the crowd to the server.
func (t *httpTarget) opening() time.Time          { return t.open }
func (t *httpTarget) slotList() ([]string, []int) { return t.slotIDs, t.slotCap }

// serverTarget is a target whose opening and slots are the server's.
type serverTarget interface {
	opening() time.Time
	slotList() ([]string, []int)
}

type statsJSON struct {
	Room  statsRoom `json:"room"`
	Slots []struct {
		ID        string `json:"id"`
		Partition string `json:"partition"`
		Capacity  int    `json:"capacity"`
		Booked    int    `json:"booked"`
	} `json:"slots"`
	// Partitions: each region's room, with a partitioned server.
	Partitions []struct {
		Name     string    `json:"name"`
		Campaign string    `json:"campaign"`
		Room     statsRoom `json:"room"`
	} `json:"partitions"`
}

func (t *httpTarget) stats(ctx context.Context) (statsJSON, error) {
	var st statsJSON
	_, err := t.do(ctx, "", "GET", "/api/operator/stats", "", "", nil, &st)
	return st, err
}

// problemJSON is the part of an RFC 9457 answer the classification reads.
type problemJSON struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Phase  string `json:"phase"`
}

// classify turns an HTTP answer into a kind.
func classify(code int, p problemJSON) kind {
	title := strings.ToLower(p.Title)
	switch {
	case code < 300:
		return kOK
	case code == http.StatusUnauthorized:
		return kNotAdmitted
	case code == http.StatusForbidden:
		switch {
		case strings.Contains(title, "pass"):
			return kInvalidPass
		case strings.Contains(p.Type, "#window-not_yet"), strings.Contains(p.Type, "#window-pre_queue"), strings.Contains(p.Type, "#window-closed"),
			strings.Contains(title, "not open"), strings.Contains(title, "closed"), strings.Contains(title, "not eligible"):
			return kNotOpen
		}
		return kOther
	case code == http.StatusNotFound:
		return kNotFound
	case code == http.StatusConflict:
		if strings.Contains(title, "full") {
			return kFull
		}
		if strings.Contains(title, "already") {
			return kAlreadyBooked
		}
		return kOther
	case code == http.StatusGone:
		return kHoldExpired
	case code == http.StatusUnprocessableEntity && strings.Contains(title, "idempotency"):
		return kConflict
	case code == http.StatusTooManyRequests:
		return kLimited
	case code == http.StatusServiceUnavailable && (p.Phase == "maintenance" || strings.Contains(p.Type, "#maintenance")):
		return kMaintenance
	case code >= 500:
		return kUnavailable
	}
	return kOther
}

// do sends one request as person (its session cookie; "" for none, or the
// operator token for /operator routes), with pass as a Bearer token when
// set, and decodes a 2xx JSON answer into out. The error is a
// *targetError classified from the status and problem document.
func (t *httpTarget) do(ctx context.Context, person, method, path, pass, key string, body any, out any) (int, error) {
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case url.Values:
		rd, ctype = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			return 0, err
		}
		rd, ctype = bytes.NewReader(buf), "application/json"
	}
	ic, u := t.pick()
	req, err := http.NewRequestWithContext(ctx, method, u.JoinPath(path).String(), rd)
	if err != nil {
		return 0, terr(kOther, err)
	}
	req.Header.Set("Accept", "application/json")
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if strings.HasPrefix(path, "/operator") || strings.HasPrefix(path, "/api/operator") {
		req.Header.Set("Authorization", "Operator "+t.operator)
	} else if pass != "" {
		req.Header.Set("Authorization", "Bearer "+pass)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	if person != "" {
		t.mu.Lock()
		c := t.sessions[person]
		t.mu.Unlock()
		if c != "" {
			req.AddCookie(&http.Cookie{Name: httpSessionCookie, Value: c})
		}
		if path == "/api/queue/status" || (path == "/api/queue/join" && ctx.Value(withTicket{}) != nil) {
			t.mu.Lock()
			tk := t.tickets[person]
			t.mu.Unlock()
			if tk != "" {
				req.Header.Set("Gatehouse-Ticket", tk)
			}
		}
	}
	t0 := time.Now()
	resp, err := t.client.Do(req)
	defer func() { ic.count(time.Since(t0), resp, err) }()
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return 0, terr(kTimeout, err)
		}
		return 0, terr(kUnavailable, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return resp.StatusCode, terr(kUnavailable, err)
	}
	for _, c := range resp.Cookies() {
		if c.Name == httpSessionCookie && person != "" {
			t.mu.Lock()
			t.sessions[person] = c.Value
			t.mu.Unlock()
		}
	}
	if resp.StatusCode >= 300 {
		var p problemJSON
		json.Unmarshal(data, &p)
		return resp.StatusCode, terr(classify(resp.StatusCode, p), fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, p.Title))
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, terr(kOther, fmt.Errorf("%s %s: %w", method, path, err))
		}
	}
	return resp.StatusCode, nil
}

func (t *httpTarget) signIn(ctx context.Context, person string) error {
	var s struct {
		Partition string `json:"partition"`
	}
	_, err := t.do(ctx, person, "POST", "/api/session", "", "", map[string]string{"name": person, "birth_date": httpBirthDate}, &s)
	if err == nil && s.Partition != "" {
		t.mu.Lock()
		t.parts[person] = s.Partition
		t.mu.Unlock()
	}
	return err
}

func (t *httpTarget) ensureSession(ctx context.Context, person string) error {
	t.mu.Lock()
	ok := t.sessions[person] != ""
	t.mu.Unlock()
	if ok {
		return nil
	}
	return t.signIn(ctx, person)
}

// statusJSON is the room's Status JSON (admission.Status.MarshalJSON).
type statusJSON struct {
	State     string  `json:"state"`
	Returning bool    `json:"returning"`
	Place     *int64  `json:"place"`
	Ahead     *int64  `json:"ahead"`
	PollAfter float64 `json:"poll_after_seconds"`
	ETA       struct {
		Known bool    `json:"known"`
		Min   float64 `json:"min_seconds"`
		Max   float64 `json:"max_seconds"`
	} `json:"eta"`
	Admitted    time.Time `json:"admitted_at"`
	Pass        string    `json:"pass"`
	PassExpires time.Time `json:"pass_expires_at"`
	Ticket      string    `json:"ticket"`
}

func (s statusJSON) standing() standing {
	st := standing{Place: -1, Ahead: -1, Line: -1, Returning: s.Returning,
		ETAKnown: s.ETA.Known, ETALow: secs(s.ETA.Min), ETAHigh: secs(s.ETA.Max),
		Admitted: s.Admitted, Pass: s.Pass, PassExpires: s.PassExpires, PollAfter: secs(s.PollAfter)}
	if s.Place != nil {
		st.Place = *s.Place
	}
	if s.Ahead != nil {
		st.Ahead = *s.Ahead
	}
	switch s.State {
	case "waiting":
		st.State = stWaiting
	case "admitted":
		st.State = stAdmitted
	case "sold_out":
		st.State = stSoldOut
	default:
		st.State = stDone
	}
	return st
}

func secs(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func (t *httpTarget) Join(ctx context.Context, person string) (standing, error) {
	return t.join(ctx, person)
}

// withTicket marks a request context whose join carries the person's
// place ticket (a status always does).
type withTicket struct{}

// Rejoin sends the join again with the place ticket the client kept, in
// the Gatehouse-Ticket header, as a reconnecting API client does.
func (t *httpTarget) Rejoin(ctx context.Context, person string) (standing, error) {
	return t.join(context.WithValue(ctx, withTicket{}, true), person)
}

func (t *httpTarget) join(ctx context.Context, person string) (standing, error) {
	if err := t.ensureSession(ctx, person); err != nil {
		return standing{}, err
	}
	var s statusJSON
	if _, err := t.do(ctx, person, "POST", "/api/queue/join", "", "", nil, &s); err != nil {
		return standing{}, err
	}
	t.keepTicket(person, s.Ticket)
	return s.standing(), nil
}

// Status sends the place ticket back, as an API client keeps it, so that
// the server answers from its room's snapshot.
func (t *httpTarget) Status(ctx context.Context, person string) (standing, error) {
	var s statusJSON
	if _, err := t.do(ctx, person, "GET", "/api/queue/status", "", "", nil, &s); err != nil {
		return standing{}, err
	}
	t.keepTicket(person, s.Ticket)
	return s.standing(), nil
}

func (t *httpTarget) keepTicket(person, ticket string) {
	if ticket == "" {
		return
	}
	t.mu.Lock()
	t.tickets[person] = ticket
	t.mu.Unlock()
}

// Done: the server tells its room a person is done when the booking is
// confirmed; the API has no other way out of the line.
func (t *httpTarget) Done(ctx context.Context, person string) error { return nil }

type holdJSON struct {
	Hold struct {
		ID        string    `json:"id"`
		Slot      string    `json:"slot"`
		ExpiresAt time.Time `json:"expires_at"`
	} `json:"hold"`
}

func (t *httpTarget) Hold(ctx context.Context, person, pass, slot, key string) (hold, error) {
	if err := t.ensureSession(ctx, person); err != nil {
		return hold{}, err
	}
	var h holdJSON
	if _, err := t.do(ctx, person, "POST", "/api/holds", pass, key, map[string]string{"slot": slot}, &h); err != nil {
		return hold{}, err
	}
	return hold{ID: h.Hold.ID, Slot: h.Hold.Slot, Expires: h.Hold.ExpiresAt}, nil
}

func (t *httpTarget) Confirm(ctx context.Context, person, pass, holdID, key string) error {
	_, err := t.do(ctx, person, "POST", "/api/holds/"+url.PathEscape(holdID)+"/confirm", pass, key, nil, nil)
	return err
}

func (t *httpTarget) Maintenance(ctx context.Context, on bool) error {
	_, err := t.do(ctx, "", "POST", "/operator/maintenance", "", "", url.Values{"on": {strconv.FormatBool(on)}}, nil)
	return err
}

// line samples the operator's figures at most every lineEvery: they read
// every room and every slot of the server, a cost the measurement should
// not add to the run it measures.
func (t *httpTarget) line(ctx context.Context) (int64, error) {
	t.mu.Lock()
	if time.Since(t.lineAt) < lineEvery {
		n := t.lineN
		t.mu.Unlock()
		return n, nil
	}
	t.lineAt = time.Now()
	t.mu.Unlock()
	st, err := t.stats(ctx)
	if err != nil {
		return -1, err
	}
	t.mu.Lock()
	t.lineN = st.Room.Waiting
	t.mu.Unlock()
	return st.Room.Waiting, nil
}

// lineEvery is how often an HTTP run reads the operator's figures.
const lineEvery = 5 * time.Second

// Audit reads every slot's count from the operator's figures and every
// signed-in person's booking from GET /api/bookings/me, as that person.
func (t *httpTarget) Audit(ctx context.Context) (auditData, error) {
	d := auditData{Booked: map[string]int{}, Capacity: map[string]int{}, Method: "operator stats and GET /api/bookings/me per person"}
	st, err := t.stats(ctx)
	if err != nil {
		return d, err
	}
	for _, s := range st.Slots {
		d.Booked[s.ID] = s.Booked
		d.Capacity[s.ID] = s.Capacity
	}
	t.mu.Lock()
	people := make([]string, 0, len(t.sessions))
	for p := range t.sessions {
		if p != "rush-probe" {
			people = append(people, p)
		}
	}
	t.mu.Unlock()
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	next := make(chan string)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range next {
				var b struct {
					Booking *struct {
						ID   string `json:"id"`
						Slot string `json:"slot"`
					} `json:"booking"`
				}
				_, err := t.do(ctx, p, "GET", "/api/bookings/me", "", "", nil, &b)
				mu.Lock()
				switch {
				case err == nil && b.Booking != nil:
					d.Bookings = append(d.Bookings, auditBooking{Person: p, Slot: b.Booking.Slot, ID: b.Booking.ID})
				case err == nil, kindOf(err) == kNotFound:
				default:
					firstErr = cmp(firstErr, err)
				}
				mu.Unlock()
			}
		}()
	}
	for _, p := range people {
		next <- p
	}
	close(next)
	wg.Wait()
	return d, firstErr
}

func (t *httpTarget) Close() error {
	t.client.CloseIdleConnections()
	return nil
}

// pick is the instance the next request goes to: round robin over the
// instances, as a load balancer without stickiness spreads one person's
// requests.
func (t *httpTarget) pick() (*instCounter, *url.URL) {
	i := int((t.next.Add(1) - 1) % uint64(len(t.bases)))
	return t.inst[i], t.bases[i]
}

// serverProc is a reservation server this program started (-server-cmd).
type serverProc struct {
	log      tailBuffer // the end of its stderr, for errors
	cmd      *exec.Cmd
	url      string
	operator string
	done     chan struct{}
}

// startServer runs command (through sh -c) with {addr} replaced by a free
// loopback address, reads the operator token it prints, and waits until
// /healthz answers.
func startServer(ctx context.Context, command string, env []string) (*serverProc, error) {
	port, err := redisproc.FreePort(false)
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	if !strings.Contains(command, "{addr}") {
		return nil, fmt.Errorf("-server-cmd must contain {addr}, the address to listen on")
	}
	cmd := exec.Command("sh", "-c", "exec "+strings.ReplaceAll(command, "{addr}", addr))
	cmd.Env = env
	sp0 := &serverProc{}
	setPdeathsig(cmd)
	setPgid(cmd)
	cmd.Stderr = &sp0.log
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	sp := sp0
	sp.cmd, sp.url, sp.done = cmd, "http://"+addr, make(chan struct{})
	tokc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			if i := strings.Index(line, "operator token "); i >= 0 && !sent {
				tokc <- strings.TrimSpace(line[i+len("operator token "):])
				sent = true
			}
		}
		if !sent {
			close(tokc)
		}
	}()
	go func() { cmd.Wait(); close(sp.done) }()
	deadline := time.After(2 * time.Minute) // go run may compile first
	for {
		select {
		case tok, ok := <-tokc:
			if ok {
				sp.operator = tok
			}
			tokc = nil
		case <-sp.done:
			return nil, fmt.Errorf("-server-cmd exited before serving: %s", sp.log.String())
		case <-deadline:
			sp.stop()
			return nil, fmt.Errorf("-server-cmd: no answer on %s/healthz", sp.url)
		case <-ctx.Done():
			sp.stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if sp.operator == "" {
			continue
		}
		resp, err := http.Get(sp.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return sp, nil
			}
		}
	}
}

// stop ends the server's process group: SIGTERM, then SIGKILL.
func (sp *serverProc) stop() {
	signalGroup(sp.cmd, false)
	select {
	case <-sp.done:
	case <-time.After(5 * time.Second):
		signalGroup(sp.cmd, true)
		<-sp.done
	}
}

// tailBuffer keeps the last 4 KiB written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > 4096 {
		b.buf = append(b.buf[:0], b.buf[len(b.buf)-4096:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.TrimSpace(string(b.buf))
}
