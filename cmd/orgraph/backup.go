package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/orgraph/orgraph/internal/store/sqlite"
)

// errPostgresBackup: orgraph leaves PostgreSQL's backups to PostgreSQL's tools. A transfer export of each
// tenant would not be a backup: it leaves out tenants' apps, signing keys, passwords and roles.
var errPostgresBackup = errors.New("on PostgreSQL use pg_dump (a logical backup) or pg_basebackup with WAL archiving " +
	"(point-in-time recovery); orgraph export --tenant ID copies one tenant's directory")

// backup: orgraph backup [--data DIR] [--force] FILE. It copies the whole embedded database, consistently,
// while servers keep serving writes.
func (m *Main) backup(ctx context.Context, args []string) error {
	fs := m.newFlags("backup")
	var sf storeFlags
	sf.register(fs)
	force := fs.Bool("force", false, "replace FILE if it exists")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("backup: want one FILE to write")
	}
	file := pos[0]
	if sf.usesPostgres() {
		return fmt.Errorf("backup: %w", errPostgresBackup)
	}
	if err := sf.requireDatabase(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if _, err := os.Stat(file); err == nil && !*force {
		return fmt.Errorf("backup: %s exists; --force replaces it", file)
	}
	st, _, err := sf.open(ctx)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer st.Close()
	start := time.Now()
	if err := st.(*sqlite.Store).Backup(ctx, file); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	fi, err := os.Stat(file)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	fmt.Fprintf(m.Stderr, "backed up %s to %s: %d bytes in %s\n", sf.data, file, fi.Size(), time.Since(start).Round(time.Millisecond))
	return nil
}

// restore: orgraph restore [--data DIR] [--force] FILE. It makes FILE, a backup, the database of DIR.
func (m *Main) restore(ctx context.Context, args []string) error {
	fs := m.newFlags("restore")
	var sf storeFlags
	sf.register(fs)
	force := fs.Bool("force", false, "replace the database DIR holds")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("restore: want one backup FILE")
	}
	if sf.usesPostgres() {
		return fmt.Errorf("restore: %w", errPostgresBackup)
	}
	unlock, err := lockData(sf.data, true)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer unlock()
	path := filepath.Join(sf.data, dbFile)
	if _, err := os.Stat(path); err == nil && !*force {
		return fmt.Errorf("restore: %s holds a database; --force replaces it", sf.data)
	}
	if err := sqlite.Restore(ctx, pos[0], path); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	fmt.Fprintf(m.Stderr, "restored %s into %s; orgraph check --all --data %s verifies the directories\n", pos[0], sf.data, sf.data)
	return nil
}
