-- Per-city evaluation schemes, versioned like rule sets: a version is a TOML overlay on the
-- national defaults, validated before it is stored; a published version is immutable and applies
-- to periods starting on or after its effective date.
CREATE TABLE eval_schemes (
    version        INTEGER PRIMARY KEY,
    name           TEXT NOT NULL,
    overlay        TEXT NOT NULL,
    content_hash   TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('draft', 'published')),
    effective_from TEXT,
    created_by     INTEGER,
    created_at     TEXT NOT NULL,
    published_by   INTEGER,
    published_at   TEXT
);
CREATE TRIGGER eval_schemes_published_no_update BEFORE UPDATE ON eval_schemes
WHEN OLD.status = 'published'
BEGIN
    SELECT RAISE(ABORT, 'a published evaluation scheme is immutable');
END;
CREATE TRIGGER eval_schemes_published_no_delete BEFORE DELETE ON eval_schemes
WHEN OLD.status = 'published'
BEGIN
    SELECT RAISE(ABORT, 'a published evaluation scheme is immutable');
END;

-- Objections (申诉) of an evaluated object (a department or sub-unit) against the counting of one
-- case. An accepted objection removes the named counters of that object earned by that case, in
-- every rollup and recomputation; a decision is final.
CREATE TABLE eval_objections (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id       TEXT NOT NULL,
    object_kind   TEXT NOT NULL,
    object_id     TEXT NOT NULL,
    counters      TEXT NOT NULL,
    reason        TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'rejected')),
    filed_by      INTEGER NOT NULL,
    filed_at      TEXT NOT NULL,
    decided_by    INTEGER,
    decided_at    TEXT,
    decision_note TEXT
);
CREATE INDEX eval_objections_case ON eval_objections(case_id);
CREATE INDEX eval_objections_status ON eval_objections(status, id);
CREATE UNIQUE INDEX eval_objections_one_pending ON eval_objections(case_id, object_kind, object_id)
    WHERE status = 'pending';
CREATE TRIGGER eval_objections_decided_final BEFORE UPDATE ON eval_objections
WHEN OLD.status <> 'pending'
BEGIN
    SELECT RAISE(ABORT, 'a decided objection is final');
END;
CREATE TRIGGER eval_objections_no_delete BEFORE DELETE ON eval_objections
BEGIN
    SELECT RAISE(ABORT, 'objections are never deleted');
END;

-- Month sums of eval_rollups (`month` = YYYY-MM), kept in the same transaction as the day rows so
-- that a month or a year is read as one row per object instead of one per object and day. The
-- application fills it from the day rows once when a database predates it.
CREATE TABLE eval_rollups_month (
    month       TEXT NOT NULL,
    object_kind TEXT NOT NULL,
    object_id   TEXT NOT NULL,
    counters    TEXT NOT NULL,
    PRIMARY KEY (month, object_kind, object_id)
) WITHOUT ROWID;

-- A month's revision changes with every write to a finished (or future) month's rollups, so a
-- server can keep computed league tables of finished periods and know when they went stale. The
-- current month is not tracked: its tables are always computed afresh.
CREATE TABLE eval_rollup_revisions (
    month    TEXT PRIMARY KEY,
    revision TEXT NOT NULL
);
