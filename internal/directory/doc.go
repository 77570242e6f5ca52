// Package directory is orgraph's domain: users, groups and organisational contacts, the manager,
// directReports and sponsors relationships between them, and the invariants those relationships keep
// (no manager cycles, at most five sponsors, references only to objects of the right kind). It knows
// nothing of HTTP or SQL: the Service runs every rule inside one storage transaction (Tx), so every
// backend gets the same guarantees, and the HTTP layer only translates requests and errors.
package directory
