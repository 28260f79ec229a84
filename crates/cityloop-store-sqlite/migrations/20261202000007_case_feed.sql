-- The command centre's live feed tails the event log in the order events were written, and looks
-- for open cases whose clock crosses into warning or overdue between two passes.
--
-- `seq` is the write order of events. Here it is the rowid (`INTEGER PRIMARY KEY`): with one
-- writer and no deletes (append-only) each insert takes the next number, and unlike an implicit
-- rowid it survives VACUUM. SQLite cannot add such a column to a table, so the table is rebuilt,
-- keeping the existing rows in their write order.
CREATE TABLE case_events_seq (
    seq              INTEGER PRIMARY KEY,
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
    UNIQUE (case_id, version)
);
INSERT INTO case_events_seq (seq, case_id, version, kind, actor_id, actor_role, actor_department, at,
                             from_step, to_step, note, body)
    SELECT rowid, case_id, version, kind, actor_id, actor_role, actor_department, at, from_step, to_step,
           note, body
    FROM case_events ORDER BY rowid;
-- Dropping the table drops its indexes and triggers (the implicit delete fires no triggers).
DROP TABLE case_events;
ALTER TABLE case_events_seq RENAME TO case_events;
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

-- Sparse (closed cases and cases without a step clock have none): partial indexes keep intake cheap.
CREATE INDEX cases_warn_at ON cases(warn_at) WHERE warn_at IS NOT NULL;
CREATE INDEX cases_due_at ON cases(due_at) WHERE due_at IS NOT NULL;
