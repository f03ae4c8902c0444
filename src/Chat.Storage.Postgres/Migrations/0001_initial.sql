-- Chat storage, version 1. Every table carries tenant_id, first in every primary key, so the schema can be
-- distributed by Citus on tenant_id (chat.worker_leases, cluster-wide, uses the tenant '*' and would be a
-- reference table).
CREATE SCHEMA IF NOT EXISTS chat;

CREATE TABLE chat.tenants (
    tenant_id   text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id)
);

CREATE TABLE chat.contacts (
    tenant_id    text        NOT NULL,
    id           bigint      NOT NULL,
    display_name text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE chat.channel_identities (
    tenant_id        text        NOT NULL,
    channel_id       text        NOT NULL,
    platform_user_id text        NOT NULL,
    contact_id       bigint      NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, channel_id, platform_user_id)
);
-- A reply's recipient: the contact's identity on the conversation's channel.
CREATE INDEX channel_identities_by_contact ON chat.channel_identities (tenant_id, contact_id, channel_id);

CREATE TABLE chat.conversations (
    tenant_id   text        NOT NULL,
    id          bigint      NOT NULL,
    channel_id  text        NOT NULL,
    contact_id  bigint      NOT NULL,
    status      smallint    NOT NULL DEFAULT 0,
    assignee_id text,
    team_id     text,
    last_seq    bigint      NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    -- One conversation per contact and channel; it cycles through its statuses and keeps one history.
    UNIQUE (tenant_id, contact_id, channel_id)
) WITH (fillfactor = 50);
-- last_seq and updated_at change with every message: no index covers them, and the pages keep free space, so those
-- updates are HOT (no index writes). Lists sort a tenant's conversations of one status or assignee in memory.
CREATE INDEX conversations_by_status ON chat.conversations (tenant_id, status);
CREATE INDEX conversations_by_assignee ON chat.conversations (tenant_id, assignee_id) WHERE assignee_id IS NOT NULL;

CREATE TABLE chat.messages (
    tenant_id           text        NOT NULL,
    conversation_id     bigint      NOT NULL,
    seq                 bigint      NOT NULL,
    id                  bigint      NOT NULL,
    channel_id          text        NOT NULL,
    direction           smallint    NOT NULL,
    sender_kind         smallint    NOT NULL,
    sender_id           text        NOT NULL,
    sender_name         text,
    kind                smallint    NOT NULL,
    content             text        NOT NULL,
    client_message_id   text,
    platform_message_id text,
    metadata            jsonb       NOT NULL DEFAULT '{}',
    created_at          timestamptz NOT NULL,
    platform_timestamp  timestamptz,
    PRIMARY KEY (tenant_id, conversation_id, seq)
);
CREATE UNIQUE INDEX messages_by_id ON chat.messages (tenant_id, id);
CREATE UNIQUE INDEX messages_by_client_id ON chat.messages (tenant_id, conversation_id, client_message_id) WHERE client_message_id IS NOT NULL;
CREATE UNIQUE INDEX messages_by_platform_id ON chat.messages (tenant_id, channel_id, platform_message_id) WHERE platform_message_id IS NOT NULL;

CREATE TABLE chat.outbox (
    tenant_id       text        NOT NULL,
    message_id      bigint      NOT NULL,
    channel_id      text        NOT NULL,
    status          smallint    NOT NULL DEFAULT 0,
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, message_id)
);
CREATE INDEX outbox_due ON chat.outbox (next_attempt_at) WHERE status IN (0, 1);

CREATE TABLE chat.worker_leases (
    tenant_id  text        NOT NULL DEFAULT '*',
    worker_id  integer     NOT NULL CHECK (worker_id BETWEEN 0 AND 1023),
    node_name  text        NOT NULL,
    token      uuid        NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, worker_id)
);

-- The fast path of an append batch: one statement, one round trip, one transaction. It locks the batch's
-- conversations in one order, the UPDATE reserves their messages' seqs (it sees the newest last_seq, so seqs stay
-- gap-free across concurrent batches), and the messages are inserted with those seqs. A retry of a stored message breaks a unique
-- index, the whole statement rolls back, and the caller runs the batch through chat.append_batch, which looks
-- retries up. Returns (idx, seq) of the stored messages; an idx missing from the result names no conversation.
-- The caller sends, besides the messages, each message's position within its conversation in this batch
-- (p_ordinal, from 1) and the batch's distinct conversations with their message counts (p_conv_*), so the
-- statement needs no grouping or window of its own.
CREATE FUNCTION chat.append_batch_fast(
    p_idx integer[], p_tenant text[], p_conversation bigint[], p_id bigint[], p_channel text[],
    p_direction smallint[], p_sender_kind smallint[], p_sender_id text[], p_sender_name text[],
    p_kind smallint[], p_content text[], p_client_id text[], p_platform_id text[], p_metadata text[],
    p_platform_ts timestamptz[], p_ordinal integer[], p_conv_tenant text[], p_conv_id bigint[], p_conv_n integer[])
RETURNS TABLE (r_idx integer, r_seq bigint, r_created_at timestamptz, r_status smallint)
-- PL/pgSQL, not SQL: a PL/pgSQL function keeps its statement's plan for the session; a SQL function would plan this
-- statement again on every call.
LANGUAGE plpgsql AS $fn$
BEGIN
    RETURN QUERY
    WITH input AS (
        SELECT * FROM unnest(p_idx, p_tenant, p_conversation, p_id, p_channel, p_direction, p_sender_kind,
                             p_sender_id, p_sender_name, p_kind, p_content, p_client_id, p_platform_id,
                             p_metadata, p_platform_ts, p_ordinal)
            AS u(idx, tenant_id, conversation_id, id, channel_id, direction, sender_kind, sender_id, sender_name,
                 kind, content, client_message_id, platform_message_id, metadata, platform_timestamp, ordinal)
    ), locked AS MATERIALIZED (
        -- One primary-key probe per conversation, in key order: concurrent batches queue, never deadlock.
        SELECT x.tenant_id, x.id, k.n
          FROM (SELECT * FROM unnest(p_conv_tenant, p_conv_id, p_conv_n) AS v(tenant_id, conversation_id, n)
                 ORDER BY tenant_id, conversation_id) k
         CROSS JOIN LATERAL (SELECT c.tenant_id, c.id FROM chat.conversations c
                              WHERE c.tenant_id = k.tenant_id AND c.id = k.conversation_id
                                FOR NO KEY UPDATE) x
    ), reserved AS (
        UPDATE chat.conversations c
           SET last_seq = c.last_seq + l.n, updated_at = now()
          FROM locked l
         WHERE c.tenant_id = l.tenant_id AND c.id = l.id -- by key, not ctid: a ctid does not follow a concurrent update
        RETURNING c.tenant_id, c.id, c.last_seq - l.n AS base, c.status
    ), numbered AS (
        SELECT i.*, r.base + i.ordinal AS seq, r.status AS conversation_status
          FROM input i
          JOIN reserved r ON r.tenant_id = i.tenant_id AND r.id = i.conversation_id
    ), ins AS (
        INSERT INTO chat.messages (tenant_id, conversation_id, seq, id, channel_id, direction, sender_kind, sender_id,
                                   sender_name, kind, content, client_message_id, platform_message_id, metadata,
                                   created_at, platform_timestamp)
        SELECT f.tenant_id, f.conversation_id, f.seq, f.id, f.channel_id, f.direction, f.sender_kind, f.sender_id,
               f.sender_name, f.kind, f.content, f.client_message_id, f.platform_message_id,
               CASE WHEN f.metadata IS NULL THEN '{}'::jsonb ELSE f.metadata::jsonb END, now(), f.platform_timestamp
          FROM numbered f
        RETURNING 1
    ), outboxed AS (
        -- A message to deliver to its platform gets its outbox entry in the same transaction.
        INSERT INTO chat.outbox (tenant_id, message_id, channel_id)
        SELECT f.tenant_id, f.id, f.channel_id FROM numbered f
         WHERE f.metadata IS NOT NULL AND (f.metadata::jsonb ->> 'chat.deliver') = 'true'
        RETURNING 1
    )
    SELECT n.idx, n.seq, now(), n.conversation_status FROM numbered n;
END
$fn$;

-- The careful path of an append batch, for batches that hold retries. Locks the batch's conversations in one order,
-- then, in a new statement that sees every batch committed before the locks were granted, returns retries as
-- duplicates, gives the new messages the next gap-free seqs, inserts them and moves each conversation's last_seq.
-- outcome: 0 stored, 1 duplicate of a stored message (its id, seq and time returned), 2 no such conversation.
CREATE FUNCTION chat.append_batch(
    p_dedupe boolean,
    p_idx integer[], p_tenant text[], p_conversation bigint[], p_id bigint[], p_channel text[],
    p_direction smallint[], p_sender_kind smallint[], p_sender_id text[], p_sender_name text[],
    p_kind smallint[], p_content text[], p_client_id text[], p_platform_id text[], p_metadata text[],
    p_platform_ts timestamptz[])
RETURNS TABLE (r_idx integer, r_id bigint, r_seq bigint, r_created_at timestamptz, r_outcome smallint, r_status smallint)
LANGUAGE plpgsql AS $fn$
DECLARE
    v_tenant text[];
    v_conversation bigint[];
    v_last_seq bigint[];
    v_status smallint[];
BEGIN
    -- Lock each conversation once, in one order; FOR UPDATE returns the newest last_seq, committed or not before.
    SELECT array_agg(l.tenant_id), array_agg(l.id), array_agg(l.last_seq), array_agg(l.status)
      INTO v_tenant, v_conversation, v_last_seq, v_status
      FROM (SELECT c.tenant_id, c.id, c.last_seq, c.status
              FROM chat.conversations c
             WHERE (c.tenant_id, c.id) IN (SELECT DISTINCT u.t, u.c FROM unnest(p_tenant, p_conversation) AS u(t, c))
             ORDER BY c.tenant_id, c.id
               FOR UPDATE) l;

    RETURN QUERY
    WITH input AS (
        SELECT * FROM unnest(p_idx, p_tenant, p_conversation, p_id, p_channel, p_direction, p_sender_kind,
                             p_sender_id, p_sender_name, p_kind, p_content, p_client_id, p_platform_id,
                             p_metadata, p_platform_ts)
            AS u(idx, tenant_id, conversation_id, id, channel_id, direction, sender_kind, sender_id, sender_name,
                 kind, content, client_message_id, platform_message_id, metadata, platform_timestamp)
    ), conv AS (
        SELECT * FROM unnest(v_tenant, v_conversation, v_last_seq, v_status) AS v(tenant_id, id, last_seq, status)
    ), dup AS (
        SELECT DISTINCT ON (d.idx) d.idx, d.id, d.seq, d.created_at
          FROM (SELECT i.idx, m.id, m.seq, m.created_at
                  FROM input i
                  JOIN chat.messages m ON m.tenant_id = i.tenant_id AND m.conversation_id = i.conversation_id
                                      AND m.client_message_id = i.client_message_id
                 WHERE p_dedupe
                UNION ALL
                SELECT i.idx, m.id, m.seq, m.created_at
                  FROM input i
                  JOIN chat.messages m ON m.tenant_id = i.tenant_id AND m.channel_id = i.channel_id
                                      AND m.platform_message_id = i.platform_message_id
                 WHERE p_dedupe) d
         ORDER BY d.idx, d.seq
    ), fresh AS (
        SELECT i.*, v.last_seq + row_number() OVER (PARTITION BY i.tenant_id, i.conversation_id ORDER BY i.idx) AS seq,
               v.status AS conversation_status
          FROM input i
          JOIN conv v ON v.tenant_id = i.tenant_id AND v.id = i.conversation_id
         WHERE NOT p_dedupe OR NOT EXISTS (SELECT 1 FROM dup d WHERE d.idx = i.idx)
    ), ins AS (
        INSERT INTO chat.messages (tenant_id, conversation_id, seq, id, channel_id, direction, sender_kind, sender_id,
                                   sender_name, kind, content, client_message_id, platform_message_id, metadata,
                                   created_at, platform_timestamp)
        SELECT f.tenant_id, f.conversation_id, f.seq, f.id, f.channel_id, f.direction, f.sender_kind, f.sender_id,
               f.sender_name, f.kind, f.content, f.client_message_id, f.platform_message_id,
               coalesce(f.metadata, '{}')::jsonb, now(), f.platform_timestamp
          FROM fresh f
        RETURNING 1
    ), outboxed AS (
        INSERT INTO chat.outbox (tenant_id, message_id, channel_id)
        SELECT f.tenant_id, f.id, f.channel_id FROM fresh f
         WHERE f.metadata IS NOT NULL AND (f.metadata::jsonb ->> 'chat.deliver') = 'true'
        RETURNING 1
    ), upd AS (
        UPDATE chat.conversations c
           SET last_seq = g.max_seq, updated_at = now()
          FROM (SELECT f.tenant_id, f.conversation_id, max(f.seq) AS max_seq FROM fresh f GROUP BY 1, 2) g
         WHERE c.tenant_id = g.tenant_id AND c.id = g.conversation_id
        RETURNING 1
    )
    SELECT f.idx, f.id, f.seq, now(), 0::smallint, f.conversation_status FROM fresh f
    UNION ALL
    SELECT d.idx, d.id, d.seq, d.created_at, 1::smallint,
           (SELECT v.status FROM input i JOIN conv v ON v.tenant_id = i.tenant_id AND v.id = i.conversation_id WHERE i.idx = d.idx)
      FROM dup d
    UNION ALL
    SELECT i.idx, 0::bigint, 0::bigint, now(), 2::smallint, NULL::smallint
      FROM input i
     WHERE NOT EXISTS (SELECT 1 FROM conv v WHERE v.tenant_id = i.tenant_id AND v.id = i.conversation_id)
       AND NOT EXISTS (SELECT 1 FROM dup d WHERE d.idx = i.idx);
END
$fn$;
