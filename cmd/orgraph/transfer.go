package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/orgraph/orgraph/internal/store"
	"github.com/orgraph/orgraph/internal/transfer"
)

func (m *Main) export(ctx context.Context, args []string) error {
	fs := m.newFlags("export")
	var sf storeFlags
	sf.register(fs)
	tenant := fs.String("tenant", "", "tenant id (default: the database's default tenant)")
	out := fs.String("out", "", "file to write (default: standard output)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("export: unexpected argument %q", fs.Arg(0))
	}
	st, id, err := openTenant(ctx, &sf, *tenant)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer st.Close()

	w, commit, discard := m.Stdout, func() error { return nil }, func() {}
	if *out != "" {
		// Written beside FILE and renamed over it at the end, so a failed export never leaves half a file
		// that looks like a whole one. CreateTemp makes it readable by its owner only, which suits a copy of
		// the whole directory.
		f, err := os.CreateTemp(filepath.Dir(*out), filepath.Base(*out)+".*.tmp")
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		w = f
		commit = func() error {
			// Synced before the rename, so the name never points at data a power cut could still take away.
			if err := f.Sync(); err != nil {
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			return os.Rename(f.Name(), *out)
		}
		discard = func() {
			f.Close()
			os.Remove(f.Name())
		}
	}
	var progress func(int)
	bar := m.progressBar(-1, "exporting", "lines")
	if bar != nil {
		progress = func(n int) { bar.Set(n) }
	}
	sum, err := transfer.Export(ctx, st, id, w, progress)
	if bar != nil {
		bar.Finish()
	}
	if err == nil {
		err = commit()
	}
	if err != nil {
		discard()
		return fmt.Errorf("export: %w", err)
	}
	fmt.Fprintf(m.Stderr, "exported %d users, %d groups, %d contacts, %d managers, %d sponsors\n",
		sum.Users, sum.Groups, sum.Contacts, sum.Managers, sum.Sponsors)
	return nil
}

func (m *Main) importFile(ctx context.Context, args []string) error {
	fs := m.newFlags("import")
	var sf storeFlags
	sf.register(fs)
	tenant := fs.String("tenant", "", "tenant id (default: the database's default tenant)")
	skipBad := fs.Bool("skip-bad", false, "import the good lines and list the bad ones, instead of importing nothing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("import: want one FILE to import (- for standard input)")
	}
	in := os.Stdin
	if name := fs.Arg(0); name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		defer f.Close()
		in = f
	}
	st, id, err := openTenant(ctx, &sf, *tenant)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer st.Close()

	// Two bars: the bytes read while the file is validated (a share of its size when it has one), then the
	// records written, which begin only once the whole file has been read.
	var r io.Reader = in
	size := int64(-1)
	if fi, err := in.Stat(); err == nil && fi.Mode().IsRegular() {
		size = fi.Size()
	}
	opts := transfer.Options{SkipBad: *skipBad}
	reading := m.progressBar(size, "reading", "")
	var writing *progressbar.ProgressBar
	if reading != nil {
		counted := progressbar.NewReader(in, reading)
		r = &counted
		opts.Progress = func(n int) {
			if writing == nil {
				reading.Finish()
				writing = m.progressBar(-1, "writing", "records")
			}
			writing.Set(n)
		}
	}
	sum, err := transfer.Import(ctx, st, id, r, opts)
	for _, bar := range []*progressbar.ProgressBar{reading, writing} {
		if bar != nil {
			bar.Finish()
		}
	}
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	for _, le := range sum.Skipped {
		fmt.Fprintf(m.Stderr, "skipped %s\n", le)
	}
	fmt.Fprintf(m.Stderr, "imported %d users, %d groups, %d contacts, %d managers, %d sponsors; skipped %d lines\n",
		sum.Users, sum.Groups, sum.Contacts, sum.Managers, sum.Sponsors, len(sum.Skipped))
	return nil
}

// openTenant opens the store and checks the tenant (default: the database's default tenant) exists: a
// missing one would export as empty, and an import into it would fail only after reading the whole file.
func openTenant(ctx context.Context, sf *storeFlags, tenant string) (store.Store, string, error) {
	st, def, err := sf.open(ctx)
	if err != nil {
		return nil, "", err
	}
	if tenant == "" {
		tenant = def
	}
	if _, err := st.Tenant(ctx, tenant); err != nil {
		st.Close()
		return nil, "", fmt.Errorf("tenant %s: %w", tenant, err)
	}
	return st, tenant, nil
}

// progressBar returns a bar on stderr when stderr is a terminal, and nil otherwise: redirected to a file or
// read by a CI job, stderr gets only the summary. max -1 shows a count instead of a share; unit "" counts bytes.
func (m *Main) progressBar(max int64, description, unit string) *progressbar.ProgressBar {
	f, ok := m.Stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(f),
		progressbar.OptionSetDescription(description),
		progressbar.OptionShowCount(),
		progressbar.OptionThrottle(100 * time.Millisecond),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionFullWidth(),
		progressbar.OptionClearOnFinish(),
	}
	if unit == "" {
		opts = append(opts, progressbar.OptionShowBytes(true))
	} else {
		opts = append(opts, progressbar.OptionShowIts(), progressbar.OptionSetItsString(unit))
	}
	return progressbar.NewOptions64(max, opts...)
}
