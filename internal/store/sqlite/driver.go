package sqlite

import (
	"database/sql"
	"strconv"

	"github.com/mattn/go-sqlite3"
)

// readerDriver is the driver of the read pool: SQLite with the database file memory-mapped. A read then
// takes pages straight from the operating system's page cache, shared by every connection, instead of
// copying each into the connection's own cache with a read system call; that was about a quarter of the
// CPU a primary-key lookup cost. The driver's DSN has no parameter for mmap_size, hence a connect hook.
const readerDriver = "sqlite3-orgraph-reader"

// readerMmapBytes caps the mapping. Mapped pages a process has touched count in its resident size, so the
// cap keeps a server on a multi-gigabyte file within its memory budget; pages past it are read as before.
const readerMmapBytes = 1 << 30

func init() {
	sql.Register(readerDriver, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		_, err := c.Exec("PRAGMA mmap_size = "+strconv.Itoa(readerMmapBytes), nil)
		return err
	}})
}
