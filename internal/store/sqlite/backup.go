package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Backup writes a consistent snapshot of the whole database (every tenant, app, signing key and password hash)
// to path while writers carry on. VACUUM INTO reads one snapshot, as any reader does in WAL mode, and writes
// a compact copy; it runs on a connection of its own, because the read pool is query_only, under which SQLite
// refuses it. The copy is made beside path, readable by its owner only, synced and renamed over path, so path
// never holds half a backup.
func (s *Store) Backup(ctx context.Context, path string) error {
	var file string
	if err := s.r.QueryRowContext(ctx, `SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&file); err != nil {
		return failure(ctx, err)
	}
	db, err := sql.Open("sqlite3", dsn(file, url.Values{"_busy_timeout": {strconv.Itoa(int(lockTimeout / time.Millisecond))}}))
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	defer db.Close()
	// VACUUM INTO writes into a file that is missing or empty; an empty one made here has the right mode.
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp.Close()
	defer os.Remove(tmp.Name()) // after the rename there is nothing left to remove
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, tmp.Name()); err != nil {
		return fmt.Errorf("sqlite: backup: %w", failure(ctx, err))
	}
	return commitFile(tmp.Name(), path)
}

// Restore puts a backup made by Backup in place as the database file path, replacing the one there with its
// write-ahead log. The backup is copied beside path first and checked there: it must be an orgraph database
// (SQLite would take an empty or missing file for a new, empty one), opening it migrates it to this version's
// schema (refusing one from a newer orgraph), and SQLite's quick_check must pass, so a damaged or foreign file
// never replaces a working database. No process may have path open: the caller makes sure of that.
func Restore(ctx context.Context, backup, path string) error {
	tmp, err := copyBeside(backup, path)
	if err != nil {
		return err
	}
	defer removeFiles(tmp, tmp+"-wal", tmp+"-shm")
	if err := checkOrgraphFile(ctx, tmp); err != nil {
		return fmt.Errorf("sqlite: restore %s: %w", backup, err)
	}
	st, err := Open(ctx, tmp, Options{})
	if err != nil {
		return fmt.Errorf("sqlite: restore %s: %w", backup, err)
	}
	var result string
	err = st.r.QueryRowContext(ctx, `PRAGMA quick_check`).Scan(&result)
	// Closing the last connection checkpoints the copy's log into it; what a failed checkpoint leaves is
	// only the migration, which the next open makes again.
	err = errors.Join(err, st.Close())
	if err != nil {
		return fmt.Errorf("sqlite: restore %s: %w", backup, err)
	}
	if result != "ok" {
		return fmt.Errorf("sqlite: restore %s: the backup is damaged: %s", backup, result)
	}
	// The old log must go first: left beside the new file, SQLite would replay it into the restored database.
	if err := removeFiles(path+"-wal", path+"-shm"); err != nil {
		return err
	}
	return commitFile(tmp, path)
}

// removeFiles removes the files that exist of names.
func removeFiles(names ...string) error {
	for _, name := range names {
		if err := os.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// checkOrgraphFile reports whether path holds an orgraph database: a schema version set by the migrations and
// the tenants table they make.
func checkOrgraphFile(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite3", dsn(path, url.Values{"mode": {"ro"}}))
	if err != nil {
		return err
	}
	defer db.Close()
	var version, tables int
	err = db.QueryRowContext(ctx, `SELECT (SELECT user_version FROM pragma_user_version),
		(SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'tenants')`).Scan(&version, &tables)
	if err != nil {
		return fmt.Errorf("not an orgraph backup: %w", err)
	}
	if version == 0 || tables == 0 {
		return errors.New("not an orgraph backup: it has no orgraph schema")
	}
	return nil
}

// copyBeside copies src to a new file, readable by its owner only, in the folder of dst, and returns its name.
func copyBeside(src, dst string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.CreateTemp(filepath.Dir(dst), filepath.Base(dst)+".*.tmp")
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(out.Name())
		return "", err
	}
	if err := out.Close(); err != nil {
		os.Remove(out.Name())
		return "", err
	}
	return out.Name(), nil
}

// commitFile syncs tmp, renames it to path and syncs the folder, so that after a power cut path is either
// the old file or the whole new one.
func commitFile(tmp, path string) error {
	f, err := os.OpenFile(tmp, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer dir.Close()
	return dir.Sync()
}
