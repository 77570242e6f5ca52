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
	-- " prop:token ..." for $search, written with the object (package sqlquery): SQL cannot tokenize.
	search_tokens TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (tenant_id, id)
);

-- Partial indexes leave out the rows that have no value: groups and contacts have no UPN, and the top of
-- every chain and most contacts and groups have no manager.
CREATE UNIQUE INDEX objects_upn ON objects (tenant_id, upn_key) WHERE upn_key IS NOT NULL;
CREATE INDEX objects_manager ON objects (tenant_id, manager_id, id) WHERE manager_id IS NOT NULL;
CREATE INDEX objects_kind ON objects (tenant_id, kind, id);

-- The sort keys of the properties Graph sorts by, after tenant and kind, so that a sorted page of one kind is
-- an index range from the cursor on, and startsWith on displayName a range of the key. Each expression must
-- be exactly sqlquery.Postgres.SortKey's, or PostgreSQL does not see that the index serves the query.
CREATE INDEX objects_display_name ON objects (tenant_id, kind, (coalesce(lower((props->>'displayName')), '') COLLATE "C"), id);
CREATE INDEX objects_upn_order ON objects (tenant_id, kind, (coalesce(lower((props->>'userPrincipalName')), '') COLLATE "C"), id);
CREATE INDEX objects_created ON objects (tenant_id, kind, (coalesce((props->>'createdDateTime'), '') COLLATE "C"), id);

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

-- What the token endpoint authenticates: apps with hashed secrets, users' password hashes, and the directory
-- roles some delegated writes need. None of it is a Graph property, so it lives beside objects, not in props.
CREATE TABLE apps (
	tenant_id   TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	client_id   TEXT COLLATE "C" NOT NULL,
	name        TEXT NOT NULL,
	secret_hash BYTEA, -- NULL for a public client
	roles       TEXT[] NOT NULL,
	scopes      TEXT[] NOT NULL,
	created_at  TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (tenant_id, client_id)
);

CREATE TABLE credentials (
	tenant_id     TEXT COLLATE "C" NOT NULL,
	user_id       TEXT COLLATE "C" NOT NULL,
	password_hash BYTEA NOT NULL,
	PRIMARY KEY (tenant_id, user_id),
	FOREIGN KEY (tenant_id, user_id) REFERENCES objects (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE directory_roles (
	tenant_id TEXT COLLATE "C" NOT NULL,
	user_id   TEXT COLLATE "C" NOT NULL,
	role      TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (tenant_id, user_id, role),
	FOREIGN KEY (tenant_id, user_id) REFERENCES objects (tenant_id, id) ON DELETE CASCADE
);
