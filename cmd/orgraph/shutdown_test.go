package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestGracefulShutdown sends SIGTERM in the middle of a burst of writes, while one request is still sending
// its body. The server must stop accepting, let that request finish (it is answered 201 after the signal),
// close the store and exit 0; after a restart every write answered before or during the shutdown is there.
func TestGracefulShutdown(t *testing.T) {
	data := t.TempDir()
	srv := startServer(t, "--data", data)
	token := strings.TrimSpace(mustRun(t, "token", "--data", data))
	api := newAPIClient(srv.base, token)

	var (
		mu    sync.Mutex
		acked = map[string]string{} // id → name
		wg    sync.WaitGroup
		stop  = make(chan struct{})
	)
	for g := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("burst-%02d-%d", g, i)
				status, body, err := api.call(context.Background(), http.MethodPost, "/v1.0/users", newUser(name))
				if err != nil {
					return // the server stopped accepting
				}
				var u struct{ ID string }
				if status != http.StatusCreated || json.Unmarshal(body, &u) != nil {
					t.Errorf("create %s: %d %s", name, status, body)
					return
				}
				mu.Lock()
				acked[u.ID] = name
				mu.Unlock()
			}
		})
	}

	// The slow request: its headers and half its body arrive before SIGTERM, the rest after.
	body, _ := json.Marshal(newUser("slow"))
	pr, pw := io.Pipe()
	req, err := http.NewRequest(http.MethodPost, srv.base+"/v1.0/users", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	type answer struct {
		status int
		body   []byte
		err    error
	}
	slow := make(chan answer, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			slow <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		slow <- answer{resp.StatusCode, b, err}
	}()
	time.Sleep(400 * time.Millisecond)
	if _, err := pw.Write(body[:len(body)/2]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)

	exited := make(chan error, 1)
	go func() { exited <- srv.terminate(30 * time.Second) }()
	time.Sleep(300 * time.Millisecond)
	if _, err := pw.Write(body[len(body)/2:]); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	a := <-slow
	var slowUser struct{ ID string }
	if a.err != nil || a.status != http.StatusCreated || json.Unmarshal(a.body, &slowUser) != nil {
		t.Errorf("the request in flight at SIGTERM: %d %s %v; want 201", a.status, a.body, a.err)
	}
	if err := <-exited; err != nil {
		t.Errorf("orgraph serve after SIGTERM: %v, want exit status 0", err)
	}
	close(stop)
	wg.Wait()
	if log := srv.logs.String(); !strings.Contains(log, "store closed") {
		t.Errorf("the server did not log that it closed the store:\n%s", log)
	}
	if len(acked) == 0 {
		t.Fatal("no write was acknowledged")
	}

	// Restart: every acknowledged user is there, the slow one included, and the directory is whole.
	srv = startServer(t, "--data", data)
	api = newAPIClient(srv.base, token)
	if status, b, err := api.call(t.Context(), http.MethodGet, "/v1.0/users/"+slowUser.ID, nil); err != nil || status != http.StatusOK {
		t.Errorf("GET the user created during the shutdown: %d %s %v", status, b, err)
	}
	if err := srv.terminate(30 * time.Second); err != nil {
		t.Errorf("second SIGTERM: %v", err)
	}
	got := exportTenant(t, "--data", data)
	for id, name := range acked {
		if o, ok := got.objects[id]; !ok || o.Props["displayName"] != name {
			t.Errorf("user %s (%s) was acknowledged before the shutdown; after the restart it is %v", name, id, o)
		}
	}
	t.Logf("%d writes acknowledged around SIGTERM, all present after the restart", len(acked)+1)
	mustCheck(t, "--data", data)
}
