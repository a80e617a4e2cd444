package main

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatehouse-go/gatehouse/admission"
	"github.com/gatehouse-go/gatehouse/slots"
	"github.com/gatehouse-go/gatehouse/window"
)

// metrics is the server's Prometheus registry, fed by the libraries'
// observer hooks (window.GateOptions.Observer, admission.Options.Observer,
// slots.ServiceOptions.Observer) and by the HTTP layer. Each server has
// its own registry (tests build several in one process).
type metrics struct {
	reg *prometheus.Registry
	// pace, when set, hears every hold and confirm (the pacer's input).
	pace func(slots.Event)

	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	limited  prometheus.Counter

	gate        *prometheus.CounterVec
	roomOps     *prometheus.CounterVec
	roomLatency *prometheus.HistogramVec
	roomWait    prometheus.Histogram
	etaSamples  *prometheus.CounterVec
	slotOps     *prometheus.CounterVec
	slotLatency *prometheus.HistogramVec
}

var latencyBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "reservation_http_requests_total",
		Help: "Requests that reached a route's handler, by route pattern and status code.",
	}, []string{"route", "code"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "reservation_http_request_duration_seconds",
		Help:    "Time spent in a route's handler, by route pattern.",
		Buckets: latencyBuckets,
	}, []string{"route"})
	m.limited = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "reservation_client_limited_total",
		Help: "Sign-ins and joins refused by the per-client rate limit.",
	})
	m.gate = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_gate_decisions_total",
		Help: "The gate's decisions, by phase and outcome (allowed, operator, or the refusal's status).",
	}, []string{"phase", "outcome"})
	m.roomOps = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_room_operations_total",
		Help: "Waiting room operations, by operation and result (ok or unavailable/error).",
	}, []string{"op", "result"})
	m.roomLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "gatehouse_room_store_seconds",
		Help:    "Time the waiting room spent in its store, by operation.",
		Buckets: latencyBuckets,
	}, []string{"op"})
	m.roomWait = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "gatehouse_room_wait_seconds",
		Help:    "Time from joining to admission, of people who claimed their place.",
		Buckets: prometheus.ExponentialBuckets(1, 2, 14),
	})
	m.etaSamples = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_room_eta_samples_total",
		Help: "Claims by people shown a known ETA at join, by whether the actual wait fell inside it.",
	}, []string{"inside"})
	m.slotOps = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_slots_operations_total",
		Help: "Slot service calls, by operation and outcome (ok, full, already_booked, closed, unavailable, ...).",
	}, []string{"op", "outcome"})
	m.slotLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "gatehouse_slots_call_seconds",
		Help:    "Slot service call latency, by operation.",
		Buckets: latencyBuckets,
	}, []string{"op"})
	m.reg.MustRegister(m.requests, m.latency, m.limited, m.gate, m.roomOps, m.roomLatency, m.roomWait,
		m.etaSamples, m.slotOps, m.slotLatency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) observeRequest(pattern string, status int, d time.Duration) {
	m.requests.WithLabelValues(pattern, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(pattern).Observe(d.Seconds())
}

func (m *metrics) observeGate(d window.Event) {
	outcome := "allowed"
	switch {
	case d.Operator:
		outcome = "operator"
	case !d.Allowed:
		outcome = strconv.Itoa(d.Status)
	}
	m.gate.WithLabelValues(d.Phase.String(), outcome).Inc()
}

func (m *metrics) observeRoom(e admission.Event) {
	result := "ok"
	if e.Err != nil {
		result = "error"
		if errors.Is(e.Err, admission.ErrUnavailable) {
			result = "unavailable"
		}
	}
	m.roomOps.WithLabelValues(string(e.Op), result).Inc()
	m.roomLatency.WithLabelValues(string(e.Op)).Observe(e.Duration.Seconds())
	if e.Claimed {
		m.roomWait.Observe(e.Wait.Seconds())
		if e.JoinETA.Known {
			m.etaSamples.WithLabelValues(strconv.FormatBool(e.JoinETA.Contains(e.Wait))).Inc()
		}
	}
}

func (m *metrics) observeSlots(e slots.Event) {
	m.slotOps.WithLabelValues(string(e.Op), e.Outcome).Inc()
	m.slotLatency.WithLabelValues(string(e.Op)).Observe(e.Duration.Seconds())
	if m.pace != nil && (e.Op == slots.OpHold || e.Op == slots.OpConfirm) {
		m.pace(e)
	}
}

// figuresCollector reports the current waiting room's and the slots'
// figures at each scrape, read from the stores then.
type figuresCollector struct {
	s *server

	waiting, active, joined, admitted, drain, maint *prometheus.Desc
	capacity, booked, held                          *prometheus.Desc
}

func newFiguresCollector(s *server) *figuresCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &figuresCollector{
		s:        s,
		waiting:  d("gatehouse_room_waiting", "People waiting in the current opening's room (queue length).", "room"),
		active:   d("gatehouse_room_active", "People admitted and not yet done or expired.", "room"),
		joined:   d("gatehouse_room_joined", "People who joined the current opening's room.", "room"),
		admitted: d("gatehouse_room_admitted", "Admissions so far in the current opening's room.", "room"),
		drain:    d("gatehouse_room_admitted_per_minute", "Measured admission rate (0 until measured).", "room"),
		maint:    d("gatehouse_maintenance", "1 while maintenance is on or the switch cannot be read."),
		capacity: d("gatehouse_slot_capacity", "Capacity of each slot.", "slot"),
		booked:   d("gatehouse_slot_booked", "Confirmed bookings per slot.", "slot"),
		held:     d("gatehouse_slot_held", "Live holds per slot.", "slot"),
	}
}

func (c *figuresCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.waiting, c.active, c.joined, c.admitted, c.drain, c.maint, c.capacity, c.booked, c.held} {
		ch <- d
	}
}

func (c *figuresCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	g := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	on, _ := c.s.maintenanceOn(ctx)
	g(c.maint, map[bool]float64{false: 0, true: 1}[on])
	for _, p := range c.s.parts {
		if i := c.s.openingAt(c.s.clk.Now()); i >= 0 {
			room := p.rooms[i]
			if st, err := room.Stats(ctx); err == nil {
				g(c.waiting, float64(st.Waiting()), room.Name())
				g(c.active, float64(st.Active), room.Name())
				g(c.joined, float64(st.Joined), room.Name())
				g(c.admitted, float64(st.Admitted), room.Name())
				g(c.drain, st.Drain.PerMinute(), room.Name())
			}
		}
		if av, err := c.s.availability(ctx, c.s.ui.Lang(nil), p); err == nil {
			for _, a := range av {
				g(c.capacity, float64(a.Capacity), a.ID)
				g(c.booked, float64(a.Booked), a.ID)
				g(c.held, float64(a.Held), a.ID)
			}
		}
	}
}

func (s *server) metricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})
}
