package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// serveInProcess runs `orgraph serve --addr 127.0.0.1:0 --data DIR ARGS…` in this process and returns its base
// URL and what it writes to standard error; it is stopped, gracefully, when the test ends.
func serveInProcess(t *testing.T, dir string, args ...string) (string, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	errs := &syncBuffer{}
	m := &Main{Stdout: io.Discard, Stderr: errs, ready: ready}
	go func() {
		done <- m.Run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0", "--data", dir}, args...))
	}()
	select {
	case base := <-ready:
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
		})
		return base, errs
	case err := <-done:
		cancel()
		t.Fatalf("serve returned before listening: %v\n%s", err, errs.String())
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("serve did not start listening:\n%s", errs.String())
	}
	return "", nil
}

// graphError decodes Graph's error body, failing the test when the body is not one.
func graphError(t *testing.T, body []byte) (code, message, requestID string) {
	t.Helper()
	var e struct {
		Error struct {
			Code, Message string
			InnerError    struct {
				RequestID string `json:"request-id"`
			}
		}
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" || e.Error.InnerError.RequestID == "" {
		t.Errorf("not Graph's error body: %s (%v)", body, err)
	}
	return e.Error.Code, e.Error.Message, e.Error.InnerError.RequestID
}

// send makes one request with a raw body and headers in pairs, and returns the answer.
func send(t *testing.T, method, rawURL, token string, body io.Reader, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, b
}

// TestLimits crosses each limit that protects the server and expects a clean answer, never a crash or a hang:
// body size (413), header size (431), the query limits ($top, $levels, $expand depth, $filter length: 400),
// the read, read-header and idle timeouts, the request deadline (503 with Retry-After) and the cap on
// requests in flight (429 with Graph's throttling body and Retry-After).
func TestLimits(t *testing.T) {
	dir := t.TempDir()
	base, _ := serveInProcess(t, dir, "--request-timeout", "2s", "--write-timeout", "5s", "--max-inflight", "2")
	token := strings.TrimSpace(runCLI(t, "token", "--data", dir))
	users := base + "/v1.0/users"
	// The network timeouts get a server of their own: short enough to cross in a test, they would cut off the
	// large bodies of the other cases on a slow machine.
	slowDir := t.TempDir()
	slowBase, _ := serveInProcess(t, slowDir, "--read-header-timeout", "300ms", "--read-timeout", "500ms", "--idle-timeout", "300ms")
	slowToken := strings.TrimSpace(runCLI(t, "token", "--data", slowDir))
	host := strings.TrimPrefix(slowBase, "http://")

	t.Run("body size", func(t *testing.T) {
		// Just over the cap, so that the client has sent nearly all of it when the server answers and closes.
		big := `{"displayName":"` + strings.Repeat("x", 4<<20+64<<10) + `"}`
		res, body := send(t, http.MethodPost, users, token, strings.NewReader(big), "Content-Type", "application/json")
		if code, _, _ := graphError(t, body); res.StatusCode != http.StatusRequestEntityTooLarge || code != "Request_BadRequest" {
			t.Errorf("a body over 4 MiB: %d %s", res.StatusCode, body)
		}
		// A small gzip body that inflates past the cap.
		var zb bytes.Buffer
		zw := gzip.NewWriter(&zb)
		zw.Write([]byte(`{"displayName":"`))
		zw.Write(bytes.Repeat([]byte("x"), 8<<20))
		zw.Write([]byte(`"}`))
		zw.Close()
		res, body = send(t, http.MethodPost, users, token, &zb, "Content-Type", "application/json", "Content-Encoding", "gzip")
		if res.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("gzip body of %d bytes inflating to 8 MiB: %d %s", zb.Len(), res.StatusCode, body)
		}
	})

	t.Run("header size", func(t *testing.T) {
		res, _ := send(t, http.MethodGet, users, token, nil, "X-Padding", strings.Repeat("p", 80<<10))
		if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("80 KiB header: %d, want 431", res.StatusCode)
		}
	})

	t.Run("query limits", func(t *testing.T) {
		me := users + "/" + newAPIClient(base, token).createUser(t, "limits")
		deep := "manager" + strings.Repeat("($expand=manager", 40) + strings.Repeat(")", 40)
		for q, want := range map[string]string{
			users + "?$top=1000":                     "Invalid page size",
			me + "?$expand=manager($levels=1001)":    "Invalid $levels",
			me + "?$expand=" + url.QueryEscape(deep): "nesting deeper than",
			users + "?$filter=" + url.QueryEscape("displayName eq '"+strings.Repeat("a", 4100)+"'"): "longer than 4096 bytes",
		} {
			res, body := send(t, http.MethodGet, q, token, nil, "ConsistencyLevel", "eventual")
			if code, msg, _ := graphError(t, body); res.StatusCode != http.StatusBadRequest || code != "Request_BadRequest" || !strings.Contains(msg, want) {
				t.Errorf("GET %.120s: %d %s; want 400 saying %q", q, res.StatusCode, body, want)
			}
		}
	})

	t.Run("slow headers", func(t *testing.T) {
		conn := dial(t, host)
		fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: %s\r\n", host) // never finished
		if err := waitClosed(conn, 3*time.Second); err != nil {
			t.Errorf("headers left unfinished past --read-header-timeout: %v", err)
		}
	})

	t.Run("slow body", func(t *testing.T) {
		conn := dial(t, host)
		fmt.Fprintf(conn, "POST /v1.0/users HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"displayName\":", host, slowToken)
		conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("a body left unfinished past --read-timeout: %v, want an answer", err)
		}
		body, _ := io.ReadAll(res.Body)
		if graphError(t, body); res.StatusCode != http.StatusRequestTimeout {
			t.Errorf("a body left unfinished past --read-timeout: %d %s, want 408", res.StatusCode, body)
		}
	})

	t.Run("idle connection", func(t *testing.T) {
		conn := dial(t, host)
		fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", host)
		r := bufio.NewReader(conn)
		res, err := http.ReadResponse(r, nil)
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("GET /healthz: %v %v", res, err)
		}
		io.Copy(io.Discard, res.Body)
		if err := waitClosed(conn, 3*time.Second); err != nil {
			t.Errorf("keep-alive connection idle past --idle-timeout: %v", err)
		}
	})

	t.Run("deadline and in-flight cap", func(t *testing.T) {
		// Another process's transaction holds the write lock, so writes wait on it.
		db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, dbFile)+"?_txlock=immediate")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		tx, err := db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()

		var wg sync.WaitGroup
		for i := range 2 {
			wg.Go(func() {
				start := time.Now()
				res, body := send(t, http.MethodPost, users, token, strings.NewReader(mustJSON(newUser(fmt.Sprintf("blocked%d", i)))), "Content-Type", "application/json")
				code, _, _ := graphError(t, body)
				if res.StatusCode != http.StatusServiceUnavailable || code != "timeout" || res.Header.Get("Retry-After") == "" {
					t.Errorf("a write outliving --request-timeout: %d %s (Retry-After %q), want 503 timeout", res.StatusCode, body, res.Header.Get("Retry-After"))
				}
				if d := time.Since(start); d > 4500*time.Millisecond {
					t.Errorf("answered after %s, want about --request-timeout", d)
				}
			})
		}
		// Once both writes wait for the lock (the in-flight gauge counts them and the scrape that reads it), a
		// third request to the Graph API is one too many.
		for start := time.Now(); ; time.Sleep(10 * time.Millisecond) {
			if _, m := send(t, http.MethodGet, base+"/metrics", "", nil); strings.Contains(string(m), "\norgraph_http_requests_in_flight 3\n") {
				break
			}
			if time.Since(start) > time.Second {
				t.Fatal("the two writes are not in flight after a second")
			}
		}
		res, body := send(t, http.MethodGet, users, token, nil)
		code, msg, _ := graphError(t, body)
		if res.StatusCode != http.StatusTooManyRequests || code != "TooManyRequests" || msg != "Please retry again later." || res.Header.Get("Retry-After") != "1" {
			t.Errorf("a third request with --max-inflight 2: %d %s (Retry-After %q), want 429", res.StatusCode, body, res.Header.Get("Retry-After"))
		}
		wg.Wait()
		tx.Rollback()
		if res, body := send(t, http.MethodGet, users, token, nil); res.StatusCode != http.StatusOK {
			t.Errorf("after the lock is released: %d %s", res.StatusCode, body)
		}
	})
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func dial(t *testing.T, host string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// waitClosed waits up to d for the server to close conn, reading and dropping whatever it sends first.
func waitClosed(conn net.Conn, d time.Duration) error {
	conn.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("still open after %s", d)
	}
	return nil
}

// TestServeFlags checks the flags that tune the limits: throttling on shows Graph's resource-unit header with
// the cost of each request, and values that make no sense are refused before anything starts.
func TestServeFlags(t *testing.T) {
	dir := t.TempDir()
	base, _ := serveInProcess(t, dir, "--throttle", "small")
	token := strings.TrimSpace(runCLI(t, "token", "--data", dir))
	for q, want := range map[string]string{"/v1.0/users": "2", "/v1.0/users?$select=id": "1", "/v1.0/groups": "1"} {
		if res, body := send(t, http.MethodGet, base+q, token, nil); res.StatusCode != http.StatusOK || res.Header.Get("x-ms-resource-unit") != want {
			t.Errorf("GET %s with --throttle small: %d, x-ms-resource-unit %q, want %s; %s", q, res.StatusCode, res.Header.Get("x-ms-resource-unit"), want, body)
		}
	}
	for _, args := range [][]string{
		{"--throttle", "huge"},
		{"--log-format", "xml"},
		{"--log-level", "loud"},
		{"--request-timeout", "3m"},
	} {
		var out syncBuffer
		err := (&Main{Stdout: &out, Stderr: &out}).Run(t.Context(), append([]string{"serve", "--data", t.TempDir(), "--addr", "127.0.0.1:0"}, args...))
		if err == nil || !strings.Contains(err.Error(), args[0]) {
			t.Errorf("serve %v: %v, want an error naming the flag", args, err)
		}
	}
}
