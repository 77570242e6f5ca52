package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer the server goroutine can write while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// server is `orgraph serve` running in-process.
type server struct {
	base   string
	cancel context.CancelFunc
	done   chan error
	out    *syncBuffer
	errs   *syncBuffer
}

// startServe runs `orgraph serve --addr 127.0.0.1:0 --data dir --demo` and waits until it listens.
func startServe(t *testing.T, dir string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	s := &server{cancel: cancel, done: make(chan error, 1), out: &syncBuffer{}, errs: &syncBuffer{}}
	m := &Main{Stdout: s.out, Stderr: s.errs, ready: ready}
	go func() { s.done <- m.Run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data", dir, "--demo"}) }()
	select {
	case s.base = <-ready:
	case err := <-s.done:
		cancel()
		t.Fatalf("serve returned before listening: %v\nstderr: %s", err, s.errs.String())
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatalf("serve did not get ready; stderr: %s", s.errs.String())
	}
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop cancels the context and expects a graceful shutdown: Run returns nil.
func (s *server) stop(t *testing.T) {
	t.Helper()
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("serve after cancel returned %v, want nil (graceful shutdown)", err)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("serve did not return after its context was cancelled")
	}
}

// runCLI runs one orgraph command to completion and returns its standard output.
func runCLI(t *testing.T, args ...string) string {
	t.Helper()
	var out, errs syncBuffer
	if err := (&Main{Stdout: &out, Stderr: &errs}).Run(context.Background(), args); err != nil {
		t.Fatalf("orgraph %s: %v\nstderr: %s", strings.Join(args, " "), err, errs.String())
	}
	return out.String()
}

// getJSON sends a GET with the token and optional header pairs and decodes the JSON object answered.
func getJSON(t *testing.T, rawURL, token string, header ...string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", rawURL, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("GET %s: %d, not JSON: %s", rawURL, res.StatusCode, b)
	}
	return res.StatusCode, m
}

// mustGet is getJSON that fails the test unless the status is 200.
func mustGet(t *testing.T, rawURL, token string, header ...string) map[string]any {
	t.Helper()
	status, m := getJSON(t, rawURL, token, header...)
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %v", rawURL, status, m)
	}
	return m
}

// all pages through a collection, following each @odata.nextLink.
func all(t *testing.T, rawURL, token string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for pages := 0; rawURL != ""; pages++ {
		if pages > 100 {
			t.Fatalf("more than 100 pages")
		}
		page := mustGet(t, rawURL, token)
		vals, _ := page["value"].([]any)
		for _, v := range vals {
			out = append(out, v.(map[string]any))
		}
		rawURL, _ = page["@odata.nextLink"].(string)
	}
	return out
}

// TestServeDemoAndToken drives the command line as a user would: serve the demo, mint tokens with
// `orgraph token` against the same data folder while the server runs, call the Graph API with them, then stop.
func TestServeDemoAndToken(t *testing.T) {
	dir := t.TempDir()
	s := startServe(t, dir)
	if !strings.HasPrefix(s.base, "http://127.0.0.1:") {
		t.Fatalf("base URL %q", s.base)
	}
	if !strings.Contains(s.out.String(), s.base+"/v1.0") {
		t.Errorf("the banner does not name %s/v1.0: %q", s.base, s.out.String())
	}
	api := s.base + "/v1.0"

	tok := strings.TrimSpace(runCLI(t, "token", "--data", dir))
	if strings.Count(tok, ".") != 2 {
		t.Fatalf("token %q is not a JWT", tok)
	}

	// At least 60 users, paged.
	users := all(t, api+"/users?$top=25&$select=id,displayName,userType,userPrincipalName", tok)
	if len(users) < 60 {
		t.Errorf("the demo has %d users, want at least 60", len(users))
	}
	seen := map[string]bool{}
	for _, u := range users {
		id := u["id"].(string)
		if seen[id] {
			t.Errorf("user %s listed twice while paging", id)
		}
		seen[id] = true
	}

	// At least six levels of management: the deepest user's chain, walked with $levels=max.
	deepest, depth, deepestUPN := "", 0, ""
	for _, u := range users {
		id := u["id"].(string)
		m := mustGet(t, api+"/users/"+id+"?$expand=manager($levels=max;$select=id)&$select=id", tok, "ConsistencyLevel", "eventual")
		d := 0
		for cur, _ := m["manager"].(map[string]any); cur != nil; cur, _ = cur["manager"].(map[string]any) {
			d++
			if d > 1000 {
				t.Fatalf("chain of %s does not end", id)
			}
		}
		if d > depth {
			deepest, depth, deepestUPN = id, d, u["userPrincipalName"].(string)
		}
	}
	if depth < 6 {
		t.Errorf("deepest management chain has %d managers above %s, want at least 6", depth, deepest)
	}

	// Two org contacts who manage people.
	contacts := all(t, api+"/contacts", tok)
	managing := 0
	for _, c := range contacts {
		reports := mustGet(t, api+"/contacts/"+c["id"].(string)+"/directReports", tok)
		if vals, _ := reports["value"].([]any); len(vals) > 0 {
			managing++
		}
	}
	if managing < 2 {
		t.Errorf("%d org contacts manage people, want 2", managing)
	}

	// Three guests, with sponsors of both kinds.
	guests, kinds := 0, map[string]bool{}
	for _, u := range users {
		if u["userType"] != "Guest" {
			continue
		}
		guests++
		sp := mustGet(t, api+"/users/"+u["id"].(string)+"/sponsors", tok)
		vals, _ := sp["value"].([]any)
		if len(vals) == 0 {
			t.Errorf("guest %v has no sponsors", u["displayName"])
		}
		for _, v := range vals {
			kinds[v.(map[string]any)["@odata.type"].(string)] = true
		}
	}
	if guests != 3 {
		t.Errorf("%d guests, want 3", guests)
	}
	if !kinds["#microsoft.graph.user"] || !kinds["#microsoft.graph.group"] {
		t.Errorf("guests' sponsors are of kinds %v, want users and groups", kinds)
	}

	// A delegated token for the deepest user works on /me/manager.
	dtok := strings.TrimSpace(runCLI(t, "token", "--data", dir, "--user", deepestUPN, "--scopes", "User.Read.All"))
	me := mustGet(t, api+"/me", dtok)
	if me["id"] != deepest {
		t.Errorf("/me with the delegated token is %v, want %s", me["id"], deepest)
	}
	mgr := mustGet(t, api+"/me/manager", dtok)
	if id, _ := mgr["id"].(string); id == "" || mgr["@odata.type"] != "#microsoft.graph.user" {
		t.Errorf("/me/manager: %v", mgr)
	}
	// The UPN also works URL-escaped, as the SDK sends it.
	mustGet(t, api+"/users/"+url.PathEscape(deepestUPN)+"/manager", dtok)

	// A token minted with read-only roles cannot write.
	ro := strings.TrimSpace(runCLI(t, "token", "--data", dir, "--roles", "User.Read.All"))
	req, _ := http.NewRequest(http.MethodDelete, api+"/users/"+deepest, nil)
	req.Header.Set("Authorization", "Bearer "+ro)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("DELETE with User.Read.All: %d, want 403", res.StatusCode)
	}

	// Cancelling the context shuts the server down gracefully: Run returns nil and the port closes.
	s.stop(t)
	if _, err := http.Get(s.base + "/healthz"); err == nil {
		t.Errorf("the server still answers after shutdown")
	}

	// Serving again with --demo leaves the populated tenant alone; old tokens still work (same key).
	s2 := startServe(t, dir)
	again := all(t, s2.base+"/v1.0/users?$top=999&$select=id", tok)
	if len(again) != len(users) {
		t.Errorf("after a restart with --demo: %d users, want %d", len(again), len(users))
	}
}

// TestCLIErrors: bad usage is reported, not served.
func TestCLIErrors(t *testing.T) {
	dir := t.TempDir()
	var out, errs syncBuffer
	m := &Main{Stdout: &out, Stderr: &errs}
	if err := m.Run(context.Background(), nil); err == nil {
		t.Errorf("no command: no error")
	}
	if err := m.Run(context.Background(), []string{"frobnicate"}); err == nil {
		t.Errorf("unknown command: no error")
	}
	if err := m.Run(context.Background(), []string{"token", "--data", dir, "--user", "nobody@contoso.onmicrosoft.com"}); err == nil {
		t.Errorf("token for an unknown user: no error")
	}
	if err := m.Run(context.Background(), []string{"token", "--data", dir, "--scopes", "User.Read"}); err == nil {
		t.Errorf("--scopes without --user: no error")
	}
	err := m.Run(context.Background(), []string{"serve", "--addr", "256.0.0.1:1", "--data", dir})
	if err == nil || errors.Is(err, context.Canceled) {
		t.Errorf("serve on an impossible address: %v", err)
	}
}
