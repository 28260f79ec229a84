-- Evaluation counters per China day and evaluated object (inspector, post, department, sub-unit,
-- street, community, grid), maintained in the transaction of every case transition so that any
-- period's league table is a sum of day rows. `counters` is a JSON object {counter code: count}.
CREATE TABLE eval_rollups (
    day         TEXT NOT NULL,
    object_kind TEXT NOT NULL,
    object_id   TEXT NOT NULL,
    counters    TEXT NOT NULL,
    PRIMARY KEY (day, object_kind, object_id)
);
