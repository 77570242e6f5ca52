package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"
)

// Report is the outcome of `orgraph bench`, in the shape --json prints.
type Report struct {
	Users          int              `json:"users"`
	ImportSeconds  float64          `json:"import_seconds"`
	DBBytes        int64            `json:"db_bytes"`
	ServerRSSBytes int64            `json:"server_rss_bytes"`
	BaselineRPS    float64          `json:"baseline_rps"`
	Scenarios      []ScenarioReport `json:"scenarios"`

	// What the table shows besides.
	Backend     string        `json:"-"`
	Concurrency int           `json:"-"`
	Duration    time.Duration `json:"-"`
	Baseline    Result        `json:"-"`
	Objects     int           `json:"-"` // objects and relationships imported
	CPUs        int           `json:"-"`
	// ImportCPUSeconds is the CPU time the import took, generation included.
	ImportCPUSeconds float64 `json:"-"`
	// BaselineCPU is the baseline server's CPU time per request (ms); BaselineOthers the cores other
	// processes of the machine took meanwhile.
	BaselineCPU, BaselineOthers float64 `json:"-"`
}

// ScenarioReport is one row of the report.
type ScenarioReport struct {
	Name   string  `json:"name"`
	RPS    float64 `json:"rps"`
	P50ms  float64 `json:"p50_ms"`
	P99ms  float64 `json:"p99_ms"`
	Errors int     `json:"errors"`
	// Ratio is RPS over the baseline's.
	Ratio float64 `json:"ratio"`
	// ServerCPUms is the server's CPU time per request; OtherCores the cores that processes other than the
	// server and the bench took meanwhile, which a shared machine takes from both.
	ServerCPUms float64 `json:"-"`
	OtherCores  float64 `json:"-"`
}

// Row turns a run's result into a row of the report.
func (r *Report) Row(name string, res Result) ScenarioReport {
	row := ScenarioReport{
		Name:   name,
		RPS:    round(res.RPS, 1),
		P50ms:  round(ms(res.P50), 3),
		P99ms:  round(ms(res.P99), 3),
		Errors: res.Errors,
	}
	if r.BaselineRPS > 0 {
		row.Ratio = round(res.RPS/r.BaselineRPS, 4)
	}
	return row
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func round(v float64, digits int) float64 {
	f, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'f', digits, 64), 64)
	return f
}

// WriteJSON writes the report as one JSON object and a newline.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	return enc.Encode(r)
}

// WriteTable writes the report as a table for people.
func (r *Report) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "orgraph bench: %s users on %s, %d CPUs, %d concurrent requests, %s per scenario\n",
		thousands(float64(r.Users)), r.Backend, r.CPUs, r.Concurrency, r.Duration)
	rate := 0.0
	if r.ImportSeconds > 0 {
		rate = float64(r.Objects) / r.ImportSeconds
	}
	fmt.Fprintf(w, "import %.1f s (%s records/s, %.1f s of CPU), database %s, server peak RSS %s\n",
		r.ImportSeconds, thousands(rate), r.ImportCPUSeconds, bytesIEC(r.DBBytes), bytesIEC(r.ServerRSSBytes))
	const row = "%-20s %9s %8s %8s %7s %6s %11s %7s\n"
	fmt.Fprintf(w, "\n"+row, "scenario", "req/s", "p50 ms", "p99 ms", "errors", "ratio", "cpu ms/req", "others")
	cells := func(name string, rps, p50, p99 float64, errors int, ratio, cpu, others float64) {
		fmt.Fprintf(w, row, name, thousands(rps), fmt.Sprintf("%.2f", p50), fmt.Sprintf("%.2f", p99),
			strconv.Itoa(errors), fmt.Sprintf("%.3f", ratio), fmt.Sprintf("%.3f", cpu), fmt.Sprintf("%.2f", others))
	}
	b := r.Baseline
	cells("baseline", r.BaselineRPS, ms(b.P50), ms(b.P99), b.Errors, 1, r.BaselineCPU, r.BaselineOthers)
	for _, s := range r.Scenarios {
		cells(s.Name, s.RPS, s.P50ms, s.P99ms, s.Errors, s.Ratio, s.ServerCPUms, s.OtherCores)
	}
	fmt.Fprintf(w, "\nbaseline: a bare net/http handler in a child process answering one user's JSON from memory.\n"+
		"cpu ms/req: the server's CPU time per request; others: cores other processes of the machine took meanwhile\n"+
		"(PostgreSQL's included, with --db).\n")
	return nil
}

// thousands formats a number without decimals, with thin separators every three digits.
func thousands(v float64) string {
	s := strconv.FormatInt(int64(v+0.5), 10)
	out := make([]byte, 0, len(s)+len(s)/3)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

func bytesIEC(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
