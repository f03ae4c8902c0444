-- Chat storage, version 3: the audit log of agents' access to customer data (IAuditLog).
--
-- Append-only: the triggers below refuse UPDATE, DELETE and TRUNCATE for every role the triggers apply to, so neither a
-- bug nor an injected statement in the application can rewrite the record. For a second line, run the application as
-- a role that may only INSERT and SELECT on this table (docs/security.md). Removing entries past their retention is
-- an administrator's act: as the table's owner, in one transaction, ALTER TABLE chat.audit_log DISABLE TRIGGER
-- audit_log_append_only, DELETE, ENABLE TRIGGER (docs/storage.md).
CREATE TABLE chat.audit_log (
    tenant_id       text COLLATE "C" NOT NULL,
    id              bigint           NOT NULL,
    at              timestamptz      NOT NULL DEFAULT now(),
    actor_id        text COLLATE "C" NOT NULL,
    action          text COLLATE "C" NOT NULL,
    conversation_id bigint,
    contact_id      bigint,
    detail          text,
    remote_address  text,
    PRIMARY KEY (tenant_id, id)
);
-- "Who looked at this conversation" and "what did this agent look at".
CREATE INDEX audit_log_by_conversation ON chat.audit_log (tenant_id, conversation_id, id) WHERE conversation_id IS NOT NULL;
CREATE INDEX audit_log_by_actor ON chat.audit_log (tenant_id, actor_id, id);

CREATE FUNCTION chat.audit_log_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    RAISE EXCEPTION 'chat.audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$fn$;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON chat.audit_log
    FOR EACH ROW EXECUTE FUNCTION chat.audit_log_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON chat.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION chat.audit_log_refuse_change();
