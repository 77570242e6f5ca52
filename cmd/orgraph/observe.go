package main

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/orgraph/orgraph/internal/graphapi"
)

// observer wraps the whole HTTP server: it counts and times every request for /metrics and writes one access
// log line for each. Graph API requests are labelled by their route template (graphapi.RequestInfo), other
// endpoints by the ServeMux pattern that served them, so the labels stay few whatever paths clients send.
type observer struct {
	log              *slog.Logger
	registry         *prometheus.Registry
	requests         *prometheus.CounterVec
	duration         *prometheus.HistogramVec
	inFlight         prometheus.Gauge
	throttled        *prometheus.CounterVec
	storeUnavailable prometheus.Counter
}

func newObserver(log *slog.Logger) *observer {
	o := &observer{
		log: log,
		// A registry of its own, not the global one, so that several servers in one process (tests) do not collide.
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orgraph_http_requests_total",
			Help: "HTTP requests answered, by route template, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "orgraph_http_request_duration_seconds",
			Help:    "Time from a request's arrival to the end of its answer, by route template and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route", "method"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "orgraph_http_requests_in_flight",
			Help: "HTTP requests being served.",
		}),
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orgraph_throttled_requests_total",
			Help: "Graph API requests answered 429, by the limit they met (in_flight, resource_units, app_tenant_writes, tenant_writes).",
		}, []string{"limit"}),
		storeUnavailable: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "orgraph_store_unavailable_total",
			Help: "Graph API requests answered 503 because the database could not be reached.",
		}),
	}
	o.registry.MustRegister(o.requests, o.duration, o.inFlight, o.throttled, o.storeUnavailable,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return o
}

// metrics serves the registry in Prometheus' text format.
func (o *observer) metrics() http.Handler {
	return promhttp.HandlerFor(o.registry, promhttp.HandlerOpts{})
}

// quiet are the routes probes and scrapers call every few seconds: logged at debug level only.
var quiet = map[string]bool{"GET /healthz": true, "GET /readyz": true, "GET /metrics": true}

func (o *observer) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		o.inFlight.Inc()
		defer o.inFlight.Dec()
		ctx, info := graphapi.WithRequestInfo(r.Context())
		r = r.WithContext(ctx)
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		d := time.Since(start)

		// ServeMux sets r.Pattern on the request it was given, which is r.
		route := info.Route
		if route == "" {
			route = r.Pattern
		}
		if route == "" {
			route = "unmatched"
		}
		method := methodLabel(r.Method)
		o.requests.WithLabelValues(route, method, strconv.Itoa(rec.status)).Inc()
		o.duration.WithLabelValues(route, method).Observe(d.Seconds())
		if info.Throttled != "" {
			o.throttled.WithLabelValues(info.Throttled).Inc()
		}
		if info.StoreUnavailable {
			o.storeUnavailable.Inc()
		}
		level := slog.LevelInfo
		if quiet[route] {
			level = slog.LevelDebug
		}
		attrs := []slog.Attr{
			slog.String("method", r.Method),
			slog.String("route", route),
			slog.Int("status", rec.status),
			slog.Float64("duration_ms", float64(d.Microseconds())/1000),
			slog.Int64("bytes", rec.bytes),
		}
		if info.RequestID != "" {
			attrs = append(attrs, slog.String("request-id", info.RequestID))
		}
		if info.Error != "" {
			attrs = append(attrs, slog.String("code", info.Error))
		}
		o.log.LogAttrs(r.Context(), level, "request", attrs...)
	})
}

// methodLabel keeps the method label to the methods HTTP defines.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}

// recorder remembers the status and size of an answer.
type recorder struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
}

func (r *recorder) WriteHeader(status int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = status, true
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wroteHeader = true
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection's writer (deadlines, flushing).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// withDeadline gives every request's context a deadline, so that work that outlasts it (a write waiting for
// a database lock, say) is abandoned and answered 503 with Retry-After before the server's write timeout
// would cut the connection without an answer. 0: no deadline.
func withDeadline(next http.Handler, d time.Duration) http.Handler {
	if d <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}
