package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestBackupRestore backs up a data folder while its server runs, restores the backup into a new folder and
// compares `orgraph export` of both: with writes stopped, the backup is exactly the directory. It also checks
// what backup and restore refuse.
func TestBackupRestore(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	srv := startServer(t, "--data", src, "--demo")
	token := strings.TrimSpace(mustRun(t, "token", "--data", src))
	api := newAPIClient(srv.base, token)
	// Writes of every kind on top of the demo, so the copy has to carry managers and sponsors it did not load.
	a, b := api.createUser(t, "backup-a"), api.createUser(t, "backup-b")
	for _, w := range []struct {
		method, path string
		body         any
	}{
		{http.MethodPut, "/v1.0/users/" + a + "/manager/$ref", refBody(b)},
		{http.MethodPost, "/v1.0/users/" + b + "/sponsors/$ref", refBody(a)},
		{http.MethodPatch, "/v1.0/users/" + a, map[string]any{"jobTitle": "Archivist"}},
	} {
		if status, body, err := api.call(t.Context(), w.method, w.path, w.body); err != nil || status != http.StatusNoContent {
			t.Fatalf("%s %s: %d %s %v", w.method, w.path, status, body, err)
		}
	}

	file := filepath.Join(t.TempDir(), "orgraph.backup")
	mustRun(t, "backup", "--data", src, file)
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("backup file: %v, %v; want mode 0600 (it holds signing keys)", fi, err)
	}
	mustRun(t, "restore", "--data", dst, file)
	want, got := exportTenant(t, "--data", src), exportTenant(t, "--data", dst)
	if !bytes.Equal(want.raw, got.raw) {
		t.Errorf("export of the restored folder differs from the original's:\n%s\n----\n%s", want.raw, got.raw)
	}
	if len(got.objects) < 20 || got.objects[a].Manager != b || !got.sponsors[b][a] {
		t.Errorf("the restored directory lacks the writes: %d objects, manager of a %q, sponsors of b %v", len(got.objects), got.objects[a].Manager, got.sponsors[b])
	}
	mustCheck(t, "--data", dst)
	// The restored folder serves, and accepts the tokens of the original: the signing keys came along.
	restored := startServer(t, "--data", dst)
	if status, body, err := newAPIClient(restored.base, token).call(t.Context(), http.MethodGet, "/v1.0/users/"+a+"/manager", nil); err != nil || status != http.StatusOK {
		t.Errorf("GET through the restored server with the original's token: %d %s %v", status, body, err)
	}
	restored.kill()

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"backup", "--data", src, file}, "exists; --force replaces it"},
		{[]string{"restore", "--data", dst, file}, "holds a database; --force replaces it"},
		{[]string{"restore", "--data", src, "--force", file}, "in use by a running orgraph serve"},
		{[]string{"backup", "--data", t.TempDir(), file + "2"}, "no orgraph database"},
		{[]string{"backup", "--db", "postgres://nobody@127.0.0.1:1/none", file + "3"}, "pg_dump"},
		{[]string{"restore", "--data", t.TempDir(), filepath.Join(src, "orgraph.lock")}, "not an orgraph backup"},
		{[]string{"restore", "--data", t.TempDir(), filepath.Join(src, "missing")}, "no such file"},
	} {
		out, errs, code := runOrgraph(t, c.args...)
		if code == 0 || !strings.Contains(errs, c.want) {
			t.Errorf("orgraph %s: exit %d, %s%s; want a failure saying %q", strings.Join(c.args, " "), code, out, errs, c.want)
		}
	}
	mustRun(t, "backup", "--data", src, "--force", file)
	mustRun(t, "restore", "--data", dst, "--force", file)
	mustCheck(t, "--data", dst)
}

// TestBackupUnderLoad takes a backup while 16 clients write. The backup must be a consistent directory
// (`orgraph check` passes on its restored copy) and hold every write acknowledged before it began.
func TestBackupUnderLoad(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	srv := startServer(t, "--data", src)
	token := strings.TrimSpace(mustRun(t, "token", "--data", src))
	api := newAPIClient(srv.base, token)
	var (
		mu     sync.Mutex
		acked  []string
		others []string // users to pick managers from
		wg     sync.WaitGroup
		stop   = make(chan struct{})
	)
	for i := range 8 {
		others = append(others, api.createUser(t, fmt.Sprintf("boss-%d", i)))
	}
	for g := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				status, body, err := api.call(context.Background(), http.MethodPost, "/v1.0/users", newUser(fmt.Sprintf("load-%02d-%d", g, i)))
				var u struct{ ID string }
				if err != nil || status != http.StatusCreated || json.Unmarshal(body, &u) != nil {
					t.Errorf("create: %d %s %v", status, body, err)
					return
				}
				status, body, err = api.call(context.Background(), http.MethodPut, "/v1.0/users/"+u.ID+"/manager/$ref", refBody(others[i%len(others)]))
				if err != nil || status != http.StatusNoContent {
					t.Errorf("set manager: %d %s %v", status, body, err)
					return
				}
				mu.Lock()
				acked = append(acked, u.ID)
				mu.Unlock()
			}
		})
	}
	time.Sleep(500 * time.Millisecond)
	mu.Lock()
	before := append([]string(nil), acked...)
	mu.Unlock()
	file := filepath.Join(t.TempDir(), "orgraph.backup")
	start := time.Now()
	mustRun(t, "backup", "--data", src, file)
	took := time.Since(start)
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()

	mustRun(t, "restore", "--data", dst, file)
	mustCheck(t, "--data", dst)
	got := exportTenant(t, "--data", dst)
	for _, id := range before {
		if o, ok := got.objects[id]; !ok || o.Manager == "" {
			t.Errorf("user %s and its manager were acknowledged before the backup began; the backup has %v", id, o)
		}
	}
	t.Logf("backup took %s during the load; it holds %d users, %d acknowledged before it began, %d by the end of the load",
		took.Round(time.Millisecond), len(got.objects), len(before), len(acked))
	if len(before) == 0 || len(acked) <= len(before) {
		t.Errorf("the writes did not go on around the backup: %d before, %d in all", len(before), len(acked))
	}
}
