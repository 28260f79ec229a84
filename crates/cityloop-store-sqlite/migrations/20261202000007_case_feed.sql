-- The command centre's live feed tails the event log in the order events were written, and looks
-- for open cases whose clock crosses into warning or overdue between two passes.
--
-- No new column for the event order: `case_events` is an append-only rowid table written by one
-- writer, so its rowid already grows with every insert and is indexed (it is the table's key). A
-- `VACUUM` may renumber rowids but keeps their order; the feed starts from the newest row anyway.

-- Sparse (closed cases and cases without a step clock have none): partial indexes keep intake cheap.
CREATE INDEX cases_warn_at ON cases(warn_at) WHERE warn_at IS NOT NULL;
CREATE INDEX cases_due_at ON cases(due_at) WHERE due_at IS NOT NULL;
