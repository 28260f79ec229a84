-- Published (frozen) evaluation results: immutable once written, stamped with the scheme and the
-- rule sets they were computed under, so later data changes never alter what was announced.
CREATE TABLE eval_publications (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    period_from  TEXT NOT NULL,
    period_to    TEXT NOT NULL,
    scheme       TEXT NOT NULL,
    rule_sets    TEXT NOT NULL,
    results      TEXT NOT NULL,
    note         TEXT NOT NULL,
    published_by INTEGER,
    published_at TEXT NOT NULL
);
CREATE INDEX eval_publications_period ON eval_publications(period_from, period_to);
CREATE TRIGGER eval_publications_no_update BEFORE UPDATE ON eval_publications
BEGIN
    SELECT RAISE(ABORT, 'eval_publications is append-only');
END;
CREATE TRIGGER eval_publications_no_delete BEFORE DELETE ON eval_publications
BEGIN
    SELECT RAISE(ABORT, 'eval_publications is append-only');
END;
