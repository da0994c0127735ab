-- 0003: search for ListMessages, DeleteMessages, WatchMessages and WaitForMessage queries
-- (storage/message_query.h documents the syntax, storage/message_sql.h the SQL of each term).
--
-- Free words and "phrases" search the subject and the decoded text body with PostgreSQL
-- full-text search in the `simple` configuration (case-folded, no stemming, whole words).
-- The body is not stored as text: the capture path extracts it (first text/plain part, else
-- the text of the first text/html part, at most 64 KiB; smtp/mime_summary.h) and the
-- ingest statement turns subject + body into this tsvector, so only the lexemes and their
-- positions (needed by phrase search) are kept. A constant default keeps the ALTER a
-- catalog-only change; rows stored before this migration get their subject indexed below.
ALTER TABLE messages ADD COLUMN search_vector tsvector NOT NULL DEFAULT ''::tsvector;
UPDATE messages SET search_vector = to_tsvector('simple'::regconfig, coalesce(subject, ''))
  WHERE subject IS NOT NULL;
-- Words and phrases: `search_vector @@ plainto_tsquery(...)` / phraseto_tsquery.
CREATE INDEX messages_search_idx ON messages USING gin (search_vector);

-- from:, to:, cc: and subject: are case-insensitive substring matches (ILIKE '%value%'),
-- which a B-tree cannot serve; trigram GIN indexes can, for values of three characters or
-- more. pg_trgm is a trusted extension: the database owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
-- from: looks at the From header and at the envelope sender.
CREATE INDEX messages_from_trgm_idx ON messages USING gin (from_header gin_trgm_ops);
CREATE INDEX messages_envelope_from_trgm_idx ON messages USING gin (envelope_from gin_trgm_ops);
-- to: looks at To, Cc and the envelope recipients; cc: at Cc.
CREATE INDEX messages_to_trgm_idx ON messages USING gin (to_header gin_trgm_ops);
CREATE INDEX messages_cc_trgm_idx ON messages USING gin (cc_header gin_trgm_ops);
CREATE INDEX message_recipients_address_trgm_idx
  ON message_recipients USING gin (address gin_trgm_ops);
-- subject:
CREATE INDEX messages_subject_trgm_idx ON messages USING gin (subject gin_trgm_ops);
