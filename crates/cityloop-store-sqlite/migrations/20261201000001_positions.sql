-- The last known position of each field inspector (城管通 sends it while the page is open), for the
-- command centre's map. One row per user: the history of positions is not kept.
CREATE TABLE user_positions (
    user_id    INTEGER PRIMARY KEY,
    lon        REAL NOT NULL,
    lat        REAL NOT NULL,
    accuracy_m REAL,
    at         TEXT NOT NULL
);
CREATE INDEX user_positions_at ON user_positions(at);
