-- Public participation: partner keys (Open311 clients, 12345 hotline platforms), citizen-facing
-- facts of publicly reported cases, posted updates, follow-up ratings (回访 / 满意率), "me too"
-- supporters, the moderation queue and 12345 work orders.

CREATE TABLE partner_keys (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL,
    -- SHA-256 of the key; the key itself is shown once at creation.
    key_hash      TEXT NOT NULL UNIQUE,
    key_prefix    TEXT NOT NULL,
    -- Space-separated: open311 (POST requests and updates), hotline (the 12345 exchange).
    scopes        TEXT NOT NULL,
    rate_per_hour INTEGER NOT NULL CHECK (rate_per_hour >= 1),
    -- Where progress and results are pushed (12345 platforms).
    webhook_url   TEXT,
    created_by    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    revoked_at    TEXT,
    last_used_at  TEXT
);

CREATE TABLE public_requests (
    case_id       TEXT PRIMARY KEY REFERENCES cases(id),
    -- open311, web or hotline.
    channel       TEXT NOT NULL,
    partner_id    INTEGER REFERENCES partner_keys(id),
    media_url     TEXT,
    account_id    TEXT,
    -- SHA-256 of the reporter's follow-up secret.
    followup_hash TEXT,
    created_at    TEXT NOT NULL
);

CREATE TABLE public_updates (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id     TEXT NOT NULL REFERENCES cases(id),
    partner_id  INTEGER REFERENCES partner_keys(id),
    -- The client's own update id; a repeated post with it is the same update.
    external_id TEXT,
    status      TEXT NOT NULL,
    description TEXT NOT NULL,
    media_url   TEXT,
    at          TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (partner_id, external_id)
);
CREATE INDEX public_updates_case ON public_updates(case_id);
CREATE INDEX public_updates_at ON public_updates(at);

-- One rating per case and closing round (a reopened case can be rated again). Department and
-- area are copied in so satisfaction per department or area is one grouped count.
CREATE TABLE case_followups (
    case_id        TEXT NOT NULL REFERENCES cases(id),
    round          INTEGER NOT NULL,
    channel        TEXT NOT NULL,
    fixed          INTEGER NOT NULL,
    rating         INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    satisfied      INTEGER NOT NULL,
    comment        TEXT NOT NULL,
    department     TEXT,
    grid_code      TEXT,
    community_code TEXT,
    street_code    TEXT,
    district_code  TEXT,
    closed_at      TEXT,
    rated_at       TEXT NOT NULL,
    PRIMARY KEY (case_id, round)
) WITHOUT ROWID;
CREATE INDEX case_followups_rated_at ON case_followups(rated_at);

CREATE TABLE case_supporters (
    case_id    TEXT NOT NULL REFERENCES cases(id),
    -- Keyed hash of the supporter's phone or address: one voice each, nothing personal kept.
    who_hash   TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (case_id, who_hash)
) WITHOUT ROWID;

CREATE TABLE moderation_queue (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Given to the submitter (Open311 token); names the report until it becomes a case.
    token         TEXT NOT NULL UNIQUE,
    channel       TEXT NOT NULL,
    partner_id    INTEGER REFERENCES partner_keys(id),
    reason        TEXT NOT NULL,
    -- The report as received (JSON).
    payload       TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    case_id       TEXT REFERENCES cases(id),
    decided_by    TEXT,
    decision_note TEXT,
    created_at    TEXT NOT NULL,
    decided_at    TEXT
);
CREATE INDEX moderation_queue_status ON moderation_queue(status, id);

CREATE TABLE hotline_orders (
    partner_id     INTEGER NOT NULL REFERENCES partner_keys(id),
    order_id       TEXT NOT NULL,
    case_id        TEXT NOT NULL REFERENCES cases(id),
    request_hash   TEXT NOT NULL,
    hotline_status TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    PRIMARY KEY (partner_id, order_id)
) WITHOUT ROWID;
CREATE INDEX hotline_orders_case ON hotline_orders(case_id);
