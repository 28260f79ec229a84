-- Base data: unit grids, responsibility grids, components (with their history) and standard addresses.
-- Geometry is GeoJSON in CGCS2000/WGS84 longitude/latitude, with a bounding box for range filters;
-- point-in-polygon and nearest-neighbour queries run on the in-memory spatial index.

CREATE TABLE grids (
    code           TEXT PRIMARY KEY,
    community_code TEXT NOT NULL REFERENCES areas(code),
    name           TEXT,
    area_m2        REAL NOT NULL,
    geometry       TEXT NOT NULL,
    min_lon        REAL NOT NULL,
    min_lat        REAL NOT NULL,
    max_lon        REAL NOT NULL,
    max_lat        REAL NOT NULL,
    raw            TEXT,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    version        INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX grids_community ON grids(community_code);
CREATE INDEX grids_bbox ON grids(min_lon, max_lon);

CREATE TABLE responsibility_grids (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    street_code TEXT NOT NULL REFERENCES areas(code),
    updated_at  TEXT NOT NULL
);

CREATE TABLE responsibility_grid_members (
    responsibility_code TEXT NOT NULL REFERENCES responsibility_grids(code),
    grid_code           TEXT NOT NULL REFERENCES grids(code),
    PRIMARY KEY (responsibility_code, grid_code)
);
CREATE INDEX responsibility_grid_members_grid ON responsibility_grid_members(grid_code);

CREATE TABLE responsibility_grid_inspectors (
    responsibility_code TEXT NOT NULL REFERENCES responsibility_grids(code),
    user_id             INTEGER NOT NULL REFERENCES users(id),
    PRIMARY KEY (responsibility_code, user_id)
);

CREATE TABLE components (
    id              TEXT PRIMARY KEY,
    class_code      TEXT NOT NULL,
    name            TEXT NOT NULL,
    grid_code       TEXT REFERENCES grids(code),
    state           TEXT NOT NULL CHECK (state IN ('intact', 'damaged', 'missing', 'occupied', 'abandoned')),
    dept_supervisor TEXT,
    dept_owner      TEXT,
    dept_maintainer TEXT,
    lon             REAL NOT NULL,
    lat             REAL NOT NULL,
    geometry        TEXT,
    raw             TEXT,
    initial_date    TEXT,
    change_date     TEXT,
    data_source     TEXT,
    note            TEXT,
    attributes      TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    version         INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX components_grid ON components(grid_code);
CREATE INDEX components_class ON components(class_code);

-- Every change of a component, never overwritten.
CREATE TABLE component_history (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    component_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    at           TEXT NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    before_state TEXT,
    after_state  TEXT NOT NULL
);
CREATE INDEX component_history_component ON component_history(component_id, version);

CREATE TABLE addresses (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    text           TEXT NOT NULL,
    normalized     TEXT NOT NULL,
    road           TEXT NOT NULL,
    number         INTEGER,
    lon            REAL NOT NULL,
    lat            REAL NOT NULL,
    community_code TEXT,
    grid_code      TEXT,
    source         TEXT NOT NULL,
    created_at     TEXT NOT NULL
);
CREATE UNIQUE INDEX addresses_normalized ON addresses(normalized);
