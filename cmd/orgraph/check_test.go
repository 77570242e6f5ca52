package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orgraph/orgraph/internal/directory"
	"github.com/orgraph/orgraph/internal/store"
	"github.com/orgraph/orgraph/internal/store/sqlite"
)

// TestCheckCommand runs `orgraph check` on a whole directory, then on one with a manager cycle written behind
// the Service's back: the first passes, the second prints the cycle and fails.
func TestCheckCommand(t *testing.T) {
	dir := t.TempDir()
	run := func(args ...string) (string, string, error) {
		var out, errs syncBuffer
		err := (&Main{Stdout: &out, Stderr: &errs}).Run(context.Background(), args)
		return out.String(), errs.String(), err
	}
	if _, _, err := run("check", "--data", dir); err == nil || !strings.Contains(err.Error(), "no orgraph database") {
		t.Errorf("check of an empty folder: %v", err)
	}
	runCLI(t, "token", "--data", dir) // makes the database
	if out, errs, err := run("check", "--data", dir, "--all"); err != nil || out != "" || !strings.Contains(errs, "0 problems") {
		t.Fatalf("check of a whole directory: %v\n%s%s", err, out, errs)
	}
	for _, args := range [][]string{{"--tenant", "nope"}, {"--tenant", "x", "--all"}, {"extra"}} {
		if _, _, err := run(append([]string{"check", "--data", dir}, args...)...); err == nil {
			t.Errorf("check %v succeeded", args)
		}
	}

	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, dbFile), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tenant, err := store.Bootstrap(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	a, b := "00000000-0000-4000-8000-00000000000a", "00000000-0000-4000-8000-00000000000b"
	err = st.Update(ctx, tenant, func(tx directory.Tx) error {
		for _, id := range []string{a, b} {
			if err := tx.Insert(&directory.Object{ID: id, Kind: directory.KindUser, Props: map[string]any{"userPrincipalName": id + "@example.com"}}); err != nil {
				return err
			}
		}
		if err := tx.SetManager(a, b); err != nil {
			return err
		}
		return tx.SetManager(b, a)
	})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := run("check", "--data", dir)
	if err == nil || !strings.Contains(err.Error(), "1 problem") || !strings.Contains(out, "tenant "+tenant+": manager cycle: "+a+" → "+b+" → "+a) {
		t.Errorf("check of a directory with a cycle: %v\n%s", err, out)
	}
}
