-- Chat storage, version 5: an append also answers its conversation's assignee as it found it (r_assignee), read under
-- the same row lock as the status (r_status), so the hub pushes each message to the agent who has its conversation at
-- that moment, not to the one the sender's copy names. The functions are those of version 1 with that column added:
-- a function's result type cannot be changed in place, so each is dropped and made again. A node of the previous
-- version still running meanwhile names the columns it reads and gets them as before.
DROP FUNCTION chat.append_batch_fast(integer[], text[], bigint[], bigint[], text[], smallint[], smallint[], text[], text[],
    smallint[], text[], text[], text[], text[], timestamptz[], integer[], text[], bigint[], integer[]);
DROP FUNCTION chat.append_batch(boolean, integer[], text[], bigint[], bigint[], text[], smallint[], smallint[], text[], text[],
    smallint[], text[], text[], text[], text[], timestamptz[]);

-- The fast path (see version 1).
CREATE FUNCTION chat.append_batch_fast(
    p_idx integer[], p_tenant text[], p_conversation bigint[], p_id bigint[], p_channel text[],
    p_direction smallint[], p_sender_kind smallint[], p_sender_id text[], p_sender_name text[],
    p_kind smallint[], p_content text[], p_client_id text[], p_platform_id text[], p_metadata text[],
    p_platform_ts timestamptz[], p_ordinal integer[], p_conv_tenant text[], p_conv_id bigint[], p_conv_n integer[])
RETURNS TABLE (r_idx integer, r_seq bigint, r_created_at timestamptz, r_status smallint, r_assignee text)
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
        RETURNING c.tenant_id, c.id, c.last_seq - l.n AS base, c.status, c.assignee_id
    ), numbered AS (
        SELECT i.*, r.base + i.ordinal AS seq, r.status AS conversation_status, r.assignee_id AS conversation_assignee
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
    SELECT n.idx, n.seq, now(), n.conversation_status, n.conversation_assignee::text FROM numbered n;
END
$fn$;

-- The careful path, for batches that hold retries (see version 1).
CREATE FUNCTION chat.append_batch(
    p_dedupe boolean,
    p_idx integer[], p_tenant text[], p_conversation bigint[], p_id bigint[], p_channel text[],
    p_direction smallint[], p_sender_kind smallint[], p_sender_id text[], p_sender_name text[],
    p_kind smallint[], p_content text[], p_client_id text[], p_platform_id text[], p_metadata text[],
    p_platform_ts timestamptz[])
RETURNS TABLE (r_idx integer, r_id bigint, r_seq bigint, r_created_at timestamptz, r_outcome smallint, r_status smallint, r_assignee text)
LANGUAGE plpgsql AS $fn$
DECLARE
    v_tenant text[];
    v_conversation bigint[];
    v_last_seq bigint[];
    v_status smallint[];
    v_assignee text[];
BEGIN
    -- Lock each conversation once, in one order; FOR UPDATE returns the newest last_seq, committed or not before.
    SELECT array_agg(l.tenant_id), array_agg(l.id), array_agg(l.last_seq), array_agg(l.status), array_agg(l.assignee_id)
      INTO v_tenant, v_conversation, v_last_seq, v_status, v_assignee
      FROM (SELECT c.tenant_id, c.id, c.last_seq, c.status, c.assignee_id::text AS assignee_id
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
        SELECT * FROM unnest(v_tenant, v_conversation, v_last_seq, v_status, v_assignee) AS v(tenant_id, id, last_seq, status, assignee_id)
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
               v.status AS conversation_status, v.assignee_id AS conversation_assignee
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
    SELECT f.idx, f.id, f.seq, now(), 0::smallint, f.conversation_status, f.conversation_assignee FROM fresh f
    UNION ALL
    SELECT d.idx, d.id, d.seq, d.created_at, 1::smallint, v.status, v.assignee_id
      FROM dup d
      LEFT JOIN input i ON i.idx = d.idx
      LEFT JOIN conv v ON v.tenant_id = i.tenant_id AND v.id = i.conversation_id
    UNION ALL
    SELECT i.idx, 0::bigint, 0::bigint, now(), 2::smallint, NULL::smallint, NULL::text
      FROM input i
     WHERE NOT EXISTS (SELECT 1 FROM conv v WHERE v.tenant_id = i.tenant_id AND v.id = i.conversation_id)
       AND NOT EXISTS (SELECT 1 FROM dup d WHERE d.idx = i.idx);
END
$fn$;
