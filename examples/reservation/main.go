package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit statuses of run.
const (
	exitOK    = 0
	exitError = 1 // the server could not start or stopped with an error
	exitUsage = 2 // invalid flags or campaign file
)

// secretEnv names the environment variable holding the hex-encoded key that
// signs session cookies and passes. Every instance behind one load balancer
// needs the same key; without it each start draws a random one.
const secretEnv = "GATEHOUSE_SECRET"

// shutdownGrace bounds how long in-flight requests may take to finish after
// SIGINT or SIGTERM.
const shutdownGrace = 10 * time.Second

// run is the whole program: parse args, start the server, serve until ctx is
// done, then shut down gracefully. It returns the process's exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "reservation: %v\n", err)
		return exitUsage
	}
	if s := os.Getenv(secretEnv); s != "" {
		key, err := hex.DecodeString(s)
		if err != nil || len(key) < 32 {
			fmt.Fprintf(stderr, "reservation: %s must be at least 32 bytes written in hex\n", secretEnv)
			return exitUsage
		}
		cfg.Secret = key
	}
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))

	srv, err := newServer(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "reservation: %v\n", err)
		if errors.Is(err, errConfig) {
			return exitUsage
		}
		return exitError
	}
	defer srv.Close()

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		fmt.Fprintf(stderr, "reservation: %v\n", err)
		return exitError
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}

	url := "http://" + displayAddr(ln.Addr())
	fmt.Fprintf(stdout, "reservation: serving %q on %s (store: %s)\n", srv.campaignName(), url, cfg.Store)
	fmt.Fprintf(stdout, "reservation: %s\n", srv.describeSchedule())
	fmt.Fprintf(stdout, "reservation: operator console %s/operator\n", url)
	fmt.Fprintf(stdout, "reservation: operator token %s\n", srv.operatorToken())

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		fmt.Fprintf(stderr, "reservation: %v\n", err)
		return exitError
	case <-ctx.Done():
	}
	cfg.Logger.Info("shutting down", "grace", shutdownGrace)
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		fmt.Fprintf(stderr, "reservation: shutdown: %v\n", err)
		return exitError
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(stderr, "reservation: %v\n", err)
		return exitError
	}
	return exitOK
}

// displayAddr turns a listener's address into one a browser can open: an
// unspecified host (":8080", "0.0.0.0") becomes localhost.
func displayAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// parseFlags turns the command line into a config. Usage errors are
// returned (and the usage text written to stderr); -h returns flag.ErrHelp.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	cfg := defaultConfig()
	fs := flag.NewFlagSet("reservation", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: reservation [flags]\n\n"+
			"A reservation server built on gatehouse: a gate around every route, an\n"+
			"eligibility check, a waiting room and a slot store. With no flags it runs\n"+
			"a demo campaign on in-memory backends whose booking opens a minute after start.\n\n"+
			"The key signing cookies and passes comes from $%s (hex, 32 bytes or more);\n"+
			"without it every start draws a new one.\n\nFlags:\n", secretEnv)
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "listen address (host:port)")
	fs.StringVar(&cfg.CampaignFile, "campaign", "", "campaign `file` (eligibility JSON); empty means the built-in demo campaign")
	fs.StringVar(&cfg.Store, "store", cfg.Store, "backend for the waiting room, bookings and the maintenance switch: memory or redis")
	redisAddr := fs.String("redis-addr", "127.0.0.1:6379", "Redis `addresses`, comma-separated; several mean a Redis Cluster")
	fs.DurationVar(&cfg.RedisTimeout, "redis-timeout", 0, "each Redis call's budget, past which a request is refused with 503 rather than left waiting (0: the libraries' default, 500ms)")
	fs.DurationVar(&cfg.OpensIn, "opens-in", cfg.OpensIn, "demo campaign: booking opens this long after start (the waiting room opens at start)")
	fs.DurationVar(&cfg.OpenFor, "open-for", cfg.OpenFor, "demo campaign: booking stays open this long")
	fs.DurationVar(&cfg.PreQueue, "prequeue", cfg.PreQueue, "campaign file: the waiting room opens this long before each booking window")
	fs.IntVar(&cfg.Rate, "rate", cfg.Rate, "people the waiting room admits per minute")
	fs.IntVar(&cfg.MaxActive, "max-active", cfg.MaxActive, "most people admitted and booking at once")
	fs.Float64Var(&cfg.Overbooking, "overbooking", 1, "people the room admits at once per free place (above 1 covers people who never book)")
	fs.BoolVar(&cfg.Pacing, "pacing", false, "let the booking calls' latency and errors set the admission rate, between a tenth of -rate and -rate")
	fs.DurationVar(&cfg.HoldFor, "hold-for", cfg.HoldFor, "how long a held slot waits for confirmation")
	fs.DurationVar(&cfg.PassFor, "pass-for", 0, "how long an admitted person's pass stays valid once claimed (0: the library's default, 15m)")
	fs.Float64Var(&cfg.ClientLimit, "client-limit", cfg.ClientLimit, "sign-ins and joins allowed per person (or per address, see -client-limit-by) per minute (0: no limit)")
	fs.StringVar(&cfg.LimitBy, "client-limit-by", limitByIdentity, "what -client-limit counts per: identity (each person) or address (each client IP; carrier-grade NAT puts whole networks behind one)")
	proxies := fs.String("trusted-proxy", "", "with -client-limit-by address: comma-separated `IPs or CIDRs` of reverse proxies whose X-Forwarded-For is believed")
	fs.BoolVar(&cfg.SecureCookies, "secure-cookies", false, "mark cookies Secure even on plain HTTP (set it behind a TLS-terminating proxy)")
	slotsFlag := fs.String("slots", "", "slots on offer: comma-separated `REGION[/SITE]=COUNTxCAPACITY` groups, e.g. seoul=40x50,busan=20x50 (default: the campaign file's, or the demo's)")
	fs.BoolVar(&cfg.Partition, "partition", false, "split the campaign by region: each region its own slot campaign and waiting room (its own Redis hash tag), people routed to one region each")
	opensAt := fs.String("opens-at", "", "demo campaign: booking opens at this RFC 3339 `instant` instead of -opens-in after start (instances started one after another serve one opening)")
	now := fs.String("now", "", "start the clock at this RFC 3339 `instant` and let it run from there (to replay a past campaign)")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["redis-addr"] || cfg.Store == "redis" {
		for _, a := range strings.Split(*redisAddr, ",") {
			if a = strings.TrimSpace(a); a != "" {
				cfg.RedisAddrs = append(cfg.RedisAddrs, a)
			}
		}
	}
	for _, p := range strings.Split(*proxies, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			a, aerr := netip.ParseAddr(p)
			if aerr != nil {
				return config{}, fmt.Errorf("-trusted-proxy: %q is not an IP address or CIDR prefix", p)
			}
			pfx = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		cfg.TrustedProxies = append(cfg.TrustedProxies, pfx.Masked())
	}
	if *slotsFlag != "" {
		groups, err := parseSlotGroups(*slotsFlag)
		if err != nil {
			return config{}, err
		}
		if cfg.Slots, err = expandSlots(groups); err != nil {
			return config{}, err
		}
	}
	if *opensAt != "" {
		t, err := time.Parse(time.RFC3339, *opensAt)
		if err != nil {
			return config{}, fmt.Errorf("-opens-at: %q is not an RFC 3339 instant", *opensAt)
		}
		if set["opens-in"] {
			return config{}, errors.New("-opens-at and -opens-in both say when booking opens: give one")
		}
		cfg.OpensAt = t
	}
	if *now != "" {
		t, err := time.Parse(time.RFC3339, *now)
		if err != nil {
			return config{}, fmt.Errorf("-now: %q is not an RFC 3339 instant such as 2021-07-19T19:55:00+09:00", *now)
		}
		cfg.StartAt = t
	}
	if cfg.CampaignFile != "" && (set["opens-in"] || set["open-for"] || set["opens-at"]) {
		return config{}, errors.New("-opens-in and -open-for shape the demo campaign (as -opens-at does); a -campaign file brings its own windows")
	}
	if cfg.CampaignFile == "" && set["prequeue"] {
		return config{}, errors.New("-prequeue applies to a -campaign file; the demo's waiting room opens at start, -opens-in before booking")
	}
	if err := cfg.validate(); err != nil {
		return config{}, err
	}
	return cfg, nil
}
