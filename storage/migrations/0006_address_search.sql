-- 0006: from: and to: as one indexed condition each.
--
-- Before, to: was `to_header ILIKE p OR cc_header ILIKE p OR EXISTS (recipients ILIKE p)`:
-- the EXISTS arm cannot join a BitmapOr, so the planner walked messages newest first and
-- tested every row; a recipient of ten messages in a million scanned all of them. Now every
-- address a query may look at is copied, once, at ingest into one column per operator, each
-- with one trigram index, and each operator is a single `column ILIKE '%value%'`:
--   sender_search     the envelope sender and the From header          (from:)
--   recipient_search  the envelope recipients and the To and Cc headers (to:)
-- Values are separated by a newline, which a query value cannot contain, so a match never
-- spans two addresses. This also replaces four trigram indexes by two, which the ingest
-- path maintains for every message.
ALTER TABLE messages
  ADD COLUMN sender_search text NOT NULL DEFAULT '',
  ADD COLUMN recipient_search text NOT NULL DEFAULT '';

-- Rows stored before this migration (the ingest statement fills both for new rows).
UPDATE messages m SET
  sender_search = concat_ws(E'\n', m.envelope_from, m.from_header),
  recipient_search = concat_ws(E'\n',
    (SELECT string_agg(r.address, E'\n' ORDER BY r.position)
       FROM message_recipients r WHERE r.message_id = m.id),
    m.to_header, m.cc_header);

CREATE INDEX messages_sender_search_trgm_idx
  ON messages USING gin (sender_search gin_trgm_ops);
CREATE INDEX messages_recipient_search_trgm_idx
  ON messages USING gin (recipient_search gin_trgm_ops);
DROP INDEX messages_from_trgm_idx;
DROP INDEX messages_envelope_from_trgm_idx;
DROP INDEX messages_to_trgm_idx;
DROP INDEX message_recipients_address_trgm_idx;
