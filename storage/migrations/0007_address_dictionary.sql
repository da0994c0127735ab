-- 0007: from: and to: find their messages through a dictionary of addresses.
--
-- Migration 0006 gave each operator one column (sender_search, recipient_search) with a
-- trigram index. At 1,000,000 messages a rare address still took 25-50 ms: its domain's
-- trigrams ("exa", "com", ...) are in nearly every row, and GIN reads their whole posting
-- lists to intersect them (5,400 index pages for one address). But addresses repeat: a
-- million messages carry a few thousand distinct ones. So each distinct address is stored
-- once, in `addresses`, which holds the trigram index (as big as the address book, not as
-- the mail), and `message_addresses` links it to its messages with their received_at, so
-- that the newest messages of an address come from that index alone, before any message
-- row is read.
--
-- The entries are the pieces of each line of the two columns split at commas: an envelope
-- address, or one mailbox of a From, To or Cc header ("Alice <alice@example.com>"), so a
-- popular address is one or two entries, not one per combination of recipients. The two
-- columns stay, without their indexes: testing one row's addresses (the newest rows
-- ListMessages walks first, the new messages WaitForMessage checks) is cheapest on them.
CREATE TABLE addresses (
  -- md5 of lower(text) as a uuid: the ingest statement computes it without a lookup, and
  -- two writers adding the same new address meet in ON CONFLICT DO NOTHING.
  id   uuid PRIMARY KEY,
  text text NOT NULL
);
CREATE INDEX addresses_text_trgm_idx ON addresses USING gin (text gin_trgm_ops);

CREATE TABLE message_addresses (
  -- No foreign key to addresses: the dictionary only grows, and checking the key would
  -- lock the busiest address rows for every message.
  address_id  uuid NOT NULL,
  -- 's': from sender_search (from:); 'r': from recipient_search (to:).
  role        "char" NOT NULL CHECK (role IN ('s', 'r')),
  received_at timestamptz NOT NULL,  -- the message's, for newest-first reads of the key
  message_id  uuid NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
  PRIMARY KEY (address_id, role, received_at, message_id)
);
-- Deleting a message finds its links.
CREATE INDEX message_addresses_message_idx ON message_addresses (message_id);

-- Messages stored before this migration; the ingest statement links new ones the same way.
CREATE TEMPORARY TABLE address_links ON COMMIT DROP AS
SELECT DISTINCT ON (md5(lower(piece)), x.role, x.message_id)
  md5(lower(piece))::uuid AS address_id, x.role, x.received_at, x.message_id, piece
FROM (SELECT id AS message_id, received_at, 's'::"char" AS role, sender_search AS lines
      FROM messages
      UNION ALL
      SELECT id, received_at, 'r', recipient_search FROM messages) x,
     string_to_table(translate(x.lines, E'\n', ','), ',') AS split,
     btrim(split) AS piece
WHERE piece <> '';
INSERT INTO addresses (id, text)
SELECT DISTINCT ON (address_id) address_id, piece FROM address_links;
INSERT INTO message_addresses (address_id, role, received_at, message_id)
SELECT address_id, role, received_at, message_id FROM address_links;

DROP INDEX messages_sender_search_trgm_idx;
DROP INDEX messages_recipient_search_trgm_idx;
