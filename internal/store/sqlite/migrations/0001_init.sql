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
