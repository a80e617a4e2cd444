package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"time"
)

// behaviour is a bit set of the ways a person departs from the polite
// crowd. A person may have several.
type behaviour uint16

const (
	bReconnect behaviour = 1 << iota // storms Join while waiting
	bSkipper                         // tries to book without a valid pass
	bBackdoor                        // tries to book before the opening
	bDouble                          // two devices: joins twice, holds twice at once
	bRetry                           // booking calls time out, retried with the same key
	bAbandon                         // leaves the queue for good
	bComeback                        // away when called, comes back later
)

var behaviourNames = []struct {
	b    behaviour
	name string
}{
	{bReconnect, "reconnect_storm"}, {bSkipper, "skipper"}, {bBackdoor, "backdoor"},
	{bDouble, "double_booker"}, {bRetry, "timeout_retry"}, {bAbandon, "abandon"},
	{bComeback, "comeback"},
}

// Skipper tricks.
const (
	trickNoPass uint8 = iota
	trickForged
	trickBorrowed
	trickExpired
	numTricks
)

var trickNames = [numTricks]string{"no_pass", "forged_pass", "borrowed_pass", "expired_pass"}

// fate is how a person's night ended.
type fate uint8

const (
	fActive      fate = iota
	fBooked           // confirmed a booking
	fSoldOut          // no place left (or -tries full slots)
	fAbandoned        // left the queue
	fSessionLost      // the pass lapsed before booking and the room sent them away
	fFailed           // gave up after repeated errors
	numFates
)

var fateNames = [numFates]string{"active", "booked", "sold_out", "abandoned", "session_lost", "failed"}

// passRec is a pass the room gave a person: the ledger's record of what is
// genuine.
type passRec struct {
	token   string
	expires time.Time // zero: unknown, taken as valid
}

// person is one member of the crowd. The fixed part is drawn from the seed
// before the run; the rest is the person's state, guarded by mu (two
// devices of a double booker may run at once).
type person struct {
	// fixed
	name    string
	arrival time.Duration // from the simulation's start
	beh     behaviour
	trick   uint8
	quitAt  time.Duration // abandoners: leave this long after joining

	mu sync.Mutex
	// ticket is the person's place ticket as the in-process target keeps
	// it (libTarget.crowd), beside mu: a poll reads it in the cache line
	// the lock brought in.
	ticket ticketJar
	// state; what a waiting person's poll reads and writes comes first,
	// beside mu and the fixed part, so that a poll touches one or two
	// cache lines of the person, not the whole record.
	fate        fate
	joined      bool
	admitted    bool // first admission seen
	admitting   bool // hold scheduled after admission
	away        bool
	wentAway    bool
	timeShown   bool // some answer while waiting carried a time
	errs        int  // consecutive errors
	joinedAt    time.Duration
	lastPoll    time.Duration
	place       int64
	timeShownAt time.Duration // offset of the latest such answer
	lastLo      time.Duration // the range it carried
	lastHi      time.Duration

	etaKnown     bool
	etaLo        time.Duration
	etaHi        time.Duration
	admittedAt   time.Duration // observed (poll instant)
	prevPoll     time.Duration // poll before the one that saw the admission
	reported     time.Time     // library's admission instant (first admission)
	lastAdmitted time.Time     // library's latest admission instant reported
	toldSoldOut  bool          // the room answered sold_out
	toldAt       time.Duration // offset of the first such answer
	skipped      bool          // trick attempted
	pass         string
	passExp      time.Time
	passes       []passRec
	holds        [2]hold
	holding      [2]bool
	booked       bool
	tries        int
	seq          int // idempotency key counter
	returnedAt   time.Duration
	calledAway   bool // admission observed on return: called while away
	retryFirst   [2]retryRec
	uncertain    bool // a mutating call's outcome never became known
	expiredDone  bool
}

// retryRec is the result of the first call of a timed-out request, to
// compare with its retry.
type retryRec struct {
	key  string
	slot int
	kind kind
	id   string
	set  bool
}

// crowd is the people of a run and their slots.
type crowd struct {
	people []*person
	// byArrival[i] is the person index of the i-th arrival.
	byArrival []int32
	slotIDs   []string
	slotCap   []int
	slotIdx   map[string]int
	// backend is the booking backend's model, nil when unbounded.
	backend *backendModel
}

// setSlots sets the slots the crowd books.
func (cr *crowd) setSlots(ids []string, caps []int) {
	cr.slotIDs, cr.slotCap = ids, caps
	cr.slotIdx = make(map[string]int, len(ids))
	for i, id := range ids {
		cr.slotIdx[id] = i
	}
}

// newCrowd draws the crowd from c.Seed.
func newCrowd(c *config) *crowd {
	r := rand.New(rand.NewPCG(uint64(c.Seed), 0x9e3779b97f4a7c15))
	cr := &crowd{people: make([]*person, c.People)}
	open := c.openAt()
	nEarly := int(math.Round(c.Early * float64(c.People)))
	nSpike := int(math.Round(c.Spike * float64(c.People)))
	for i := range cr.people {
		p := &person{name: fmt.Sprintf("p%07d", i), place: -1}
		// Behaviours are independent draws.
		draw := func(share float64, b behaviour) {
			if share > 0 && r.Float64() < share {
				p.beh |= b
			}
		}
		draw(c.Reconnect, bReconnect)
		draw(c.Skippers, bSkipper)
		draw(c.Backdoor, bBackdoor)
		draw(c.Double, bDouble)
		draw(c.Retry, bRetry)
		draw(c.Abandon, bAbandon)
		draw(c.Comeback, bComeback)
		if p.beh&bAbandon != 0 {
			// Abandoners do not come back, whatever else they meant to do.
			p.beh &^= bComeback
		}
		if p.beh&bBackdoor != 0 && c.Prequeue == 0 {
			p.beh &^= bBackdoor
		}
		p.trick = uint8(r.IntN(int(numTricks)))
		switch {
		case i < nEarly || p.beh&bBackdoor != 0:
			p.arrival = time.Duration(r.Float64() * float64(c.Prequeue))
		case i < nEarly+nSpike:
			p.arrival = open + time.Duration(r.ExpFloat64()*float64(c.SpikeWidth))
		default:
			p.arrival = open + time.Duration(r.Float64()*float64(c.Tail))
		}
		// Abandoners leave between a tenth of -abandon-within and all of
		// it after joining.
		p.quitAt = time.Duration((0.1 + 0.9*r.Float64()) * float64(c.AbandonWithin))
		cr.people[i] = p
	}
	cr.byArrival = make([]int32, len(cr.people))
	for i := range cr.byArrival {
		cr.byArrival[i] = int32(i)
	}
	sort.SliceStable(cr.byArrival, func(a, b int) bool {
		return cr.people[cr.byArrival[a]].arrival < cr.people[cr.byArrival[b]].arrival
	})
	// Slots: Slots places in slots of SlotCapacity (the last may be smaller).
	n := (c.Slots + c.SlotCapacity - 1) / c.SlotCapacity
	ids := make([]string, n)
	caps := make([]int, n)
	left := c.Slots
	for i := range n {
		ids[i] = fmt.Sprintf("s%06d", i)
		caps[i] = min(c.SlotCapacity, left)
		left -= caps[i]
	}
	cr.setSlots(ids, caps)
	return cr
}

// slotIndex returns the index of slot id; -1 if it is not one of ours.
func (cr *crowd) slotIndex(id string) int {
	if i, ok := cr.slotIdx[id]; ok {
		return i
	}
	return -1
}

// personIndex parses a person name made by newCrowd; -1 if not one.
func (cr *crowd) personIndex(name string) int {
	i := personNumber(name)
	if i < 0 || i >= len(cr.people) || cr.people[i].name != name {
		return -1
	}
	return i
}

// personNumber is the number in a name of newCrowd's form ("p" and at
// least seven digits: p0000042); -1 if name is not of that form. It is on
// every poll's path, so it neither allocates nor scans a format.
func personNumber(name string) int {
	if len(name) < 8 || len(name) > 12 || name[0] != 'p' {
		return -1
	}
	n := 0
	for _, c := range []byte(name[1:]) {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// slotPool is the crowd's view of which slots still have room, like an
// availability page: a slot seen full is taken off; when none is left the
// page is refreshed from the ledger's confirmed counts (held places that
// lapsed come back).
type slotPool struct {
	mu      sync.Mutex
	open    []int32
	pos     []int32 // index in open, -1 if off
	members []int32 // the slots this pool covers; nil: all
}

func newSlotPool(n int) *slotPool {
	sp := &slotPool{open: make([]int32, n), pos: make([]int32, n)}
	for i := range n {
		sp.open[i] = int32(i)
		sp.pos[i] = int32(i)
	}
	return sp
}

// pick returns a random slot thought to have room, or -1, refilling from
// hasRoom when the pool is empty.
func (sp *slotPool) pick(r *rand.Rand, hasRoom func(int) bool) int {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if len(sp.open) == 0 {
		refill := func(i int) {
			if hasRoom(i) {
				sp.pos[i] = int32(len(sp.open))
				sp.open = append(sp.open, int32(i))
			}
		}
		if sp.members != nil {
			for _, i := range sp.members {
				refill(int(i))
			}
		} else {
			for i := range sp.pos {
				refill(i)
			}
		}
		if len(sp.open) == 0 {
			return -1
		}
	}
	return int(sp.open[r.IntN(len(sp.open))])
}

// full takes slot i off the pool.
func (sp *slotPool) full(i int) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	k := sp.pos[i]
	if k < 0 {
		return
	}
	last := sp.open[len(sp.open)-1]
	sp.open[k] = last
	sp.pos[last] = k
	sp.open = sp.open[:len(sp.open)-1]
	sp.pos[i] = -1
}

// passPool keeps a few recent genuine passes, for borrowers and forgers.
type passPool struct {
	mu    sync.Mutex
	toks  []string
	owner []int32
	next  int
}

func (pp *passPool) add(owner int, tok string) {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	if len(pp.toks) < 256 {
		pp.toks = append(pp.toks, tok)
		pp.owner = append(pp.owner, int32(owner))
		return
	}
	pp.toks[pp.next] = tok
	pp.owner[pp.next] = int32(owner)
	pp.next = (pp.next + 1) % len(pp.toks)
}

// someoneElse returns another person's pass, or "".
func (pp *passPool) someoneElse(r *rand.Rand, me int) string {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	for range 4 {
		if len(pp.toks) == 0 {
			return ""
		}
		i := r.IntN(len(pp.toks))
		if int(pp.owner[i]) != me {
			return pp.toks[i]
		}
	}
	return ""
}

// forge returns a token shaped like a real one with its signature altered,
// or random characters when there is none to copy.
func forge(r *rand.Rand, from string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	if from == "" {
		b := make([]byte, 96)
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		return string(b)
	}
	b := []byte(from)
	// Change a character near the end (the signature) to another one.
	// Not the very last: in unpadded base64 its low bits may be ignored
	// by a lenient decoder, and the "forgery" would still verify.
	if len(b) < 3 {
		return forge(r, "")
	}
	i := len(b) - 2 - r.IntN(min(len(b)-2, 8))
	c := b[i]
	for b[i] == c {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}
