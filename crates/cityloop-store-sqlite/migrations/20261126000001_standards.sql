-- Standards as data: the taxonomy, versioned rule sets and the working calendar.

CREATE TABLE classes (
    kind          TEXT NOT NULL CHECK (kind IN ('component', 'event')),
    code          TEXT NOT NULL,
    major_code    TEXT NOT NULL,
    major_name    TEXT NOT NULL,
    name          TEXT NOT NULL,
    major_name_en TEXT NOT NULL,
    name_en       TEXT NOT NULL,
    confidence    TEXT NOT NULL,
    notes         TEXT NOT NULL,
    builtin       INTEGER NOT NULL,
    enabled       INTEGER NOT NULL,
    updated_at    TEXT NOT NULL,
    version       INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (kind, code)
);

CREATE TABLE rule_sets (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    number         INTEGER NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('draft', 'published')),
    effective_from TEXT,
    content        TEXT NOT NULL,
    based_on       INTEGER REFERENCES rule_sets(id),
    created_at     TEXT NOT NULL,
    created_by     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    published_at   TEXT,
    published_by   TEXT,
    version        INTEGER NOT NULL DEFAULT 1,
    CHECK (status = 'draft' OR effective_from IS NOT NULL)
);

-- Published rule sets never change: cases and evaluations refer to them.
CREATE TRIGGER rule_sets_published_immutable BEFORE UPDATE ON rule_sets
WHEN OLD.status = 'published'
BEGIN
    SELECT RAISE(ABORT, 'a published rule set is immutable');
END;
CREATE TRIGGER rule_sets_published_kept BEFORE DELETE ON rule_sets
WHEN OLD.status = 'published'
BEGIN
    SELECT RAISE(ABORT, 'a published rule set is immutable');
END;

CREATE TABLE calendar_days (
    date       TEXT PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('holiday', 'workday')),
    festival   TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
