package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The process tests run the orgraph binary as an operator would, kill it and restart it. It is built once,
// the first time a test asks for it, and without -race: the race detector would slow the server down, and
// what runs in production is the plain build.
var built struct {
	once sync.Once
	dir  string // made by TestMain and removed after the tests
	path string
	err  error
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "orgraph-test-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	built.dir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// orgraphBinary returns the path of the orgraph binary, building it on first use.
func orgraphBinary(t testing.TB) string {
	t.Helper()
	built.once.Do(func() {
		built.path = filepath.Join(built.dir, "orgraph")
		if out, err := exec.Command("go", "build", "-o", built.path, ".").CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

// runOrgraph runs one orgraph command as a process and returns its standard output and error and its exit code.
func runOrgraph(t testing.TB, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errs bytes.Buffer
	cmd := exec.Command(orgraphBinary(t), args...)
	cmd.Stdout, cmd.Stderr = &out, &errs
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("orgraph %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errs.String(), code
}

// mustRun runs an orgraph command that must succeed and returns its standard output.
func mustRun(t testing.TB, args ...string) string {
	t.Helper()
	out, errs, code := runOrgraph(t, args...)
	if code != 0 {
		t.Fatalf("orgraph %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// serverProcess is one `orgraph serve` process.
type serverProcess struct {
	cmd     *exec.Cmd
	base    string
	logs    *syncBuffer
	exited  chan struct{}
	waitErr error // set before exited is closed
}

// startServer starts `orgraph serve --addr 127.0.0.1:0 ARGS…` and waits until it listens. A server the test
// leaves running is killed when the test ends; the end of its log is shown if the test failed.
func startServer(t *testing.T, args ...string) *serverProcess {
	t.Helper()
	cmd := exec.Command(orgraphBinary(t), append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	p := &serverProcess{cmd: cmd, logs: &syncBuffer{}, exited: make(chan struct{})}
	w := &readyWatcher{found: make(chan string, 1)}
	cmd.Stdout, cmd.Stderr = w, p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			log := p.logs.String()
			t.Logf("end of the log of the server at %s:\n%s", p.base, log[max(0, len(log)-3000):])
		}
	})
	select {
	case p.base = <-w.found:
		return p
	case <-p.exited:
		t.Fatalf("orgraph serve exited before listening: %v\n%s", p.waitErr, p.logs.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("orgraph serve did not start listening:\n%s", p.logs.String())
	}
	return nil
}

// kill ends the server with SIGKILL, as a crash or a power cut would, and waits until it is gone.
func (p *serverProcess) kill() {
	select {
	case <-p.exited:
	default:
		p.cmd.Process.Kill()
		<-p.exited
	}
}

// terminate sends SIGTERM and returns the exit error (nil for exit status 0) once the process is gone.
func (p *serverProcess) terminate(timeout time.Duration) error {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-p.exited:
		return p.waitErr
	case <-time.After(timeout):
		p.kill()
		return fmt.Errorf("still running %s after SIGTERM", timeout)
	}
}

// readyWatcher is the server's standard output: it reports the base URL once serve prints it.
type readyWatcher struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	found chan string
	done  bool
}

func (w *readyWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if m := servingAt.FindSubmatch(w.buf.Bytes()); m != nil && !w.done {
		w.done = true
		w.found <- string(m[1])
	}
	return len(p), nil
}

// apiClient calls the Graph API of a server process with one token. It reports transport errors instead of
// failing the test: the process tests kill servers under their clients' feet on purpose.
type apiClient struct {
	base, token string
	http        *http.Client
}

func newAPIClient(base, token string) *apiClient {
	return &apiClient{base: base, token: token, http: &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: 64},
		Timeout:   30 * time.Second,
	}}
}

// call sends a request with a JSON body (when body is not nil) and returns the status and the answer.
func (c *apiClient) call(ctx context.Context, method, path string, body any) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("ConsistencyLevel", "eventual")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, b, nil
}

// newUser is the body of POST /users for a user named name.
func newUser(name string) map[string]any {
	return map[string]any{
		"accountEnabled":    true,
		"displayName":       name,
		"mailNickname":      name,
		"userPrincipalName": name + "@example.com",
		"passwordProfile":   map[string]any{"password": "Secret-123"},
	}
}

// createUser creates a user and returns its id; it fails the test unless the answer is 201.
func (c *apiClient) createUser(t testing.TB, name string) string {
	t.Helper()
	status, body, err := c.call(t.Context(), http.MethodPost, "/v1.0/users", newUser(name))
	var u struct{ ID string }
	if err != nil || status != http.StatusCreated || json.Unmarshal(body, &u) != nil || u.ID == "" {
		t.Fatalf("create user %s: %d %s %v", name, status, body, err)
	}
	return u.ID
}

// refBody is a $ref body naming a user.
func refBody(id string) map[string]string {
	return map[string]string{"@odata.id": "https://graph.microsoft.com/v1.0/users/" + id}
}

// exported is a tenant as `orgraph export` writes it.
type exported struct {
	raw      []byte
	objects  map[string]exportedObject
	byUPN    map[string]string // userPrincipalName → id
	sponsors map[string]map[string]bool
}

type exportedObject struct {
	Kind    string
	ID      string
	Props   map[string]any
	Manager string
}

// exportTenant runs `orgraph export` with the storage flags and reads the default tenant back.
func exportTenant(t testing.TB, storage ...string) *exported {
	t.Helper()
	out := mustRun(t, append([]string{"export"}, storage...)...)
	e := &exported{raw: []byte(out), objects: map[string]exportedObject{}, byUPN: map[string]string{}, sponsors: map[string]map[string]bool{}}
	for i, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		var rec struct {
			exportedObject
			User, Sponsor string
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("export line %d: %v: %s", i+2, err, line)
		}
		if rec.Kind == "sponsor" {
			if e.sponsors[rec.User] == nil {
				e.sponsors[rec.User] = map[string]bool{}
			}
			e.sponsors[rec.User][rec.Sponsor] = true
			continue
		}
		e.objects[rec.ID] = rec.exportedObject
		if upn, ok := rec.Props["userPrincipalName"].(string); ok {
			e.byUPN[upn] = rec.ID
		}
	}
	return e
}

// mustCheck runs `orgraph check` and fails the test with its report unless the directory is whole.
func mustCheck(t testing.TB, storage ...string) {
	t.Helper()
	out, errs, code := runOrgraph(t, append([]string{"check", "--all"}, storage...)...)
	if code != 0 {
		t.Errorf("orgraph check: exit %d\n%s%s", code, out, errs)
	}
}
