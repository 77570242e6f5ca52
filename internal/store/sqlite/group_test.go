package sqlite_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/store"
	"github.com/orgraph/orgraph/internal/store/sqlite"
	"github.com/orgraph/orgraph/internal/store/storetest"
)

// BenchmarkConcurrentSetManager measures the write throughput the server sees: many concurrent manager
// assignments, each through the Service and its cycle check, on a real file with synchronous=FULL, where
// every commit waits for an fsync and only sharing commits lets writes outpace the disk. The users form a
// tree (fan-out 8) and each write moves a leaf under a manager higher up, so no write closes a cycle.
func BenchmarkConcurrentSetManager(b *testing.B) {
	s := openFile(b, filepath.Join(b.TempDir(), "orgraph.db"), sqlite.Options{Sync: "full"})
	x := storetest.NewBenchTenant(b, s)
	const n, fanOut = 10000, 8
	users := x.Users(b, n, func(i int) int {
		if i == 0 {
			return -1
		}
		return (i - 1) / fanOut
	})
	// Users from firstLeaf on have no reports; the writers are as many as orgraph bench's 64 clients on 2 cores.
	firstLeaf := (n-1)/fanOut + 1
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewPCG(rand.Uint64(), 0))
		for pb.Next() {
			leaf := users[firstLeaf+rng.IntN(n-firstLeaf)]
			manager := users[rng.IntN(firstLeaf/fanOut)]
			if err := x.Svc.SetManager(x.Ctx, x.Tenant, leaf.ID, directory.Ref{ID: manager.ID}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}

// crashEnv, when set, makes TestKillKeepsAcknowledgedWrites the writing child: it names the database file.
const crashEnv = "ORGRAPH_TEST_CRASH_DB"

// TestKillKeepsAcknowledgedWrites runs this test binary as a child that writes through 32 goroutines, and so
// in shared commits, printing each write it has been answered for; SIGKILL ends it at a random moment,
// three times over on one file. Every acknowledged write must then be there and the directory whole. (It
// kills the process, not the machine: that the commit is on disk when it returns rests on SQLite's fsync.)
func TestKillKeepsAcknowledgedWrites(t *testing.T) {
	if path := os.Getenv(crashEnv); path != "" {
		crashChild(path)
		return
	}
	path := filepath.Join(t.TempDir(), "orgraph.db")
	var acked []string
	tenant := ""
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillKeepsAcknowledgedWrites$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnv+"="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string)
		go func() {
			defer close(lines)
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
		}()
		kill := time.After(time.Hour)
		n := 0
		for line := range lines {
			switch f := strings.Fields(line); {
			case len(f) == 2 && f[0] == "tenant":
				tenant = f[1]
			case len(f) == 2 && f[0] == "ack":
				acked = append(acked, f[1])
				if n++; n == 1 {
					kill = time.After(time.Duration(100+rand.IntN(700)) * time.Millisecond)
				}
			}
			select {
			case <-kill:
				cmd.Process.Kill()
				kill = nil
			default:
			}
		}
		err = cmd.Wait()
		if kill != nil {
			t.Fatalf("round %d: the child ended before the kill: %v", round, err)
		}
		t.Logf("round %d: %d writes acknowledged in all", round, len(acked))

		s := openFile(t, path, sqlite.Options{})
		err = s.View(t.Context(), tenant, func(tx directory.Tx) error {
			for _, id := range acked {
				if _, err := tx.Get(id); err != nil {
					t.Errorf("round %d: acknowledged write %s: %v", round, id, err)
				}
			}
			storetest.CheckInvariants(t, tx)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if t.Failed() {
			return
		}
	}
}

// crashChild creates groups from 32 goroutines until it is killed, printing the id of each it was answered
// for.
func crashChild(path string) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		panic(err)
	}
	tenant, err := store.Bootstrap(ctx, s)
	if err != nil {
		panic(err)
	}
	var mu sync.Mutex
	fmt.Printf("tenant %s\n", tenant)
	svc := directory.NewService(s)
	for g := range 32 {
		go func() {
			for i := 0; ; i++ {
				name := fmt.Sprintf("g%d-%d", g, i)
				o, err := svc.Create(ctx, tenant, directory.KindGroup, map[string]any{
					"displayName": name, "mailEnabled": false, "mailNickname": name, "securityEnabled": true,
				})
				if err != nil {
					panic(err)
				}
				mu.Lock()
				fmt.Printf("ack %s\n", o.ID)
				mu.Unlock()
			}
		}()
	}
	select {}
}
