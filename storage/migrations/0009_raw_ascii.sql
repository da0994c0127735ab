-- 0009: whether a message's raw bytes are plain ASCII (no NUL, nothing above 127).
--
-- libpqxx 6.4 only reads results as text, and bytea's text form is hex: twice the bytes,
-- formatted by PostgreSQL and decoded by Mailroom. Nearly all mail is 7-bit, and 7-bit
-- bytes without NUL are valid text as they are: GetMessage and GetMessagePart read those
-- messages as text (convert_from), at their own size, and only the others as bytea. The
-- ingest statement sets the flag; rows stored before stay false and are read as before.
ALTER TABLE messages ADD COLUMN raw_ascii boolean NOT NULL DEFAULT false;
