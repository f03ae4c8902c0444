-- Chat storage, version 3: retention of old messages (IContactEraser.EraseMessagesCreatedBeforeAsync) reads the
-- messages stored before a time through this index, a page at a time, instead of the whole table on every page.
CREATE INDEX messages_by_created_at ON messages (created_at);
