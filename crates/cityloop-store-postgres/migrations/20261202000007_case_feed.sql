-- The command centre's live feed tails the event log in the order events were written, and looks
-- for open cases whose clock crosses into warning or overdue between two passes.
--
-- `seq` is drawn from a sequence at insert time. Transactions commit out of order, so a reader may
-- see seq 12 before seq 11 becomes visible; the reader re-reads a short window behind its cursor
-- (see the app's live feed) rather than trusting `seq > cursor` alone.
ALTER TABLE case_events ADD COLUMN seq BIGINT GENERATED ALWAYS AS IDENTITY;
CREATE UNIQUE INDEX case_events_seq ON case_events(seq);

-- Sparse (closed cases and cases without a step clock have none): partial indexes keep intake cheap.
CREATE INDEX cases_warn_at ON cases(warn_at) WHERE warn_at IS NOT NULL;
CREATE INDEX cases_due_at ON cases(due_at) WHERE due_at IS NOT NULL;
