-- Foundation: settings, organisation, people, login sessions, API tokens, audit log.
-- Timestamps are RFC 3339 text in UTC (sqlx's encoding of DateTime<Utc>), so they sort as text.

CREATE TABLE meta (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE areas (
    code        TEXT PRIMARY KEY,
    parent_code TEXT REFERENCES areas(code),
    level       TEXT NOT NULL CHECK (level IN ('district', 'street', 'community')),
    name        TEXT NOT NULL,
    name_en     TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    version     INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX areas_parent ON areas(parent_code);

CREATE TABLE departments (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    name_en     TEXT,
    parent_id   INTEGER REFERENCES departments(id),
    kind        TEXT NOT NULL CHECK (kind IN ('centre', 'department', 'street_office')),
    phone       TEXT,
    active      INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    version     INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX departments_parent ON departments(parent_id);

CREATE TABLE users (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    username             TEXT NOT NULL UNIQUE,
    display_name         TEXT NOT NULL,
    phone                TEXT,
    department_id        INTEGER REFERENCES departments(id),
    password_hash        TEXT NOT NULL,
    active               INTEGER NOT NULL DEFAULT 1,
    must_change_password INTEGER NOT NULL DEFAULT 0,
    failed_logins        INTEGER NOT NULL DEFAULT 0,
    locked_until         TEXT,
    password_changed_at  TEXT NOT NULL,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    version              INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX users_department ON users(department_id);

CREATE TABLE user_roles (
    user_id INTEGER NOT NULL REFERENCES users(id),
    role    TEXT NOT NULL CHECK (role IN ('inspector', 'acceptor', 'shift_leader', 'dispatcher', 'handler',
                                          'leader', 'sys_admin', 'sec_admin', 'audit_admin')),
    PRIMARY KEY (user_id, role)
);

CREATE TABLE user_areas (
    user_id   INTEGER NOT NULL REFERENCES users(id),
    area_code TEXT NOT NULL REFERENCES areas(code),
    PRIMARY KEY (user_id, area_code)
);

CREATE TABLE login_sessions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash   TEXT NOT NULL UNIQUE,
    user_id      INTEGER NOT NULL REFERENCES users(id),
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    revoked_at   TEXT,
    ip           TEXT,
    user_agent   TEXT
);
CREATE INDEX login_sessions_user ON login_sessions(user_id);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash   TEXT NOT NULL UNIQUE,
    user_id      INTEGER NOT NULL REFERENCES users(id),
    name         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT,
    last_used_at TEXT,
    revoked_at   TEXT
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT NOT NULL,
    actor_id    INTEGER,
    actor_name  TEXT NOT NULL,
    action      TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id   TEXT,
    result      TEXT NOT NULL CHECK (result IN ('ok', 'denied', 'failed')),
    ip          TEXT,
    request_id  TEXT,
    detail      TEXT NOT NULL
);
CREATE INDEX audit_log_actor ON audit_log(actor_id, id);
CREATE INDEX audit_log_at ON audit_log(at);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
