package window

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-go/gatehouse/window/redisopt"
)

// Defaults of RedisOptions.
const (
	// DefaultRedisPrefix is the default RedisOptions.Prefix: the switch's
	// key is DefaultRedisPrefix + "{maintenance}".
	DefaultRedisPrefix = "gatehouse:window:"
	// DefaultSwitchTTL is the default bound on the age of a reading.
	DefaultSwitchTTL = time.Second
	// DefaultSwitchRetry is the default pause between reads after one
	// failed.
	DefaultSwitchRetry = 200 * time.Millisecond
	// DefaultRedisTimeout is the default RedisOptions.Timeout, the read
	// budget: the bound on one read or write of the key, and so on how long
	// a request waits for the switch while Redis stalls. Its name and value
	// are those of the admission and slots stores' DefaultRedisTimeout.
	DefaultRedisTimeout = 500 * time.Millisecond
	// DefaultSwitchReadTimeout is DefaultRedisTimeout's former name.
	//
	// Deprecated: use DefaultRedisTimeout.
	DefaultSwitchReadTimeout = DefaultRedisTimeout
)

// The subscriber's reconnection pacing, in real time.
const (
	initialSwitchListenBackoff = 10 * time.Millisecond
	maxSwitchListenBackoff     = time.Second
)

// RedisOptions configures a RedisSwitch. The zero value is the
// documented default of every field.
type RedisOptions struct {
	// Prefix starts the switch's key, Prefix + "{maintenance}", which
	// holds the state ("1" on, "0" off); change notices go to the pub/sub
	// channel Prefix + "{maintenance}:changed". Default DefaultRedisPrefix
	// ("gatehouse:window:"). Printable ASCII without spaces or braces, at
	// most 64 bytes, as every gatehouse Redis prefix. Give each campaign
	// that needs its own switch its own prefix.
	Prefix string
	// TTL is how long an answer read from Redis is used without asking
	// again, measured on Clock: the bound on how stale On may be (see
	// RedisSwitch). Default DefaultSwitchTTL (1 s).
	TTL time.Duration
	// Retry is how long, after a failed read, On keeps answering "on" with
	// the error before it asks Redis again, measured on Clock, so that an
	// outage does not cost every request a failing round trip. It may not
	// exceed TTL. Default DefaultSwitchRetry (200 ms).
	Retry time.Duration
	// Timeout is the read budget: the longest one read of the key (and
	// one Set) may take, in real time, whatever the client's own timeouts
	// (see RedisSwitch). While Redis stalls, a request that needs the
	// switch waits at most this long, then On fails closed at once for
	// Retry. It is the admission and slots stores' RedisOptions.Timeout
	// for the switch. Default DefaultRedisTimeout (500 ms).
	Timeout time.Duration
	// ReadTimeout is Timeout's former name, read only when Timeout is
	// zero.
	//
	// Deprecated: use Timeout.
	ReadTimeout time.Duration
	// MissingIsOn makes a missing key read as on instead of off. Set it
	// when Redis may lose data (no AOF): a restart that forgets the switch
	// then closes the site instead of opening it, and an operator turns
	// maintenance off once to begin.
	MissingIsOn bool
	// Clock is the clock answers are aged with. Nil means clock.New().
	// Share it with the Gate.
	Clock clock.Clock
	// Logger receives subscription losses and recoveries. Nil discards.
	Logger *slog.Logger
}

// RedisSwitch is a Switch in Redis, shared by every server instance that
// uses the same Redis and key. It works on a standalone server, Sentinel
// and Cluster alike (redis.UniversalClient).
//
// The request path does not pay a Redis round trip per request: On answers
// from a cached reading, and reads the key again only when the reading has
// aged TTL on Clock, or when a change notice has arrived. One caller does the
// read; concurrent callers wait for it.
//
// The bound: once Set has returned on any instance, every instance's On
// answers with the new state at the latest TTL after that (measured on its
// clock), and in practice within a pub/sub delivery: Set publishes a
// notice on the key + ":changed", which a subscriber goroutine (one per switch,
// stopped by Close) turns into an immediate invalidation. The TTL bound does
// not depend on pub/sub: a lost notice or a broken subscription only costs
// the fast path. A broken subscription invalidates the cache, and so does
// its recovery, since notices may have been missed in between.
//
// Fail closed: when a read fails (Redis down, timeout, a value that is not
// "0" or "1") On returns true and an error wrapping ErrSwitchUnavailable,
// and keeps doing so without asking Redis again for Retry, counted from
// the moment the read failed; the next read that succeeds ends it. When
// Redis goes away the subscription breaks at once, so in practice every
// instance fails closed within a read timeout, and at the latest TTL +
// Timeout after the outage begins.
//
// A stall never freezes a caller: every read and Set is bounded by
// Timeout in real time. NewRedisSwitch refuses a go-redis client built
// without ContextTimeoutEnabled (go-redis then ignores context deadlines on
// the socket); on a *redis.Client the switch reads inline under the
// deadline. On a client it cannot inspect (a wrapper) or a cluster client
// (which fetches command metadata under its own fixed timeout) it still
// returns by the deadline, by abandoning the read on its own goroutine.
type RedisSwitch struct {
	rdb     redis.UniversalClient
	key     string
	channel string
	ttl     time.Duration
	retry   time.Duration
	timeout time.Duration
	missing bool
	clk     clock.Clock
	log     *slog.Logger

	epoch atomic.Uint64                 // bumped by every invalidation
	snap  atomic.Pointer[switchReading] // the last reading

	mu     sync.Mutex
	flight *switchFlight

	inline     bool // the client honours context deadlines (redisopt.HonoursDeadlines)
	ps         *redis.PubSub
	subscribed atomic.Bool
	cancel     context.CancelFunc
	done       chan struct{}
	closed     atomic.Bool
	self       string // " " + a random instance id, ending our notices
}

var _ Switch = (*RedisSwitch)(nil)

// switchReading is one read of the key.
type switchReading struct {
	on    bool
	err   error     // non-nil: the read failed, and on is true
	at    time.Time // when the read ended (a failure) or began (a value), on the clock
	epoch uint64    // the invalidation epoch when the read began
}

type switchFlight struct {
	done chan struct{}
	r    *switchReading
}

// setScript writes the state and announces it in one atomic step. The
// notice carries the writer's instance id, so the writer, whose reading
// Set already updated, does not read the key again for its own notice.
var setScript = redis.NewScript(`
redis.call('SET', KEYS[1], ARGV[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
`)

// NewRedisSwitch returns a switch on rdb and starts its subscriber
// goroutine; call Close to stop it. It does no I/O itself: if Redis is
// unreachable, the first On fails closed and the subscriber keeps trying.
//
// The client must honour context deadlines (go-redis: ContextTimeoutEnabled:
// true), or Timeout could not bound a read; NewRedisSwitch refuses one
// that does not.
func NewRedisSwitch(rdb redis.UniversalClient, opts RedisOptions) (*RedisSwitch, error) {
	if rdb == nil {
		return nil, errors.New("window: NewRedisSwitch: nil Redis client")
	}
	if err := redisopt.CheckClient(rdb); err != nil {
		return nil, fmt.Errorf("window: NewRedisSwitch: %w", err)
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultRedisPrefix
	}
	if err := redisopt.CheckPrefix(opts.Prefix); err != nil {
		return nil, fmt.Errorf("window: NewRedisSwitch: %w", err)
	}
	key := opts.Prefix + "{maintenance}"
	if opts.TTL == 0 {
		opts.TTL = DefaultSwitchTTL
	}
	if opts.Retry == 0 {
		opts.Retry = min(DefaultSwitchRetry, opts.TTL)
	}
	if opts.Timeout == 0 {
		opts.Timeout = opts.ReadTimeout
	}
	if opts.Timeout == 0 {
		opts.Timeout = DefaultRedisTimeout
	}
	switch {
	case opts.TTL < 0:
		return nil, fmt.Errorf("window: NewRedisSwitch: negative TTL %v", opts.TTL)
	case opts.Retry < 0 || opts.Retry > opts.TTL:
		return nil, fmt.Errorf("window: NewRedisSwitch: Retry %v must be between 0 and TTL %v", opts.Retry, opts.TTL)
	case opts.Timeout < 0:
		return nil, fmt.Errorf("window: NewRedisSwitch: negative Timeout %v", opts.Timeout)
	}
	if opts.Clock == nil {
		opts.Clock = clock.New()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &RedisSwitch{
		rdb:     rdb,
		key:     key,
		channel: key + ":changed",
		ttl:     opts.TTL,
		retry:   opts.Retry,
		timeout: opts.Timeout,
		missing: opts.MissingIsOn,
		inline:  redisopt.HonoursDeadlines(rdb),
		clk:     opts.Clock,
		log:     opts.Logger,
		ps:      rdb.Subscribe(ctx), // no channel yet: no I/O here
		cancel:  cancel,
		done:    make(chan struct{}),
		self:    " " + rand.Text(),
	}
	go s.listen(ctx)
	return s, nil
}

// Subscribed reports whether the change-notice subscription is active now.
// While it is not, changes still reach this instance within the TTL; a
// readiness probe or a metric may watch it.
func (s *RedisSwitch) Subscribed() bool { return s.subscribed.Load() }

// Key returns the Redis key of the switch.
func (s *RedisSwitch) Key() string { return s.key }

// On reports whether maintenance is on, from a reading at most TTL old (see
// RedisSwitch). When the state cannot be read it returns true and an error
// wrapping ErrSwitchUnavailable. On a fresh reading it does not allocate.
func (s *RedisSwitch) On(ctx context.Context) (bool, error) {
	if r := s.snap.Load(); r != nil && s.fresh(r, s.clk.Now()) {
		return r.on, r.err
	}
	r := s.refresh(ctx)
	return r.on, r.err
}

func (s *RedisSwitch) fresh(r *switchReading, now time.Time) bool {
	if r.epoch != s.epoch.Load() || now.Before(r.at) {
		return false
	}
	age := now.Sub(r.at)
	if r.err != nil {
		return age < s.retry
	}
	return age < s.ttl
}

// refresh reads the key, or waits for the read another caller is doing.
func (s *RedisSwitch) refresh(ctx context.Context) *switchReading {
	s.mu.Lock()
	if r := s.snap.Load(); r != nil && s.fresh(r, s.clk.Now()) {
		s.mu.Unlock()
		return r
	}
	if f := s.flight; f != nil {
		s.mu.Unlock()
		select {
		case <-f.done:
			return f.r
		case <-ctx.Done():
			return &switchReading{on: true, err: fmt.Errorf("%w: %w", ErrSwitchUnavailable, context.Cause(ctx))}
		}
	}
	f := &switchFlight{done: make(chan struct{})}
	s.flight = f
	s.mu.Unlock()

	r := s.read(ctx)
	s.snap.Store(r)
	s.mu.Lock()
	s.flight = nil
	s.mu.Unlock()
	f.r = r
	close(f.done)
	return r
}

// read does one GET. The caller's cancellation does not stop it, since
// other callers may be waiting for it; Timeout bounds it.
//
// A value read is stamped with the instant the read began, so that its age
// never understates how stale it may be. A failure is stamped with the
// instant it was known: stamped with the start, a read that failed after
// Timeout would already be older than Retry, and every On during an
// outage would start another read that waits Timeout.
func (s *RedisSwitch) read(ctx context.Context) *switchReading {
	r := &switchReading{epoch: s.epoch.Load(), at: s.clk.Now()}
	if s.closed.Load() {
		r.on, r.err = true, fmt.Errorf("%w: switch closed", ErrSwitchUnavailable)
		return r
	}
	v, err := redisopt.Do(context.WithoutCancel(ctx), s.timeout, s.inline, func(ctx context.Context) (string, error) {
		return s.rdb.Get(ctx, s.key).Result()
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		r.at = s.clk.Now()
	}
	switch {
	case errors.Is(err, redis.Nil):
		r.on = s.missing
	case err != nil:
		r.on, r.err = true, fmt.Errorf("%w: read %s: %w", ErrSwitchUnavailable, s.key, err)
	case v == "1":
		r.on = true
	case v == "0":
		r.on = false
	default:
		r.on, r.err = true, fmt.Errorf("%w: key %s holds %.20q, want \"0\" or \"1\"", ErrSwitchUnavailable, s.key, v)
	}
	return r
}

// Set turns maintenance on or off for every instance sharing the key: it
// writes the key and publishes a change notice in one atomic script, and
// updates this instance's reading at once. Timeout bounds it, as it
// bounds a read. An error wraps ErrSwitchUnavailable; the state may then be
// either.
func (s *RedisSwitch) Set(ctx context.Context, on bool) error {
	v := "0"
	if on {
		v = "1"
	}
	r := &switchReading{on: on, epoch: s.epoch.Load(), at: s.clk.Now()}
	_, err := redisopt.Do(ctx, s.timeout, s.inline, func(ctx context.Context) (any, error) {
		return setScript.Run(ctx, s.rdb, []string{s.key}, v, s.channel, v+s.self).Result()
	})
	if err != nil {
		s.invalidate()
		return fmt.Errorf("%w: set %s: %w", ErrSwitchUnavailable, s.key, err)
	}
	s.snap.Store(r)
	return nil
}

// invalidate makes the current reading stale, so the next On reads Redis.
func (s *RedisSwitch) invalidate() { s.epoch.Add(1) }

// Close stops the subscriber goroutine and waits for it. After Close, On
// fails closed and Set still works. It does not close the Redis client.
func (s *RedisSwitch) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.cancel()
	err := s.ps.Close()
	<-s.done
	s.invalidate()
	return err
}

// listen receives change notices and watches the subscription: a notice, a
// broken subscription and a restored one each invalidate the reading.
func (s *RedisSwitch) listen(ctx context.Context) {
	defer close(s.done)
	defer s.subscribed.Store(false)
	backoff := initialSwitchListenBackoff
	// broken: no working subscription, from the start until the first
	// confirmation. Only the loss of a working one invalidates: readings
	// taken while there was none already age out by the TTL.
	broken := true
	everSubscribed := false
	_ = s.ps.Subscribe(ctx, s.channel) // on failure, Receive reconnects
	for {
		msg, err := s.ps.Receive(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			s.subscribed.Store(false)
			if !broken {
				broken = true
				s.invalidate()
				s.log.Warn("window: maintenance switch subscription lost; answers age out within the TTL",
					"key", s.key, "ttl", s.ttl, "err", err)
			}
			// A real-time pause between reconnection attempts: this
			// is network pacing, not a decision, so it does not use
			// the injected clock.
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			backoff = min(2*backoff, maxSwitchListenBackoff)
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				s.invalidate() // before Subscribed reports true
				s.subscribed.Store(true)
				if broken {
					broken = false
					backoff = initialSwitchListenBackoff
					if everSubscribed {
						s.log.Info("window: maintenance switch subscription restored", "key", s.key)
					}
					everSubscribed = true
				}
			}
		case *redis.Message:
			if !strings.HasSuffix(m.Payload, s.self) {
				s.invalidate()
			}
		}
	}
}
