package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/orgraph/orgraph/internal/auth"
	"github.com/orgraph/orgraph/internal/bench"
	"github.com/orgraph/orgraph/internal/store"
	"github.com/orgraph/orgraph/internal/transfer"
)

// benchBaselineCmd is the hidden subcommand the bench runs itself as, to serve the baseline in a process of
// its own.
const benchBaselineCmd = "baseline-server"

// benchProfiledCmd is the hidden subcommand that runs `orgraph serve` under the CPU profiler, for --cpuprofile.
const benchProfiledCmd = "profiled-server"

// childStartTimeout bounds how long a child server may take to print its address.
const childStartTimeout = 2 * time.Minute

// bench generates an organisation, imports it, serves it from a child `orgraph serve` and measures it under
// load against a bare net/http handler in another child process. Both servers run as processes of their own,
// so that neither shares a Go runtime (scheduler, GC, heap) with the load generator, and the baseline costs
// what a process answering from memory costs on this machine: the ratio is then orgraph's own cost.
func (m *Main) bench(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == benchBaselineCmd {
		return m.benchBaseline(ctx, args[1:])
	}
	if len(args) > 0 && args[0] == benchProfiledCmd {
		return m.benchProfiled(ctx, args[1:])
	}
	fs := m.newFlags("bench")
	var sf storeFlags
	sf.register(fs)
	users := fs.Int("users", 1_000_000, "users of the generated organisation")
	seed := fs.Uint64("seed", 1, "seed of the generated organisation")
	concurrency := fs.Int("concurrency", 64, "requests the load generator keeps in flight")
	duration := fs.Duration("duration", 10*time.Second, "measured load per scenario")
	warmup := fs.Duration("warmup", -1, "unmeasured load before each scenario (default a tenth of --duration, at most 1s)")
	only := fs.String("scenarios", "", "run only these scenarios, comma-separated (default all)")
	jsonOut := fs.Bool("json", false, "print one JSON object instead of a table")
	keep := fs.Bool("keep", false, "keep the generated data: the temporary folder, or the tenant in --db or --data")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the server, from its start to its end, to this file (go tool pprof)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench: unexpected argument %q", fs.Arg(0))
	}
	if *concurrency < 1 || *duration <= 0 {
		return errors.New("bench: --concurrency and --duration must be positive")
	}
	if *warmup < 0 {
		*warmup = min(time.Second, *duration/10)
	}
	var scenarios []bench.Scenario
	want := map[string]bool{}
	for _, name := range strings.Split(*only, ",") {
		if name = strings.TrimSpace(name); name != "" {
			want[name] = true
		}
	}
	logf := func(format string, args ...any) { fmt.Fprintf(m.Stderr, "bench: "+format+"\n", args...) }

	work, err := os.MkdirTemp("", "orgraph-bench-")
	if err != nil {
		return err
	}
	dsn := sf.db
	if dsn == "" && !sf.given("data") && !sf.given("sync") {
		dsn = os.Getenv(envDB)
	}
	backend := "SQLite"
	switch {
	case dsn != "":
		backend = "PostgreSQL"
	case !sf.given("data"):
		sf.data = filepath.Join(work, "data")
	}
	defer func() {
		if *keep {
			logf("kept %s", work)
			return
		}
		os.RemoveAll(work)
	}()

	start := time.Now()
	org, err := bench.Generate(bench.Config{Users: *users, Seed: *seed})
	if err != nil {
		return err
	}
	all := len(want) == 0
	for _, sc := range bench.Scenarios(org) {
		if all || want[sc.Name] {
			scenarios = append(scenarios, sc)
			delete(want, sc.Name)
		}
	}
	for name := range want {
		return fmt.Errorf("bench: no scenario %q", name)
	}
	logf("generated the shape of %d users (%d guests), %d groups, %d contacts in %.1f s",
		org.Users(), org.Guests(), org.Groups(), org.Contacts(), time.Since(start).Seconds())

	rep := &bench.Report{Users: org.Users(), Backend: backend, Concurrency: *concurrency, Duration: *duration, CPUs: runtime.NumCPU()}
	tenant, token, err := m.benchLoad(ctx, &sf, org, rep, logf, *warmup+*duration, len(scenarios))
	if err != nil {
		return err
	}
	if dsn != "" {
		rep.DBBytes, err = postgresSize(ctx, dsn)
	} else {
		rep.DBBytes, err = sqliteSize(sf.data)
	}
	if err != nil {
		return fmt.Errorf("bench: database size: %w", err)
	}
	if dsn != "" && !*keep {
		defer m.benchDropTenant(&sf, tenant, logf)
	}

	// The server, as a user runs it.
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	serveArgs := []string{"serve", "--addr", "127.0.0.1:0"}
	if *cpuProfile != "" {
		abs, err := filepath.Abs(*cpuProfile)
		if err != nil {
			return err
		}
		serveArgs = append([]string{"bench", benchProfiledCmd, "--cpuprofile", abs}, serveArgs...)
	}
	env := os.Environ()
	if dsn != "" {
		env = append(env, envDB+"="+dsn)
	} else {
		serveArgs = append(serveArgs, "--data", sf.data)
		if sf.given("sync") {
			serveArgs = append(serveArgs, "--sync", sf.sync)
		}
	}
	srv, err := startChild(ctx, exe, serveArgs, env, filepath.Join(work, "server.log"), regexp.MustCompile(`serving Microsoft Graph at (\S+)/v1\.0`))
	if err != nil {
		return fmt.Errorf("bench: start the server: %w", err)
	}
	defer srv.stop()
	client := &bench.Client{HTTP: bench.NewHTTPClient(*concurrency), Base: srv.base + "/v1.0", Token: token}
	defer client.HTTP.CloseIdleConnections()

	// The baseline: one user's JSON as orgraph renders it, served from memory.
	body, err := fetch(ctx, client, "/users/"+org.ID(org.TreeSize()-1))
	if err != nil {
		return fmt.Errorf("bench: the server does not answer: %w", err)
	}
	bodyFile := filepath.Join(work, "user.json")
	if err := os.WriteFile(bodyFile, body, 0o600); err != nil {
		return err
	}
	base, err := startChild(ctx, exe, []string{"bench", benchBaselineCmd, "--body", bodyFile}, os.Environ(),
		filepath.Join(work, "baseline.log"), regexp.MustCompile(`baseline listening at (\S+)`))
	if err != nil {
		return fmt.Errorf("bench: start the baseline: %w", err)
	}
	// measure runs op for the warmup, unmeasured, then for the duration, and accounts for the CPU time the
	// server (pid) spent per request and the cores other processes of the machine took meanwhile.
	measure := func(c *bench.Client, pid int, op bench.Op, seed uint64) (bench.Result, cpuUse) {
		if *warmup > 0 {
			bench.Run(ctx, c, bench.Options{Concurrency: *concurrency, Duration: *warmup, Seed: ^seed}, op)
		}
		before := snapCPU(pid)
		res := bench.Run(ctx, c, bench.Options{Concurrency: *concurrency, Duration: *duration, Seed: seed}, op)
		return res, snapCPU(pid).since(before, res.Requests)
	}
	baseClient := &bench.Client{HTTP: bench.NewHTTPClient(*concurrency), Base: base.base + "/v1.0", Token: token}
	var use cpuUse
	rep.Baseline, use = measure(baseClient, base.cmd.Process.Pid, bench.BaselineOp(org), *seed)
	rep.BaselineCPU, rep.BaselineOthers = use.perRequestMs, use.otherCores
	baseClient.HTTP.CloseIdleConnections()
	base.stop()
	if err := ctx.Err(); err != nil {
		return err
	}
	if rep.Baseline.Requests == 0 || rep.Baseline.Errors > 0 {
		return fmt.Errorf("bench: the baseline failed: %d requests, %d errors: %s", rep.Baseline.Requests, rep.Baseline.Errors, rep.Baseline.FirstError)
	}
	rep.BaselineRPS = math.Round(rep.Baseline.RPS*10) / 10
	logf("%-20s %9.0f req/s  p50 %7.2f ms  p99 %7.2f ms  %d errors; %.3f ms CPU/request, other processes %.2f cores",
		"baseline", rep.Baseline.RPS, ms(rep.Baseline.P50), ms(rep.Baseline.P99), rep.Baseline.Errors, use.perRequestMs, use.otherCores)

	for k, sc := range scenarios {
		if sc.Prepare != nil {
			if err := sc.Prepare(ctx, client); err != nil {
				logf("%s: %v", sc.Name, err)
			}
		}
		res, use := measure(client, srv.cmd.Process.Pid, sc.Op, *seed+uint64(k+1))
		if err := ctx.Err(); err != nil {
			return err
		}
		row := rep.Row(sc.Name, res)
		row.ServerCPUms, row.OtherCores = use.perRequestMs, use.otherCores
		rep.Scenarios = append(rep.Scenarios, row)
		logf("%-20s %9.0f req/s  p50 %7.2f ms  p99 %7.2f ms  %d errors; %.3f ms CPU/request, other processes %.2f cores",
			sc.Name, res.RPS, ms(res.P50), ms(res.P99), res.Errors, use.perRequestMs, use.otherCores)
		if res.FirstError != "" {
			logf("  %s: first error: %s", sc.Name, res.FirstError)
		}
	}
	if rep.ServerRSSBytes, err = peakRSS(srv.cmd.Process.Pid); err != nil {
		logf("server RSS: %v", err)
	}
	srv.stop()

	if *jsonOut {
		return rep.WriteJSON(m.Stdout)
	}
	return rep.WriteTable(m.Stdout)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// benchLoad imports org into a new tenant through transfer.Import, the path `orgraph import` takes, with the
// generator streaming straight into it, and mints a token for the tenant that lasts the whole run.
func (m *Main) benchLoad(ctx context.Context, sf *storeFlags, org *bench.Org, rep *bench.Report, logf func(string, ...any), perScenario time.Duration, scenarios int) (tenant, token string, err error) {
	st, _, err := sf.open(ctx)
	if err != nil {
		return "", "", err
	}
	defer st.Close()
	tenant = uuid.NewString()
	if err := st.CreateTenant(ctx, store.Tenant{ID: tenant, Name: "orgraph bench", CreatedAt: time.Now().UTC()}); err != nil {
		return "", "", err
	}

	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(org.WriteJSONL(pw)) }()
	var written atomic.Int64
	done := make(chan struct{})
	start := time.Now()
	go func() {
		tick := time.NewTicker(10 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if n := written.Load(); n > 0 {
					logf("importing: %d records written after %.0f s", n, time.Since(start).Seconds())
				} else {
					logf("importing: reading and checking the file after %.0f s", time.Since(start).Seconds())
				}
			}
		}
	}()
	cpu := selfCPU()
	sum, err := transfer.Import(ctx, st, tenant, pr, transfer.Options{Progress: func(n int) { written.Store(int64(n)) }})
	close(done)
	pr.CloseWithError(errors.New("import finished"))
	if err != nil {
		return "", "", fmt.Errorf("bench: import: %w", err)
	}
	rep.ImportSeconds = math.Round(time.Since(start).Seconds()*1000) / 1000
	rep.ImportCPUSeconds = (selfCPU() - cpu).Seconds()
	if sum.Users != org.Users() || sum.Groups != org.Groups() || sum.Contacts != org.Contacts() ||
		sum.Managers != org.Managers() || sum.Sponsors != org.Sponsors() || len(sum.Skipped) > 0 {
		return "", "", fmt.Errorf("bench: imported %+v; want %d users, %d groups, %d contacts, %d managers, %d sponsors",
			sum, org.Users(), org.Groups(), org.Contacts(), org.Managers(), org.Sponsors())
	}
	rep.Objects = sum.Users + sum.Groups + sum.Contacts + sum.Managers + sum.Sponsors
	logf("imported %d users, %d groups, %d contacts, %d managers, %d sponsors in %.1f s (%.1f s of CPU)",
		sum.Users, sum.Groups, sum.Contacts, sum.Managers, sum.Sponsors, rep.ImportSeconds, rep.ImportCPUSeconds)

	keys, err := st.SigningKeys(ctx)
	if err != nil || len(keys) == 0 {
		return "", "", fmt.Errorf("bench: no signing key: %v", err)
	}
	ttl := time.Hour + 2*time.Duration(scenarios+1)*perScenario
	token, err = auth.Mint(keys[0], auth.Claims{TenantID: tenant, AppID: cliAppID, ObjectID: cliAppID, Roles: split("", defaultPermissions)}, time.Now(), ttl)
	if err != nil {
		return "", "", err
	}
	return tenant, token, nil
}

// benchDropTenant deletes the bench's tenant from a shared database.
func (m *Main) benchDropTenant(sf *storeFlags, tenant string, logf func(string, ...any)) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	st, _, err := sf.open(ctx)
	if err == nil {
		err = st.DeleteTenant(ctx, tenant)
		st.Close()
	}
	if err != nil {
		logf("delete tenant %s: %v", tenant, err)
	}
}

// sqliteSize sums the database file and its WAL and shared-memory files.
func sqliteSize(dir string) (int64, error) {
	names, err := filepath.Glob(filepath.Join(dir, "orgraph.db*"))
	if err != nil || len(names) == 0 {
		return 0, fmt.Errorf("no database in %s: %v", dir, err)
	}
	var n int64
	for _, name := range names {
		fi, err := os.Stat(name)
		if err != nil {
			return 0, err
		}
		n += fi.Size()
	}
	return n, nil
}

// postgresSize is pg_database_size of the database the DSN names.
func postgresSize(ctx context.Context, dsn string) (int64, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var n int64
	err = conn.QueryRow(ctx, "SELECT pg_database_size(current_database())").Scan(&n)
	return n, err
}

// clockTick is the unit of the CPU times in /proc: USER_HZ, 100 on every Linux.
const clockTick = 10 * time.Millisecond

// cpuSnap is the CPU time used so far by a server, by this process and by the whole machine.
type cpuSnap struct {
	at                    time.Time
	server, self, machine time.Duration
}

// cpuUse is what happened between two snapshots.
type cpuUse struct {
	perRequestMs float64 // server CPU time per request
	otherCores   float64 // cores used on average by processes other than the server and the bench
}

func snapCPU(pid int) cpuSnap {
	return cpuSnap{at: time.Now(), server: procCPU(pid), self: selfCPU(), machine: machineCPU()}
}

func (s cpuSnap) since(before cpuSnap, requests int) cpuUse {
	var u cpuUse
	if requests > 0 {
		u.perRequestMs = ms(s.server-before.server) / float64(requests)
	}
	others := (s.machine - before.machine) - (s.server - before.server) - (s.self - before.self)
	if wall := s.at.Sub(before.at); wall > 0 {
		u.otherCores = max(0, others.Seconds()/wall.Seconds())
	}
	return u
}

// procCPU is the user and system time of a process, from /proc/PID/stat (0 if unreadable).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name, in parentheses, may hold spaces; the fields after it start with the state (field 3).
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * clockTick
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// machineCPU is the busy time of all CPUs (everything but idle and iowait), from /proc/stat.
func machineCPU() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	first, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(first)
	var busy int64
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i != 3 && i != 4 && i < 8 { // idle, iowait; guest times are already in user
			busy += n
		}
	}
	return time.Duration(busy) * clockTick
}

// peakRSS reads a process's peak resident set size (VmHWM) from /proc.
func peakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			f := strings.Fields(v)
			kb, err := strconv.ParseInt(f[0], 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmHWM in /proc/PID/status")
}

func fetch(ctx context.Context, c *bench.Client, path string) ([]byte, error) {
	req, err := c.NewRequest(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s: %s", path, resp.Status, b)
	}
	return b, err
}

// child is a server the bench runs as a process of its own.
type child struct {
	cmd  *exec.Cmd
	base string // its URL, as it printed it
	log  string
	done chan struct{}
}

// startChild runs exe with args, its stderr to logPath, and waits until a line of its stdout matches ready,
// whose first group is the base URL.
func startChild(ctx context.Context, exe string, args, env []string, logPath string, ready *regexp.Regexp) (*child, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = env
	cmd.Stderr = logFile
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = shutdownGrace + 5*time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		logFile.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	c := &child{cmd: cmd, log: logPath, done: make(chan struct{})}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := ready.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	go func() {
		cmd.Wait()
		logFile.Close()
		close(c.done)
	}()
	select {
	case c.base = <-found:
	case <-c.done:
		return nil, fmt.Errorf("%s exited: %v\n%s", filepath.Base(exe), cmd.ProcessState, tail(logPath))
	case <-time.After(childStartTimeout):
		c.stop()
		return nil, fmt.Errorf("%s printed no address in %s\n%s", filepath.Base(exe), childStartTimeout, tail(logPath))
	case <-ctx.Done():
		c.stop()
		return nil, ctx.Err()
	}
	return c, nil
}

// stop asks the child to shut down and waits for it; it may be called again.
func (c *child) stop() {
	select {
	case <-c.done:
		return
	default:
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(shutdownGrace + 5*time.Second):
		c.cmd.Process.Kill()
		<-c.done
	}
}

// tail returns the end of a log file.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// benchProfiled runs the command in args (serve) under the CPU profiler, writing the profile to --cpuprofile
// when the command returns, after SIGTERM.
func (m *Main) benchProfiled(ctx context.Context, args []string) (err error) {
	fs := m.newFlags("bench " + benchProfiledCmd)
	path := fs.String("cpuprofile", "", "file the CPU profile is written to")
	if err := fs.Parse(args); err != nil {
		return err
	}
	f, err := os.Create(*path)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, f.Close()) }()
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	defer pprof.StopCPUProfile()
	return m.Run(ctx, fs.Args())
}

// benchBaseline serves bench.BaselineHandler: the bare net/http server the bench compares orgraph with, with
// the timeouts serve sets.
func (m *Main) benchBaseline(ctx context.Context, args []string) error {
	fs := m.newFlags("bench " + benchBaselineCmd)
	addr := fs.String("addr", "127.0.0.1:0", "address to listen on")
	bodyFile := fs.String("body", "", "file whose bytes every response carries")
	if err := fs.Parse(args); err != nil {
		return err
	}
	body, err := os.ReadFile(*bodyFile)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           bench.BaselineHandler(body),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	fmt.Fprintf(m.Stdout, "baseline listening at http://%s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	return srv.Shutdown(sctx)
}
