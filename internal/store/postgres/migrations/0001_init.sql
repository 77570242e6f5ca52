-- The SQLite store's schema in PostgreSQL's terms. Every directory row carries its tenant, and every key
-- starts with it, so no lookup can cross tenants. Ids and times are COLLATE "C": keyset paging orders by
-- bytes, as Go and SQLite do, whatever the database's locale, and byte comparison is the cheapest.

CREATE TABLE tenants (
	id         TEXT COLLATE "C" PRIMARY KEY,
	name       TEXT NOT NULL,
	-- UTC with nanoseconds in fixed width, so text order is time order; timestamptz would keep microseconds.
	created_at TEXT COLLATE "C" NOT NULL
);

CREATE TABLE settings (
	name  TEXT COLLATE "C" PRIMARY KEY,
	value TEXT NOT NULL
);

CREATE TABLE signing_keys (
	kid         TEXT COLLATE "C" PRIMARY KEY,
	private_pem BYTEA NOT NULL,
	created_at  TEXT COLLATE "C" NOT NULL
);

-- The foreign key on tenant_id makes a write into an unknown tenant fail, and deleting a tenant deletes its
-- objects. manager_id has no foreign key: SET NULL would null tenant_id too (a column list for SET NULL needs
-- PostgreSQL 15), so Delete clears it.
CREATE TABLE objects (
	tenant_id    TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	id           TEXT COLLATE "C" NOT NULL,
	kind         TEXT NOT NULL CHECK (kind IN ('user', 'group', 'orgContact')),
	manager_id   TEXT COLLATE "C",
	upn_key      TEXT COLLATE "C", -- lower(userPrincipalName) for users, NULL otherwise
	display_name TEXT,
	props        JSONB NOT NULL, -- the Graph properties
	PRIMARY KEY (tenant_id, id)
);

-- Partial indexes leave out the rows that have no value: groups and contacts have no UPN, and the top of
-- every chain and most contacts and groups have no manager.
CREATE UNIQUE INDEX objects_upn ON objects (tenant_id, upn_key) WHERE upn_key IS NOT NULL;
CREATE INDEX objects_manager ON objects (tenant_id, manager_id, id) WHERE manager_id IS NOT NULL;
CREATE INDEX objects_kind ON objects (tenant_id, kind, id);

-- Deleting an object on either side removes the relationship. seq is the insertion order Sponsors returns;
-- an identity is ordered because a tenant's writes run one at a time.
CREATE TABLE sponsors (
	tenant_id  TEXT COLLATE "C" NOT NULL,
	user_id    TEXT COLLATE "C" NOT NULL,
	sponsor_id TEXT COLLATE "C" NOT NULL,
	seq        BIGINT GENERATED ALWAYS AS IDENTITY,
	PRIMARY KEY (tenant_id, user_id, sponsor_id),
	CONSTRAINT sponsors_user_fkey FOREIGN KEY (tenant_id, user_id) REFERENCES objects (tenant_id, id) ON DELETE CASCADE,
	CONSTRAINT sponsors_sponsor_fkey FOREIGN KEY (tenant_id, sponsor_id) REFERENCES objects (tenant_id, id) ON DELETE CASCADE
);

CREATE INDEX sponsors_sponsor ON sponsors (tenant_id, sponsor_id);
