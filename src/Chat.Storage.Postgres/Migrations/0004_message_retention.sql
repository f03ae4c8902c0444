-- Chat storage, version 4: retention of old messages (IContactEraser.EraseMessagesCreatedBeforeAsync).
--
-- A BRIN index: messages are appended in the order they are stored, so each range of heap pages covers a short span of
-- created_at and a retention sweep reads only the ranges old enough. It costs an append next to nothing (a B-tree on
-- created_at would be a fourth index written with every message) and takes a few pages for millions of rows.
-- autosummarize: a range is summarized as it fills, not only by the next VACUUM.
CREATE INDEX messages_by_created_at ON chat.messages USING brin (created_at) WITH (autosummarize = on);
