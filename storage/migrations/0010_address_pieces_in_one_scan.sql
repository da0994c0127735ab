-- 0010: the address dictionary entries of a message without a function scan per piece.
--
-- mailroom_address_pieces (migration 0008) named string_to_table and btrim in its FROM list.
-- PostgreSQL runs a function in FROM as a function scan that first materialises its result
-- (a tuplestore, allocated and freed each time), and did so for every line and every piece
-- of every message the ingest statement stored: about nine function scans per message. With
-- the split in the select list (a ProjectSet) the pieces stream out of one scan of the two
-- lines; the ingest writer's backend called about four table functions per message instead
-- of nine (bench/README.md). Same pieces, same ids, same roles: the result is unchanged.
CREATE OR REPLACE FUNCTION mailroom_address_pieces(sender_search text, recipient_search text)
RETURNS TABLE (address_id uuid, role "char", piece text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT DISTINCT ON (md5(lower(p.piece)), p.role) md5(lower(p.piece))::uuid, p.role, p.piece
FROM (SELECT x.role, btrim(string_to_table(translate(x.lines, E'\n', ','), ',')) AS piece
      FROM (VALUES ('s'::"char", sender_search), ('r'::"char", recipient_search))
        AS x(role, lines)) AS p
WHERE p.piece <> ''
$$;
