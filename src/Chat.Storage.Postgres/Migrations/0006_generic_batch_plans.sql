-- Chat storage, version 6: the append functions and the platform message look-up plan their statements once per
-- connection (a generic plan), never again for each call's arrays. By default PostgreSQL plans a PL/pgSQL statement
-- with parameters afresh for its first five calls, and keeps doing so while those custom plans look cheaper than a
-- generic one, which is what small batches make them look: a node appending one message at a time then paid for
-- planning the whole statement on every append, as much as the append itself (about 300 us of a backend's CPU each,
-- measured on the CI machine kind). The generic plans read conversations and messages by their keys (nested loops of
-- index probes), which suits a batch of any size.
ALTER FUNCTION chat.append_batch_fast(integer[], text[], bigint[], bigint[], text[], smallint[], smallint[], text[], text[],
    smallint[], text[], text[], text[], text[], timestamptz[], integer[], text[], bigint[], integer[])
    SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION chat.append_batch(boolean, integer[], text[], bigint[], bigint[], text[], smallint[], smallint[], text[], text[],
    smallint[], text[], text[], text[], text[], timestamptz[])
    SET plan_cache_mode = force_generic_plan;

-- The batched look-up of platform message ids (a platform's retried push), planned once per connection for the same
-- reason: the statement sent as it is was planned afresh for each batch of a few ids. Each message column comes as
-- r_<column>, which the store selects by name, then the request's position (r_idx).
CREATE FUNCTION chat.find_platform_messages(p_tenant text[], p_channel text[], p_platform_id text[])
RETURNS TABLE (r_id bigint, r_conversation_id bigint, r_seq bigint, r_channel_id text, r_direction smallint,
               r_sender_kind smallint, r_sender_id text, r_sender_name text, r_kind smallint, r_content text,
               r_client_message_id text, r_platform_message_id text, r_metadata jsonb, r_created_at timestamptz,
               r_platform_timestamp timestamptz, r_idx bigint)
LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan AS $fn$
BEGIN
    RETURN QUERY
    SELECT m.id, m.conversation_id, m.seq, m.channel_id::text, m.direction, m.sender_kind, m.sender_id::text,
           m.sender_name, m.kind, m.content, m.client_message_id::text, m.platform_message_id::text, m.metadata,
           m.created_at, m.platform_timestamp, q.idx
      FROM unnest(p_tenant, p_channel, p_platform_id) WITH ORDINALITY AS q(tenant_id, channel_id, platform_message_id, idx)
      JOIN chat.messages m ON m.tenant_id = q.tenant_id AND m.channel_id = q.channel_id AND m.platform_message_id = q.platform_message_id;
END
$fn$;
