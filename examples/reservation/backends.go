package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-go/gatehouse/admission"
	"github.com/gatehouse-go/gatehouse/admission/slotsupply"
	"github.com/gatehouse-go/gatehouse/slots"
	"github.com/gatehouse-go/gatehouse/window"
)

// operatorTokenTTL is how long the operator token printed at start stays
// valid.
const operatorTokenTTL = 7 * 24 * time.Hour

// slotCampaign is the slot store's campaign name; the namespace keeps
// servers apart in Redis through the key prefix.
const slotCampaign slots.Campaign = "booking"

// deriveKey derives an independent key for one purpose from the server's
// secret, so that one secret (GATEHOUSE_SECRET) configures every instance
// and no key can stand in for another.
func deriveKey(secret []byte, namespace, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("gatehouse-reservation/v1/" + namespace + "/" + purpose))
	return m.Sum(nil)
}

// initBackends builds the gate, the waiting rooms (one per opening) and the
// slot service, on memory or on Redis.
func (s *server) initBackends(secret []byte) error {
	ns := s.cfg.Namespace
	key := func(purpose string) []byte { return deriveKey(secret, ns, purpose) }
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	var (
		sw        window.Switch
		roomStore admission.Store
		slotStore slots.Store
	)
	switch s.cfg.Store {
	case "memory":
		sw = window.NewMemorySwitch(false)
		roomStore = admission.NewMemoryStore()
		slotStore = slots.NewMemoryStore()
	case "redis":
		rdb := s.cfg.Redis
		if rdb == nil {
			// ContextTimeoutEnabled: go-redis applies the libraries'
			// budgets (500 ms by default) to its sockets only with it.
			rdb = redis.NewUniversalClient(&redis.UniversalOptions{Addrs: s.cfg.RedisAddrs, ContextTimeoutEnabled: true})
			s.closers = append(s.closers, rdb.Close)
		}
		if err := rdb.Ping(ctx).Err(); err != nil {
			return fmt.Errorf("redis at %v: %w", s.cfg.RedisAddrs, err)
		}
		prefix := "gatehouse:reservation:" + ns + ":"
		rs, err := window.NewRedisSwitch(rdb, window.RedisOptions{
			Prefix: prefix, Clock: s.clk, Logger: s.log, Timeout: s.cfg.RedisTimeout,
		})
		if err != nil {
			return err
		}
		s.closers = append(s.closers, rs.Close)
		sw = rs
		if roomStore, err = admission.NewRedisStore(rdb, admission.RedisOptions{Prefix: prefix + "admission:", Timeout: s.cfg.RedisTimeout}); err != nil {
			return err
		}
		if slotStore, err = slots.NewRedisStore(rdb, slots.RedisOptions{Prefix: prefix + "slots:", Timeout: s.cfg.RedisTimeout}); err != nil {
			return err
		}
	}
	s.sw = sw

	// Operators: a keyring and one token printed at start.
	ops, err := window.NewKeyring(window.OperatorKey{ID: "op1", Secret: key("operator")})
	if err != nil {
		return err
	}
	s.operators = ops
	if s.opToken, err = ops.Issue(s.clk.Now(), "console", operatorTokenTTL); err != nil {
		return err
	}

	// The slot service. Its gate is the commit check: window, eligibility
	// and pass, all at the instant the service gives the store.
	s.personKey = key("person")
	s.limitHashKey = key("limit")
	s.booking, err = slots.NewService(slotStore, slots.ServiceOptions{
		Clock:    s.clk,
		Gate:     commitGate{s},
		Logger:   s.log,
		LogKey:   key("log"),
		Observer: s.metrics.observeSlots,
		HoldTTL:  s.cfg.HoldFor,
	})
	if err != nil {
		return err
	}

	// With -pacing, each booking call tells the current opening's pacer
	// its latency and whether the backend failed.
	if s.cfg.Pacing {
		s.metrics.pace = func(e slots.Event) {
			p := s.partOfCampaign(e.Campaign)
			if i := s.openingAt(s.clk.Now()); p != nil && i >= 0 && i < len(p.pacers) {
				var err error
				if errors.Is(e.Err, slots.ErrUnavailable) {
					err = e.Err // a refusal (full, already booked) is not the backend's failure
				}
				p.pacers[i].Observe(e.Duration, err)
			}
		}
	}
	// One waiting room per opening (and per part).
	passKeys, err := admission.NewKeyring(admission.Key{ID: "p1", Secret: key("pass")})
	if err != nil {
		return err
	}
	for _, p := range s.parts {
		if err := s.initRooms(p, roomStore, passKeys, key); err != nil {
			return err
		}
	}
	s.rooms = s.parts[0].rooms

	for _, p := range s.parts {
		def := slots.DefineRequest{Campaign: p.campaign, Key: "define-" + slotsDigest(p.slots)}
		for _, sl := range p.slots {
			def.Slots = append(def.Slots, slots.Slot{ID: sl.ID, Capacity: sl.Capacity})
		}
		if err := s.booking.DefineSlots(ctx, def); err != nil {
			return fmt.Errorf("defining the slots: %w", err)
		}
	}
	return nil
}

// initRooms builds part p's waiting room for each opening, with p's share
// of the limits.
func (s *server) initRooms(p *part, roomStore admission.Store, passKeys *admission.Keyring, key func(string) []byte) error {
	for i, o := range s.camp.schedule.Openings {
		name := p.roomName(i, o.Booking.Start)
		var seed admission.Seed
		copy(seed[:], key("seed/"+name))
		var pacer *admission.Pacer
		if s.cfg.Pacing {
			// The rate follows the booking calls' health, between a tenth
			// of -rate and -rate (the console moves both live).
			var err error
			pacer, err = admission.NewPacer(admission.PacingOptions{Min: max(1, p.limits.Rate/10), Max: p.limits.Rate, Target: 500 * time.Millisecond})
			if err != nil {
				return err
			}
			p.pacers = append(p.pacers, pacer)
		}
		room, err := admission.NewRoom(roomStore, admission.Options{
			Name:         name,
			Opening:      o.Booking.Start,
			SessionTTL:   s.cfg.PassFor,
			Rate:         p.limits.Rate,
			Burst:        p.limits.Burst,
			Cap:          p.limits.Cap,
			Keyring:      passKeys,
			IdentityKey:  key("identity"),
			Seed:         seed,
			Clock:        s.clk,
			Logger:       s.log,
			Observer:     s.metrics.observeRoom,
			PassCookie:   passCookie,
			TicketCookie: ticketCookie,
			Deny:         s.roomDeny,
			// The room knows the places left: never more people admitted
			// than places, "sold out" said at once.
			Supply:      slotsupply.New(s.booking, p.campaign),
			Overbooking: s.cfg.Overbooking,
			Pacer:       pacer,
		})
		if err != nil {
			return fmt.Errorf("waiting room %d: %w", i, err)
		}
		p.rooms = append(p.rooms, room)
	}
	return nil
}

// initGate builds the gate around the whole mux; its routes are classified
// as they are mounted (window.Mux, in newServer). Its refusals become the
// library's pages for people (deny).
func (s *server) initGate() error {
	var err error
	s.gate, err = window.NewGate(window.GateOptions{
		Schedule:       s.camp.schedule,
		Switch:         s.sw,
		Operators:      s.operators,
		OperatorCookie: operatorCookie,
		Deny:           s.deny,
		Clock:          s.clk,
		Logger:         s.log,
		Observer:       s.metrics.observeGate,
	})
	if err != nil {
		return fmt.Errorf("gate: %w", err)
	}
	return nil
}

// roomName names the room of opening i; the opening instant is part of it,
// so that a demo restarted on the same Redis (a new opening) gets a new room
// rather than one whose stored opening disagrees.
func roomName(i int, opening time.Time) string {
	return "opening-" + strconv.Itoa(i+1) + "-" + strconv.FormatInt(opening.Unix(), 10)
}

// slotsDigest is a short digest of the slot list, for the idempotency key
// of the definition: the same list is defined once, a changed one again.
func slotsDigest(list []slotSpec) string {
	h := fnv.New64a()
	for _, sl := range list {
		fmt.Fprintf(h, "%s\x00%d\x00", sl.ID, sl.Capacity)
	}
	return strconv.FormatUint(h.Sum64(), 36)
}

// roomAt is the waiting room of the opening the schedule is about at now,
// or nil once every opening is over.
func (s *server) roomAt(now time.Time) *admission.Room {
	if i := s.openingAt(now); i >= 0 {
		return s.rooms[i]
	}
	return nil
}

func (s *server) operatorToken() string { return s.opToken }

func (s *server) setMaintenance(ctx context.Context, on bool) error { return s.sw.Set(ctx, on) }

// maintenanceOn reads the switch; an unreadable switch counts as on.
func (s *server) maintenanceOn(ctx context.Context) (bool, error) {
	on, err := s.sw.On(ctx)
	return on || err != nil, err
}

// phase is the gate's phase at now: Maintenance when the switch is on or
// cannot be read.
func (s *server) phase(ctx context.Context, now time.Time) (window.Phase, window.State) {
	st, _ := s.gate.State(ctx, now)
	return st.Phase, st
}

var errNoRoom = errors.New("no waiting room is open")
