-- 0008: the expressions that turn a message into its search data, defined once.
--
-- The ingest statement (storage/ingest_batch.cc) and whatever else stores messages in bulk
-- (the benchmark's loader, tests that load rows in SQL) must compute the full-text vector
-- and the address dictionary links exactly alike, or searches would find loaded rows
-- differently from captured ones. Both are plain SQL functions, which PostgreSQL inlines
-- into the calling statement: calling them costs what writing them out did.

-- The full-text vector of a message (migration 0003): its subject and the text of its body,
-- tokenised without language rules so that codes, names and any language match as written.
CREATE FUNCTION mailroom_search_vector(subject text, body_text text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN to_tsvector('simple'::regconfig, coalesce(subject, '') || ' ' || body_text);

-- The address dictionary entries of a message (migration 0007): the lines of its
-- sender_search (role 's') and recipient_search (role 'r') split at commas and trimmed,
-- each once per role, with the entry's id, md5 of the lower-cased text.
CREATE FUNCTION mailroom_address_pieces(sender_search text, recipient_search text)
RETURNS TABLE (address_id uuid, role "char", piece text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT DISTINCT ON (md5(lower(piece)), x.role) md5(lower(piece))::uuid, x.role, piece
FROM (VALUES ('s'::"char", sender_search), ('r'::"char", recipient_search)) AS x(role, lines),
     string_to_table(translate(x.lines, E'\n', ','), ',') AS split,
     btrim(split) AS piece
WHERE piece <> ''
$$;
