-- Chat storage on SQLite, version 2: the audit log of agents' access to customer data (IAuditLog). Append-only: the
-- triggers refuse UPDATE and DELETE (SQLite has no TRUNCATE; a DELETE without WHERE fires the trigger too).
CREATE TABLE audit_log (
    tenant_id       TEXT    NOT NULL,
    id              INTEGER NOT NULL,
    at              INTEGER NOT NULL,
    actor_id        TEXT    NOT NULL,
    action          TEXT    NOT NULL,
    conversation_id INTEGER,
    contact_id      INTEGER,
    detail          TEXT,
    remote_address  TEXT,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
CREATE INDEX audit_log_by_conversation ON audit_log (tenant_id, conversation_id, id) WHERE conversation_id IS NOT NULL;
CREATE INDEX audit_log_by_actor ON audit_log (tenant_id, actor_id, id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused');
END;
