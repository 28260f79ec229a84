-- The last known position of each field inspector (城管通 sends it while the page is open), for the
-- command centre's map. One row per user: the history of positions is not kept.
CREATE TABLE user_positions (
    user_id    BIGINT PRIMARY KEY,
    lon        DOUBLE PRECISION NOT NULL,
    lat        DOUBLE PRECISION NOT NULL,
    accuracy_m DOUBLE PRECISION,
    at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX user_positions_at ON user_positions(at);
