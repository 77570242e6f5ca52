-- Every directory row carries its tenant, and every key starts with it, so no lookup can cross tenants.

CREATE TABLE tenants (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	created_at TEXT NOT NULL -- UTC, fixed width, so text order is time order
);

CREATE TABLE settings (
	name  TEXT PRIMARY KEY,
	value TEXT NOT NULL
);

CREATE TABLE signing_keys (
	kid         TEXT PRIMARY KEY,
	private_pem BLOB NOT NULL,
	created_at  TEXT NOT NULL
);

-- The foreign key on tenant_id makes a write into an unknown tenant fail, and deleting a tenant deletes its
-- objects. manager_id has no foreign key: ON DELETE SET NULL would null tenant_id too, so Delete clears it.
-- Small columns come before props so the chain walk reads manager_id without touching overflow pages.
CREATE TABLE objects (
	tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	id           TEXT NOT NULL,
	kind         TEXT NOT NULL CHECK (kind IN ('user', 'group', 'orgContact')),
	manager_id   TEXT,
	upn_key      TEXT, -- lower(userPrincipalName) for users, NULL otherwise
	display_name TEXT,
	props        TEXT NOT NULL, -- JSON object of the Graph properties
	PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;

CREATE UNIQUE INDEX objects_upn ON objects (tenant_id, upn_key) WHERE upn_key IS NOT NULL;
CREATE INDEX objects_manager ON objects (tenant_id, manager_id, id);
CREATE INDEX objects_kind ON objects (tenant_id, kind, id);

-- Deleting an object on either side removes the relationship (foreign keys with cascade).
CREATE TABLE sponsors (
	tenant_id  TEXT NOT NULL,
	user_id    TEXT NOT NULL,
	sponsor_id TEXT NOT NULL,
	seq        INTEGER NOT NULL, -- insertion order, which Sponsors returns
	PRIMARY KEY (tenant_id, user_id, sponsor_id),
	FOREIGN KEY (tenant_id, user_id) REFERENCES objects (tenant_id, id) ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, sponsor_id) REFERENCES objects (tenant_id, id) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE INDEX sponsors_sponsor ON sponsors (tenant_id, sponsor_id);

-- Without statistics SQLite guesses that tenant_id = ? alone finds about ten rows, and so scans a whole
-- tenant through the primary key rather than use a narrower index (for directReports, for clearing the
-- manager of a deleted object's reports, for the sponsors cascade). These figures describe a large directory
-- (10 tenants of 100,000 objects, 10 reports per manager, a third of the objects of each kind, a few
-- sponsors per user) so the planner picks the narrowest index; a later ANALYZE replaces them with measured ones.
ANALYZE;
DELETE FROM sqlite_stat1;
INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
	('tenants', 'sqlite_autoindex_tenants_1', '10 1'),
	('objects', 'objects', '1000000 100000 1'),
	('objects', 'objects_upn', '400000 40000 1'),
	('objects', 'objects_manager', '1000000 100000 10 1'),
	('objects', 'objects_kind', '1000000 100000 33000 1'),
	('sponsors', 'sponsors', '100000 10000 2 1'),
	('sponsors', 'sponsors_sponsor', '100000 10000 5');
ANALYZE sqlite_schema;
