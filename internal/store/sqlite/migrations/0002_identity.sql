-- What the token endpoint authenticates: apps with hashed secrets, users' password hashes, and the directory
-- roles some delegated writes need. None of it is a Graph property, so it lives beside objects, not in props.

CREATE TABLE apps (
	tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	client_id   TEXT NOT NULL,
	name        TEXT NOT NULL,
	secret_hash BLOB,
	roles       TEXT NOT NULL, -- JSON array
	scopes      TEXT NOT NULL, -- JSON array
	created_at  TEXT NOT NULL,
	PRIMARY KEY (tenant_id, client_id)
) WITHOUT ROWID;

CREATE TABLE credentials (
	tenant_id     TEXT NOT NULL,
	user_id       TEXT NOT NULL,
	password_hash BLOB NOT NULL,
	PRIMARY KEY (tenant_id, user_id),
	FOREIGN KEY (tenant_id, user_id) REFERENCES objects (tenant_id, id) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE TABLE directory_roles (
	tenant_id TEXT NOT NULL,
	user_id   TEXT NOT NULL,
	role      TEXT NOT NULL,
	PRIMARY KEY (tenant_id, user_id, role),
	FOREIGN KEY (tenant_id, user_id) REFERENCES objects (tenant_id, id) ON DELETE CASCADE
) WITHOUT ROWID;
