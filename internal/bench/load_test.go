package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	var served, unauthorised atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		if r.Header.Get("Authorization") != "Bearer secret" || r.Header.Get("ConsistencyLevel") != "eventual" {
			unauthorised.Add(1)
		}
		if r.URL.Path == "/v1.0/fail" {
			http.Error(w, "no luck", http.StatusServiceUnavailable)
			return
		}
		time.Sleep(time.Millisecond)
		w.Write([]byte(`{"id":"x"}`))
	}))
	defer srv.Close()
	c := &Client{HTTP: NewHTTPClient(4), Base: srv.URL + "/v1.0", Token: "secret"}
	n := 0
	res := Run(context.Background(), c, Options{Concurrency: 4, Duration: 300 * time.Millisecond, Warmup: 100 * time.Millisecond}, func(w *Worker) {
		if w.Concurrency != 4 || w.ID < 0 || w.ID > 3 {
			t.Errorf("worker %d of %d", w.ID, w.Concurrency)
		}
		path := "/ok"
		if w.ID == 0 {
			if n++; n%10 == 0 {
				path = "/fail"
			}
		}
		w.Get(path, eventual)
	})
	switch {
	case res.Requests < 100:
		t.Errorf("only %d requests", res.Requests)
	case int64(res.Requests) >= served.Load():
		t.Errorf("%d requests measured of %d served: the warmup was measured", res.Requests, served.Load())
	case res.Errors == 0 || res.Errors > res.Requests/10:
		t.Errorf("%d errors of %d requests", res.Errors, res.Requests)
	case !strings.Contains(res.FirstError, "GET /fail: 503 no luck"):
		t.Errorf("first error %q", res.FirstError)
	case res.P50 < time.Millisecond || res.P50 > res.P99:
		t.Errorf("p50 %v, p99 %v", res.P50, res.P99)
	case res.Elapsed < 300*time.Millisecond || res.Elapsed > 2*time.Second:
		t.Errorf("elapsed %v", res.Elapsed)
	case res.RPS <= 0 || res.RPS > float64(res.Requests)/0.3:
		t.Errorf("%.0f req/s for %d requests in %v", res.RPS, res.Requests, res.Elapsed)
	}
	if unauthorised.Load() > 0 {
		t.Errorf("%d requests without the token or header", unauthorised.Load())
	}
}

func TestRunTransportErrors(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close()
	c := &Client{HTTP: NewHTTPClient(2), Base: base}
	res := Run(context.Background(), c, Options{Concurrency: 2, Duration: 50 * time.Millisecond}, func(w *Worker) { w.Get("/x") })
	if res.Requests == 0 || res.Errors != res.Requests || !strings.Contains(res.FirstError, "GET /x") {
		t.Errorf("%d requests, %d errors, %q", res.Requests, res.Errors, res.FirstError)
	}
}

func TestRunCancel(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	Run(ctx, &Client{HTTP: NewHTTPClient(2), Base: srv.URL}, Options{Concurrency: 2, Duration: time.Hour}, func(w *Worker) { w.Get("/") })
	if time.Since(start) > 5*time.Second {
		t.Error("Run ignored the cancelled context")
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 200; i++ {
		d = append(d, time.Duration(i))
	}
	if p := percentile(d, 0.5); p != 100 {
		t.Errorf("p50 = %d", p)
	}
	if p := percentile(d, 0.99); p != 198 {
		t.Errorf("p99 = %d", p)
	}
	if p := percentile(d[:1], 0.99); p != 1 {
		t.Errorf("p99 of one = %d", p)
	}
}

func TestReport(t *testing.T) {
	r := &Report{Users: 100, BaselineRPS: 2000}
	row := r.Row("get_user", Result{RPS: 1000, P50: 1500 * time.Microsecond, P99: 4 * time.Millisecond, Errors: 2})
	if row.Ratio != 0.5 || row.P50ms != 1.5 || row.P99ms != 4 || row.Errors != 2 {
		t.Errorf("row %+v", row)
	}
	r.Scenarios = append(r.Scenarios, row)
	var b strings.Builder
	r.WriteJSON(&b)
	want := `{"users":100,"import_seconds":0,"db_bytes":0,"server_rss_bytes":0,"baseline_rps":2000,"scenarios":[{"name":"get_user","rps":1000,"p50_ms":1.5,"p99_ms":4,"errors":2,"ratio":0.5}]}` + "\n"
	if b.String() != want {
		t.Errorf("JSON\n%s want\n%s", b.String(), want)
	}
	b.Reset()
	r.WriteTable(&b)
	if !strings.Contains(b.String(), "get_user") || !strings.Contains(b.String(), "1,000") {
		t.Errorf("table:\n%s", b.String())
	}
}
