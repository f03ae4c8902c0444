-- Chat storage, version 2: identifiers compare byte by byte (COLLATE "C"), whatever the database's locale.
--
-- Tenant, channel, platform-user, agent, team, sender, client-message and platform-message ids are opaque strings.
-- Under a linguistic collation (a database created with en_US.UTF-8, the usual default, or an ICU locale) their
-- B-tree indexes follow the operating system's collation rules, and those change with glibc and ICU upgrades: an index
-- built under the old rules then no longer finds what it holds, and a unique index that cannot find an existing
-- client or platform message id lets a retry be stored twice. Byte order never changes, and it is also the cheapest
-- comparison. Changing a text column's collation rewrites no rows; PostgreSQL rebuilds the indexes on the column
-- (under an exclusive lock on the table while it does, so apply this in a quiet hour on a large database).
ALTER TABLE chat.tenants
    ALTER COLUMN tenant_id TYPE text COLLATE "C";

ALTER TABLE chat.contacts
    ALTER COLUMN tenant_id TYPE text COLLATE "C";

ALTER TABLE chat.channel_identities
    ALTER COLUMN tenant_id TYPE text COLLATE "C",
    ALTER COLUMN channel_id TYPE text COLLATE "C",
    ALTER COLUMN platform_user_id TYPE text COLLATE "C";

ALTER TABLE chat.conversations
    ALTER COLUMN tenant_id TYPE text COLLATE "C",
    ALTER COLUMN channel_id TYPE text COLLATE "C",
    ALTER COLUMN assignee_id TYPE text COLLATE "C",
    ALTER COLUMN team_id TYPE text COLLATE "C";

ALTER TABLE chat.messages
    ALTER COLUMN tenant_id TYPE text COLLATE "C",
    ALTER COLUMN channel_id TYPE text COLLATE "C",
    ALTER COLUMN sender_id TYPE text COLLATE "C",
    ALTER COLUMN client_message_id TYPE text COLLATE "C",
    ALTER COLUMN platform_message_id TYPE text COLLATE "C";

ALTER TABLE chat.outbox
    ALTER COLUMN tenant_id TYPE text COLLATE "C",
    ALTER COLUMN channel_id TYPE text COLLATE "C";

ALTER TABLE chat.worker_leases
    ALTER COLUMN tenant_id TYPE text COLLATE "C";
