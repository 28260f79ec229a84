-- The closed loop: cases with their event log, serial numbers, intake idempotency keys, links between
-- cases, evidence blobs and their attachments, and notifications (transactional outbox, in-app
-- messages).
--
-- `cases.state` is the serialized state-machine `Case` and the source of truth; the other columns are
-- derived from it (and from intake and the step clock) only so that queues and searches can filter
-- and sort in SQL. `case_events` is append-only: the state must always equal the replay of its events.

CREATE TABLE cases (
    id               TEXT PRIMARY KEY,
    version          INTEGER NOT NULL CHECK (version >= 1),
    source           TEXT NOT NULL,
    step             TEXT NOT NULL CHECK (step IN ('verifying', 'accepting', 'filing', 'dispatching', 'disposing',
                                                   'return_review', 'checking', 'closing', 'closed')),
    outcome          TEXT CHECK (outcome IN ('resolved', 'declined', 'rejected', 'voided', 'merged')),
    reported_class   TEXT,
    class            TEXT,
    condition        TEXT,
    rule_set_id      INTEGER,
    description      TEXT NOT NULL,
    address          TEXT,
    lon              REAL NOT NULL,
    lat              REAL NOT NULL,
    grid_code        TEXT,
    community_code   TEXT,
    street_code      TEXT,
    district_code    TEXT,
    component_id     TEXT,
    department       TEXT,
    sub_unit         TEXT,
    -- `|A|B|` (or '' when none): department A assists when `|A|` occurs in it.
    assisting        TEXT NOT NULL DEFAULT '',
    reported_by      INTEGER NOT NULL,
    contact_name     TEXT,
    contact_phone    TEXT,
    external_ref     TEXT,
    device_id        TEXT,
    confidence       REAL,
    reported_at      TEXT NOT NULL,
    step_since       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    filed_at         TEXT,
    closed_at        TEXT,
    due_at           TEXT,
    warn_at          TEXT,
    urgency          TEXT NOT NULL,
    next_timer_at    TEXT,
    disposal_overdue INTEGER NOT NULL DEFAULT 0,
    pending          TEXT CHECK (pending IN ('extension', 'park')),
    hold             TEXT CHECK (hold IN ('parked', 'deferred')),
    supervised       INTEGER NOT NULL DEFAULT 0,
    merged_into      TEXT,
    -- Lower-cased case number, description, address and external reference, for substring search.
    search_text      TEXT NOT NULL,
    state            TEXT NOT NULL,
    CHECK ((step = 'closed') = (outcome IS NOT NULL))
);
-- Sparse columns get partial indexes: intake inserts (the hot path) then skip them, and a comparison
-- on the column implies IS NOT NULL, so the planner still uses them.
CREATE INDEX cases_step_due ON cases(step, due_at);
CREATE INDEX cases_reported_at ON cases(reported_at);
CREATE INDEX cases_closed_at ON cases(closed_at) WHERE closed_at IS NOT NULL;
CREATE INDEX cases_department ON cases(department) WHERE department IS NOT NULL;
CREATE INDEX cases_sub_unit ON cases(sub_unit) WHERE sub_unit IS NOT NULL;
CREATE INDEX cases_grid ON cases(grid_code);
CREATE INDEX cases_next_timer ON cases(next_timer_at) WHERE next_timer_at IS NOT NULL;
CREATE INDEX cases_position ON cases(lat, lon);
CREATE INDEX cases_external_ref ON cases(external_ref) WHERE external_ref IS NOT NULL;
CREATE INDEX cases_reported_by ON cases(reported_by);

CREATE TABLE case_events (
    case_id          TEXT NOT NULL REFERENCES cases(id),
    version          INTEGER NOT NULL,
    kind             TEXT NOT NULL,
    actor_id         INTEGER NOT NULL,
    actor_role       TEXT NOT NULL,
    actor_department TEXT,
    at               TEXT NOT NULL,
    from_step        TEXT NOT NULL,
    to_step          TEXT NOT NULL,
    note             TEXT NOT NULL,
    body             TEXT NOT NULL,
    PRIMARY KEY (case_id, version)
);
-- Also the keyset of `case_events_since`.
CREATE INDEX case_events_at ON case_events(at, case_id, version);

CREATE TRIGGER case_events_no_update BEFORE UPDATE ON case_events
BEGIN
    SELECT RAISE(ABORT, 'case_events is append-only');
END;
CREATE TRIGGER case_events_no_delete BEFORE DELETE ON case_events
BEGIN
    SELECT RAISE(ABORT, 'case_events is append-only');
END;

-- Next free serial number of case numbers per China date (`YYYYMMDD`) and district.
CREATE TABLE case_serials (
    day      TEXT NOT NULL,
    district TEXT NOT NULL,
    next     INTEGER NOT NULL,
    PRIMARY KEY (day, district)
) WITHOUT ROWID;

-- Small rows looked up by their key: stored in the key's b-tree (no separate rowid tree).
CREATE TABLE idempotency_keys (
    owner        INTEGER NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    case_id      TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (owner, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_created_at ON idempotency_keys(created_at);

CREATE TABLE case_links (
    from_case  TEXT NOT NULL REFERENCES cases(id),
    to_case    TEXT NOT NULL REFERENCES cases(id),
    kind       TEXT NOT NULL,
    created_by INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (from_case, kind)
) WITHOUT ROWID;
CREATE INDEX case_links_to ON case_links(to_case);

-- Metadata of content-addressed evidence; the bytes live in the blob store.
CREATE TABLE blobs (
    hash        TEXT PRIMARY KEY,
    size        INTEGER NOT NULL,
    media_type  TEXT NOT NULL,
    exif        TEXT,
    dhash       INTEGER,
    uploaded_by INTEGER,
    created_at  TEXT NOT NULL
);
CREATE INDEX blobs_created_at ON blobs(created_at);

CREATE TABLE case_attachments (
    case_id       TEXT NOT NULL REFERENCES cases(id),
    hash          TEXT NOT NULL REFERENCES blobs(hash),
    stage         TEXT NOT NULL,
    event_version INTEGER NOT NULL,
    flags         TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (case_id, hash, stage, event_version)
) WITHOUT ROWID;
CREATE INDEX case_attachments_hash ON case_attachments(hash);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    channel         TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    dedup_key       TEXT NOT NULL,
    case_id         TEXT,
    kind            TEXT NOT NULL,
    payload         TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    delivered_at    TEXT,
    last_error      TEXT,
    UNIQUE (channel, recipient, dedup_key)
);
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE delivered_at IS NULL;

CREATE TABLE messages (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    recipient  TEXT NOT NULL,
    dedup_key  TEXT NOT NULL,
    case_id    TEXT,
    kind       TEXT NOT NULL,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    read_at    TEXT,
    UNIQUE (recipient, dedup_key)
);
CREATE INDEX messages_recipient ON messages(recipient, id);
