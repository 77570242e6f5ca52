package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Client sends requests to one server.
type Client struct {
	HTTP *http.Client
	// Base is the service root relative paths are joined to, e.g. http://127.0.0.1:8080/v1.0.
	Base string
	// Token is sent as a bearer token when not empty.
	Token string
}

// NewHTTPClient returns an HTTP/1.1 client that keeps a connection open per concurrent worker, without
// compression: what a load generator on loopback needs, and nothing a proxy setting could reroute.
func NewHTTPClient(concurrency int) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        0,
			MaxIdleConnsPerHost: concurrency + 8,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
		Timeout: time.Minute,
	}
}

// Options shape one load run.
type Options struct {
	// Concurrency is the number of workers, each with one request in flight at a time [64].
	Concurrency int
	// Duration is how long requests are measured [10s].
	Duration time.Duration
	// Warmup runs the workload before measuring starts, to fill caches and open connections [none].
	Warmup time.Duration
	// Seed seeds the workers' random choices.
	Seed uint64
}

// Op is one iteration of a workload: one request or several, sent through the worker.
type Op func(w *Worker)

// Result is what a run measured.
type Result struct {
	Requests int
	// Errors counts requests that failed in transport or got a status other than 2xx.
	Errors int
	// Elapsed runs from the start of measuring to the end of the last request measured.
	Elapsed  time.Duration
	RPS      float64
	P50, P99 time.Duration
	// FirstError describes one failed request (status and the start of the body), for diagnosis.
	FirstError string
}

// Worker is one of the concurrent clients of a run. Its methods record every request they send.
type Worker struct {
	// ID numbers the workers of a run from 0, so that a workload can give each its own share of objects.
	ID int
	// Concurrency is the number of workers in the run.
	Concurrency int
	Rand        *rand.Rand

	c       *Client
	ctx     context.Context
	run     *run
	lat     []time.Duration
	errs    int
	lastEnd time.Time
}

// run is what the workers of one run share.
type run struct {
	measureFrom time.Time
	firstErr    atomic.Pointer[string]
}

// Header is one extra request header.
type Header struct{ Name, Value string }

// Get sends a GET and returns its status (0 for a transport error), discarding the body.
func (w *Worker) Get(path string, hdr ...Header) int {
	status, _ := w.send(http.MethodGet, path, nil, false, hdr)
	return status
}

// Send sends a request with a JSON body (nil: none) and returns its status, discarding the response body.
func (w *Worker) Send(method, path string, body []byte, hdr ...Header) int {
	status, _ := w.send(method, path, body, false, hdr)
	return status
}

// Fetch sends a GET and returns its status and body.
func (w *Worker) Fetch(path string, hdr ...Header) (int, []byte) {
	return w.send(http.MethodGet, path, nil, true, hdr)
}

// URL resolves a path against the service root; absolute URLs (an @odata.nextLink) are kept.
func (c *Client) URL(path string) string {
	if strings.HasPrefix(path, "http://") || strings.HasPrefix(path, "https://") {
		return path
	}
	return c.Base + path
}

// NewRequest builds a request with the client's token.
func (c *Client) NewRequest(ctx context.Context, method, path string, body []byte, hdr ...Header) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.URL(path), rd)
	if err != nil {
		return nil, err
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, h := range hdr {
		req.Header.Set(h.Name, h.Value)
	}
	return req, nil
}

func (w *Worker) send(method, path string, body []byte, keep bool, hdr []Header) (int, []byte) {
	start := time.Now()
	status, data, errText := 0, []byte(nil), ""
	req, err := w.c.NewRequest(w.ctx, method, path, body, hdr...)
	if err == nil {
		var resp *http.Response
		resp, err = w.c.HTTP.Do(req)
		if err == nil {
			status = resp.StatusCode
			ok := status >= 200 && status < 300
			switch {
			case keep || !ok:
				data, err = io.ReadAll(resp.Body)
			default:
				_, err = io.Copy(io.Discard, resp.Body)
			}
			resp.Body.Close()
			if err != nil {
				status = 0
			} else if !ok {
				errText = fmt.Sprintf("%s %s: %d %s", method, path, status, snippet(data))
			}
		}
	}
	if err != nil {
		if w.ctx.Err() != nil {
			return 0, nil // the run was cancelled: not the server's failure
		}
		errText = fmt.Sprintf("%s %s: %v", method, path, err)
	}
	end := time.Now()
	if !start.Before(w.run.measureFrom) {
		w.lat = append(w.lat, end.Sub(start))
		w.lastEnd = end
		if errText != "" {
			w.errs++
		}
	}
	if errText != "" {
		w.run.firstErr.CompareAndSwap(nil, &errText)
	}
	return status, data
}

func snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// Run drives c with op from o.Concurrency workers for o.Warmup, then for o.Duration while measuring: each
// worker runs op again as soon as it returns, over keep-alive connections. Workers stop starting ops when the
// duration is over or ctx is done; the ops under way are finished and measured.
func Run(ctx context.Context, c *Client, o Options, op Op) Result {
	if o.Concurrency <= 0 {
		o.Concurrency = 64
	}
	if o.Duration <= 0 {
		o.Duration = 10 * time.Second
	}
	start := time.Now()
	rn := &run{measureFrom: start.Add(o.Warmup)}
	end := rn.measureFrom.Add(o.Duration)
	workers := make([]*Worker, o.Concurrency)
	var wg sync.WaitGroup
	for i := range workers {
		w := &Worker{ID: i, Concurrency: o.Concurrency, Rand: rand.New(rand.NewPCG(o.Seed, uint64(i))), c: c, ctx: ctx, run: rn}
		workers[i] = w
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(end) {
				op(w)
			}
		})
	}
	wg.Wait()
	var (
		res  Result
		all  []time.Duration
		last time.Time
	)
	for _, w := range workers {
		all = append(all, w.lat...)
		res.Errors += w.errs
		if w.lastEnd.After(last) {
			last = w.lastEnd
		}
	}
	res.Requests = len(all)
	if res.Requests > 0 {
		res.Elapsed = last.Sub(rn.measureFrom)
		res.RPS = float64(res.Requests) / res.Elapsed.Seconds()
		slices.Sort(all)
		res.P50 = percentile(all, 0.50)
		res.P99 = percentile(all, 0.99)
	}
	if e := rn.firstErr.Load(); e != nil {
		res.FirstError = *e
	}
	return res
}

// percentile returns the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	k := int(float64(len(sorted))*p+0.999999) - 1
	return sorted[min(max(k, 0), len(sorted)-1)]
}
