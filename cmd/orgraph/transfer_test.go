package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orgraph/orgraph/internal/demo"
	"github.com/orgraph/orgraph/internal/directory"
)

func TestExportImport(t *testing.T) {
	ctx := context.Background()
	run := func(args ...string) (stdout, stderr string, err error) {
		var out, errOut bytes.Buffer
		err = (&Main{Stdout: &out, Stderr: &errOut}).Run(ctx, args)
		return out.String(), errOut.String(), err
	}

	src := t.TempDir()
	sf := storeFlags{data: src, sync: "normal"}
	st, tenant, err := sf.open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := demo.Load(ctx, directory.NewService(st), tenant); err != nil {
		t.Fatal(err)
	}
	st.Close()

	first, stderr, err := run("export", "--data", src)
	if err != nil {
		t.Fatal(err, stderr)
	}
	if !strings.HasPrefix(first, `{"orgraph":1,"kind":"header"}`+"\n") || !strings.HasPrefix(stderr, "exported ") {
		t.Errorf("export wrote %.60q, %q", first, stderr)
	}
	file := filepath.Join(t.TempDir(), "dir.jsonl")
	if err := os.WriteFile(file, []byte(first), 0o600); err != nil {
		t.Fatal(err)
	}

	dst := t.TempDir()
	_, stderr, err = run("import", "--data", dst, file)
	if err != nil {
		t.Fatal(err, stderr)
	}
	if !strings.HasPrefix(stderr, "imported ") || !strings.HasSuffix(stderr, "; skipped 0 lines\n") {
		t.Errorf("import summary %q", stderr)
	}

	again := filepath.Join(dst, "again.jsonl")
	if _, stderr, err := run("export", "--data", dst, "--out", again); err != nil {
		t.Fatal(err, stderr)
	}
	second, err := os.ReadFile(again)
	if err != nil {
		t.Fatal(err)
	}
	if string(second) != first {
		t.Errorf("the export of the import differs from the first export")
	}

	// Importing the same file again clashes on every id: nothing is imported, and the error names a line.
	if _, _, err := run("import", "--data", dst, file); err == nil || !strings.HasPrefix(err.Error(), "import: line 2: id ") {
		t.Errorf("second import: %v", err)
	}
	_, stderr, err = run("import", "--data", dst, "--skip-bad", file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stderr, "skipped line 2: id ") || !strings.Contains(stderr, "imported 0 users") {
		t.Errorf("second import with --skip-bad: %.200q", stderr)
	}

	if _, _, err := run("export", "--data", dst, "--tenant", "no-such-tenant"); err == nil {
		t.Error("export of an unknown tenant succeeded")
	}
	if _, _, err := run("import", "--data", dst); err == nil {
		t.Error("import without a file succeeded")
	}
}
