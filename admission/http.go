package admission

import (
	"encoding/json"
	"errors"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-go/gatehouse/window/problem"
)

// IdentityFunc returns the identity of the person making r (the host
// application's authenticated user, account number, ...) and true, or
// false when the request carries none. Never an IP address or a cookie of
// the waiting room's own making: one person, one place.
type IdentityFunc func(r *http.Request) (string, bool)

// RetryAfterUnavailable is the Retry-After the HTTP handlers send with a
// 503 when the store cannot be asked.
const RetryAfterUnavailable = 5 * time.Second

// Handler returns the waiting room's JSON API. It serves requests by the
// last element of their path, so it can be mounted anywhere
// (mux.Handle("/queue/", room.Handler(id))):
//
//	POST .../join      join (or find your place); 200 with a Status and
//	                   its place ticket. A join that carries a valid
//	                   ticket (a reloaded page, a reconnect) is answered
//	                   as a status is, without a store call
//	                   ([Room.Rejoin])
//	GET  .../status    your standing; 200 with a Status. With a place
//	                   ticket (header Options.TicketHeader or cookie
//	                   Options.TicketCookie) it is answered from the
//	                   room's snapshot without a store call until your
//	                   place is called ([Room.Poll]); then it claims the
//	                   place and carries the pass
//	POST .../done      leave or end the session; 200 with a Status
//	GET  .../line      the room's public figures ([PublicLine]), the same
//	                   for everyone: Cache-Control: public, max-age of the
//	                   refresh interval, so that a CDN in front absorbs
//	                   the polls; no identity needed
//	GET  .../fairness  {"room", "opens_at", "seed_commitment", and from the
//	                   opening "seed" and "early_arrivals"}: what anyone
//	                   needs to recompute the opening shuffle
//
// The Status JSON form is documented on [Status]; its times are written in
// the location of Options.Opening (give the opening in the campaign's
// zone, and the JSON speaks it, as the gate's and eligibility's do). Every
// response but the line has Cache-Control: no-store. While admitted, the
// pass is also set as the cookie Options.PassCookie, and while waiting the
// place ticket as the cookie Options.TicketCookie (both HttpOnly,
// SameSite=Lax, Path=/, Secure when the request came over TLS; behind a
// TLS-terminating proxy set the cookies yourself from the JSON). A ticket
// the room refuses (forged, expired, another room's or identity's) is
// ignored: the status is asked from the store and a new ticket handed.
// Errors are RFC 9457 problem+json: 401 without an identity, 404 for
// status or done before joining, 405 for a wrong method, 503 with
// Retry-After when the store is unavailable or the snapshot too old
// (nobody is admitted then), 500 otherwise. Every refusal goes through
// Options.Deny when set, as a typed *problem.Refusal (codes in package
// problem, type URIs problem.TypeURI("admission", code)).
//
// Join and done change the person's place, so the handler refuses them
// with 403 when a browser sends them from another origin (a page on
// another site carrying the person's cookies): net/http's
// CrossOriginProtection, by Sec-Fetch-Site, else Origin against Host.
// Requests without those headers (API clients) pass, as do GET requests.
func (r *Room) Handler(identity IdentityFunc) http.Handler {
	return r.refuseCrossOrigin(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		op := path.Base(req.URL.Path)
		want := methodOf(op)
		switch {
		case want == "":
			r.deny(w, req, http.StatusNotFound, problem.CodeNotFound, "Not Found", "", nil)
			return
		case req.Method != want && !(want == http.MethodGet && req.Method == http.MethodHead):
			w.Header().Set("Allow", want)
			r.deny(w, req, http.StatusMethodNotAllowed, problem.CodeMethod, "Method Not Allowed", "Use "+want+".", nil)
			return
		case op == "fairness":
			r.serveFairness(w, req)
			return
		case op == "line":
			r.serveLine(w, req)
			return
		}
		id, ok := identity(req)
		if !ok || id == "" {
			r.challenge(w)
			r.deny(w, req, http.StatusUnauthorized, problem.CodeIdentityRequired, "Identity required",
				"Sign in to take a place in the waiting room.", nil)
			return
		}
		var (
			st  Status
			err error
		)
		switch op {
		case "join":
			st, err = r.Rejoin(req.Context(), id, r.TicketOf(req))
		case "status":
			st, err = r.Poll(req.Context(), id, r.TicketOf(req))
		default:
			st, err = r.Done(req.Context(), id)
		}
		if err != nil {
			r.writeError(w, req, err)
			return
		}
		r.SetPassCookie(w, req, st)
		r.setTicketCookie(w, req, st)
		writeJSON(w, http.StatusOK, st.In(r.o.Opening.Location()))
	}))
}

// In returns s with its times in loc (Status.MarshalJSON writes each
// time with its own offset).
func (s Status) In(loc *time.Location) Status {
	for _, t := range []*time.Time{&s.Opening, &s.Joined, &s.Admitted, &s.PassExpires} {
		if !t.IsZero() {
			*t = t.In(loc)
		}
	}
	return s
}

// SetPassCookie sets the pass cookie (Options.PassCookie) from st as
// Handler does: the pass while admitted (HttpOnly, SameSite=Lax, Path=/,
// Secure when req came over TLS), a deletion once done or expired, nothing
// otherwise. A host page that calls Join or Status itself (a waiting room
// page) calls it before writing, so that Protect finds the pass.
func (r *Room) SetPassCookie(w http.ResponseWriter, req *http.Request, st Status) {
	if r.o.PassCookie == "-" {
		return
	}
	switch {
	case st.Pass != "":
		http.SetCookie(w, &http.Cookie{
			Name: r.o.PassCookie, Value: st.Pass, Path: "/",
			Expires: st.PassExpires, MaxAge: int(max(1, st.PassExpires.Sub(r.o.Clock.Now()).Seconds())),
			HttpOnly: true, Secure: req.TLS != nil, SameSite: http.SameSiteLaxMode,
		})
	case st.State == StateDone || st.State == StateExpired:
		http.SetCookie(w, &http.Cookie{
			Name: r.o.PassCookie, Value: "", Path: "/", MaxAge: -1,
			HttpOnly: true, Secure: req.TLS != nil, SameSite: http.SameSiteLaxMode,
		})
	}
}

// setTicketCookie sets the place ticket cookie (Options.TicketCookie) when
// st carries a ticket the request did not, and deletes it once the person
// no longer waits.
func (r *Room) setTicketCookie(w http.ResponseWriter, req *http.Request, st Status) {
	if r.o.TicketCookie == "-" {
		return
	}
	switch {
	case st.Ticket != "" && st.Ticket != r.TicketOf(req):
		http.SetCookie(w, &http.Cookie{
			Name: r.o.TicketCookie, Value: st.Ticket, Path: "/", MaxAge: int(r.o.TicketTTL.Seconds()),
			HttpOnly: true, Secure: req.TLS != nil, SameSite: http.SameSiteLaxMode,
		})
	case st.Ticket == "" && st.State != StateWaiting && st.State != StateSoldOut:
		if _, err := req.Cookie(r.o.TicketCookie); err == nil {
			http.SetCookie(w, &http.Cookie{
				Name: r.o.TicketCookie, Value: "", Path: "/", MaxAge: -1,
				HttpOnly: true, Secure: req.TLS != nil, SameSite: http.SameSiteLaxMode,
			})
		}
	}
}

// TicketOf returns the place ticket req carries, as [Room.Handler] reads
// it: the Options.TicketHeader header first, then the Options.TicketCookie
// cookie; "" for none. It does not verify the ticket ([Room.Poll] and
// [Room.Rejoin] do). A host that serves its own waiting room page passes
// it to them.
func (r *Room) TicketOf(req *http.Request) string {
	if r.o.TicketHeader != "-" {
		if t := req.Header.Get(r.o.TicketHeader); t != "" {
			return t
		}
	}
	if r.o.TicketCookie != "-" {
		if c, err := req.Cookie(r.o.TicketCookie); err == nil {
			return c.Value
		}
	}
	return ""
}

// challenge sets the WWW-Authenticate header a 401 must carry: the
// credential is the room's pass.
func (r *Room) challenge(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `GatehousePass realm="`+r.o.Name+`"`)
}

// methodOf returns the method of the endpoint op, "" for none.
func methodOf(op string) string {
	switch op {
	case "join", "done":
		return http.MethodPost
	case "status", "fairness", "line":
		return http.MethodGet
	}
	return ""
}

func (r *Room) writeError(w http.ResponseWriter, req *http.Request, err error) {
	r.Deny(w, req, err)
}

// Refusal returns err, an error of a Room method, as the typed refusal
// the room's handlers answer with: 404 not_joined, 503 unavailable (with
// Retry-After RetryAfterUnavailable: the place is kept), 401
// identity_required, 403 invalid_pass or pass_expired, 500 internal.
func (r *Room) Refusal(req *http.Request, err error) *problem.Refusal {
	var ref *problem.Refusal
	switch {
	case errors.Is(err, ErrNotJoined):
		ref = r.refusal(req, http.StatusNotFound, problem.CodeNotJoined, "Not in the waiting room", "Join the waiting room first.")
	case errors.Is(err, ErrUnavailable):
		ref = r.refusal(req, http.StatusServiceUnavailable, problem.CodeUnavailable, "Waiting room unavailable",
			"The waiting room cannot be reached right now; your place is kept. Try again shortly.")
		ref.RetryAfter = RetryAfterUnavailable
	case errors.Is(err, ErrNoIdentity):
		ref = r.refusal(req, http.StatusUnauthorized, problem.CodeIdentityRequired, "Identity required", "")
	case errors.Is(err, ErrPassExpired):
		ref = r.refusal(req, http.StatusForbidden, problem.CodePassExpired, "Pass expired", "Your time to book has run out.")
	case errors.Is(err, ErrInvalidPass):
		ref = r.refusal(req, http.StatusForbidden, problem.CodeInvalidPass, "Invalid pass", "Pass through the waiting room first.")
	default:
		ref = r.refusal(req, http.StatusInternalServerError, problem.CodeInternal, "Waiting room error", "")
	}
	ref.Err = err
	return ref
}

// Deny answers req with err as Refusal makes it, through Options.Deny
// when set: for handlers of the host that call the room themselves.
func (r *Room) Deny(w http.ResponseWriter, req *http.Request, err error) {
	ref := r.Refusal(req, err)
	if ref.Status == http.StatusInternalServerError {
		r.o.Logger.Error("admission: handler", "room", r.o.Name, "err", err)
	}
	problem.Deny(r.o.Deny, w, req, ref)
}

func (r *Room) refusal(req *http.Request, status int, code, title, detail string) *problem.Refusal {
	instance := ""
	if req != nil && req.URL != nil {
		instance = req.URL.Path
	}
	ref := problem.New("admission", status, code, title, detail, instance)
	ref.Room = r.o.Name
	return ref.Finish()
}

// deny answers req with a refusal of the room's own handlers.
func (r *Room) deny(w http.ResponseWriter, req *http.Request, status int, code, title, detail string, err error) {
	ref := r.refusal(req, status, code, title, detail)
	ref.Err = err
	problem.Deny(r.o.Deny, w, req, ref)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		problem.Write(w, problem.Problem{Status: http.StatusInternalServerError}, 0)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

// Fairness is what the room publishes so that anyone can audit the
// opening shuffle: before the opening the seed's commitment; from the
// opening the seed and E, from which NewShuffle(seed, E).Place(index)
// gives every early arrival's place.
type Fairness struct {
	Room           string    `json:"room"`                     // the room's name
	Opening        time.Time `json:"opens_at"`                 // the opening instant
	SeedCommitment string    `json:"seed_commitment"`          // [Seed.Commitment], published from the start
	Seed           string    `json:"seed,omitempty"`           // the seed in hex, from the opening on
	EarlyArrivals  *int64    `json:"early_arrivals,omitempty"` // E, once fixed
}

func (r *Room) serveFairness(w http.ResponseWriter, req *http.Request) {
	now := r.o.Clock.Now()
	f := Fairness{Room: r.o.Name, Opening: r.o.Opening, SeedCommitment: r.commitment} // in Opening's zone
	if seed, ok := r.Seed(now); ok {
		snap, err := r.snapshot(req.Context(), now)
		if err != nil {
			r.writeError(w, req, err)
			return
		}
		f.Seed = seed.String()
		if snap.line.Opened {
			e := snap.line.Early
			f.EarlyArrivals = &e
		}
	}
	writeJSON(w, http.StatusOK, f)
}

// serveLine writes the room's public figures, cacheable for the refresh
// interval.
func (r *Room) serveLine(w http.ResponseWriter, req *http.Request) {
	l, err := r.Line(req.Context())
	if err != nil {
		r.writeError(w, req, err)
		return
	}
	b, err := json.Marshal(l)
	if err != nil {
		problem.Write(w, problem.Problem{Status: http.StatusInternalServerError}, 0)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(max(1, r.refreshEvery(l.Limits)/time.Second))))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	w.Write(append(b, '\n'))
}

// Protect returns a handler that lets a request through to next only with
// a valid pass of this room for the request's identity: read from the
// header Options.PassHeader, else an "Authorization: Bearer" header (for
// API clients), else the cookie Options.PassCookie. It never
// asks the store, so admitted people keep going while the store is down,
// and nobody gets through because of an outage. Refusals are problem+json:
// 401 without an identity or a pass; 403 for a pass that is forged,
// malformed, expired, for another identity or another room, or signed
// with a key the keyring no longer accepts. Every refusal goes through
// Options.Deny when set: a host sends a browser without a pass to its
// waiting room page there, for instance.
func (r *Room) Protect(next http.Handler, identity IdentityFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		id, ok := identity(req)
		if !ok || id == "" {
			r.challenge(w)
			r.deny(w, req, http.StatusUnauthorized, problem.CodeIdentityRequired, "Identity required", "", nil)
			return
		}
		token := ""
		if r.o.PassHeader != "-" {
			token = req.Header.Get(r.o.PassHeader)
		}
		if token == "" {
			token = bearer(req.Header.Get("Authorization"))
		}
		if token == "" && r.o.PassCookie != "-" {
			if c, err := req.Cookie(r.o.PassCookie); err == nil {
				token = c.Value
			}
		}
		if token == "" {
			r.challenge(w)
			r.deny(w, req, http.StatusUnauthorized, problem.CodePassRequired, "Pass required",
				"Wait for your turn in the waiting room.", nil)
			return
		}
		if err := r.Verify(r.o.Clock.Now(), token, id); err != nil {
			r.o.Logger.Debug("admission: pass refused", "room", r.o.Name, "id", r.Hash(id).Short(), "err", err)
			r.Deny(w, req, err)
			return
		}
		next.ServeHTTP(w, req)
	})
}

// bearer returns the token of an "Authorization: Bearer <token>" header
// value (the scheme is case-insensitive, RFC 9110), or "".
func bearer(h string) string {
	const scheme = "bearer "
	if len(h) <= len(scheme) || !strings.EqualFold(h[:len(scheme)], scheme) {
		return ""
	}
	return strings.TrimSpace(h[len(scheme):])
}
