package main

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestMetricsAndAccessLog checks /metrics and the JSON access log: requests are counted and timed by route
// template (never by raw path, whose ids would make a series per object), 404s and 401s included; the log
// line of a failed request carries the request-id of its error body.
func TestMetricsAndAccessLog(t *testing.T) {
	dir := t.TempDir()
	base, logs := serveInProcess(t, dir, "--log-format", "json")
	token := strings.TrimSpace(runCLI(t, "token", "--data", dir))
	id := newAPIClient(base, token).createUser(t, "observed")

	if res, body := send(t, http.MethodGet, base+"/v1.0/users/"+id, token, nil); res.StatusCode != http.StatusOK {
		t.Fatalf("GET user: %d %s", res.StatusCode, body)
	}
	res, body := send(t, http.MethodGet, base+"/v1.0/users/00000000-0000-0000-0000-000000000000/manager", token, nil)
	_, _, notFoundID := graphError(t, body)
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("GET manager of nobody: %d %s", res.StatusCode, body)
	}
	if res, _ := send(t, http.MethodGet, base+"/beta/me/manager", "", nil); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET /me/manager without a token: %d", res.StatusCode)
	}

	res, body = send(t, http.MethodGet, base+"/metrics", "", nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", res.StatusCode, body)
	}
	metrics := string(body)
	for _, want := range []string{
		`orgraph_http_requests_total{method="POST",route="/v1.0/users",status="201"} 1`,
		`orgraph_http_requests_total{method="GET",route="/v1.0/users/{id}",status="200"} 1`,
		`orgraph_http_requests_total{method="GET",route="/v1.0/users/{id}/manager",status="404"} 1`,
		`orgraph_http_requests_total{method="GET",route="/beta/me/manager",status="401"} 1`,
		`orgraph_http_request_duration_seconds_count{method="GET",route="/v1.0/users/{id}"} 1`,
		`orgraph_store_unavailable_total 0`,
		`orgraph_http_requests_in_flight 1`,
		`go_goroutines `,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(metrics, id) || regexp.MustCompile(`route="[^"]*[0-9a-f]{8}-`).MatchString(metrics) {
		t.Errorf("/metrics has an object id in a label")
	}

	// One JSON line per request; the 404's carries the request-id of its body.
	var found bool
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %s", line)
		}
		if rec["msg"] == "request" && rec["request-id"] == notFoundID {
			found = true
			if rec["method"] != "GET" || rec["route"] != "/v1.0/users/{id}/manager" || rec["status"] != float64(404) || rec["duration_ms"] == nil || rec["code"] != "Request_ResourceNotFound" {
				t.Errorf("access log line of the 404: %s", line)
			}
		}
	}
	if !found {
		t.Errorf("no access log line with request-id %s:\n%s", notFoundID, logs.String())
	}
}
