-- Chat storage on SQLite, version 1: the same shape as the PostgreSQL schema. Times are Unix milliseconds.
CREATE TABLE tenants (
    tenant_id  TEXT    NOT NULL PRIMARY KEY,
    created_at INTEGER NOT NULL
);

CREATE TABLE contacts (
    tenant_id    TEXT    NOT NULL,
    id           INTEGER NOT NULL,
    display_name TEXT,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;

CREATE TABLE channel_identities (
    tenant_id        TEXT    NOT NULL,
    channel_id       TEXT    NOT NULL,
    platform_user_id TEXT    NOT NULL,
    contact_id       INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, channel_id, platform_user_id)
) WITHOUT ROWID;
CREATE INDEX channel_identities_by_contact ON channel_identities (tenant_id, contact_id, channel_id);

CREATE TABLE conversations (
    tenant_id   TEXT    NOT NULL,
    id          INTEGER NOT NULL,
    channel_id  TEXT    NOT NULL,
    contact_id  INTEGER NOT NULL,
    status      INTEGER NOT NULL DEFAULT 0,
    assignee_id TEXT,
    team_id     TEXT,
    last_seq    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, contact_id, channel_id)
) WITHOUT ROWID;
CREATE INDEX conversations_by_status ON conversations (tenant_id, status, updated_at DESC);
CREATE INDEX conversations_by_assignee ON conversations (tenant_id, assignee_id, updated_at DESC) WHERE assignee_id IS NOT NULL;

CREATE TABLE messages (
    tenant_id           TEXT    NOT NULL,
    conversation_id     INTEGER NOT NULL,
    seq                 INTEGER NOT NULL,
    id                  INTEGER NOT NULL,
    channel_id          TEXT    NOT NULL,
    direction           INTEGER NOT NULL,
    sender_kind         INTEGER NOT NULL,
    sender_id           TEXT    NOT NULL,
    sender_name         TEXT,
    kind                INTEGER NOT NULL,
    content             TEXT    NOT NULL,
    client_message_id   TEXT,
    platform_message_id TEXT,
    metadata            TEXT,
    created_at          INTEGER NOT NULL,
    platform_timestamp  INTEGER,
    PRIMARY KEY (tenant_id, conversation_id, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX messages_by_id ON messages (tenant_id, id);
CREATE UNIQUE INDEX messages_by_client_id ON messages (tenant_id, conversation_id, client_message_id) WHERE client_message_id IS NOT NULL;
CREATE UNIQUE INDEX messages_by_platform_id ON messages (tenant_id, channel_id, platform_message_id) WHERE platform_message_id IS NOT NULL;

CREATE TABLE outbox (
    tenant_id       TEXT    NOT NULL,
    message_id      INTEGER NOT NULL,
    channel_id      TEXT    NOT NULL,
    status          INTEGER NOT NULL DEFAULT 0,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, message_id)
) WITHOUT ROWID;

CREATE TABLE worker_leases (
    tenant_id  TEXT    NOT NULL DEFAULT '*',
    worker_id  INTEGER NOT NULL CHECK (worker_id BETWEEN 0 AND 1023),
    node_name  TEXT    NOT NULL,
    token      TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, worker_id)
) WITHOUT ROWID;
