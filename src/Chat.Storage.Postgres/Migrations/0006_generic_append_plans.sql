-- Chat storage, version 6: the append functions plan their statements once per connection (a generic plan), never
-- again for each call's arrays. By default PostgreSQL plans a PL/pgSQL statement with parameters afresh for its first
-- five calls, and keeps doing so while those custom plans look cheaper than a generic one, which is what small batches
-- make them look: a node appending one message at a time then paid for planning the whole statement on every append,
-- as much as the append itself (about 300 us of a backend's CPU each, measured on the CI machine kind). The generic
-- plans read conversations and messages by their keys (nested loops of index probes), which suits a batch of any size.
ALTER FUNCTION chat.append_batch_fast(integer[], text[], bigint[], bigint[], text[], smallint[], smallint[], text[], text[],
    smallint[], text[], text[], text[], text[], timestamptz[], integer[], text[], bigint[], integer[])
    SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION chat.append_batch(boolean, integer[], text[], bigint[], bigint[], text[], smallint[], smallint[], text[], text[],
    smallint[], text[], text[], text[], text[], timestamptz[])
    SET plan_cache_mode = force_generic_plan;
