-- 0005: change notifications for MessageService.WatchMessages.
--
-- New messages are already announced by the ingest path after its COMMIT (channel
-- mailroom_messages, storage/message_wait.h); adding a trigger on INSERT would slow capture
-- down, so there is none. What is announced here are the changes made by every other path,
-- whichever replica (or psql session) makes them: the read flag (UpdateMessage) and removals
-- of a message from a mailbox (DeleteMessage(s), retention pruning, a deleted mailbox).
--
-- Channel mailroom_message_changes; the payload format (parsed by storage/change_events.h):
--   u <time_us> <id>,<id>,...                      the read flag of these messages changed
--   d <time_us> <mailbox_id> <id>,<id>,... <name>  these messages left mailbox <name>
-- <time_us> is when the statement made the change (microseconds since the epoch, database
-- clock); <name> comes last because it is the only free-form field.
--
-- Cost: the triggers are statement-level with transition tables, so a bulk DELETE of N
-- links runs one INSERT ... SELECT-like aggregation and N / 200 pg_notify calls, not N
-- trigger calls. 200 ids of 36 characters plus commas, a header and a name of at most 256
-- bytes stay well under PostgreSQL's 8000-byte payload limit. Notifications are sent at
-- COMMIT and not at all on ROLLBACK, so listeners never hear of a change that did not happen.

-- How many ids one notification carries.
CREATE FUNCTION mailroom_change_chunk() RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT 200';

-- The read flag: UPDATE triggers with transition tables cannot name columns, so the
-- function compares old and new rows itself; other updates of messages send nothing.
CREATE FUNCTION mailroom_notify_messages_updated() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  t text := (extract(epoch FROM clock_timestamp()) * 1000000)::int8::text;
  batch record;
BEGIN
  FOR batch IN
    SELECT string_agg(c.id::text, ',') AS ids
    FROM (SELECT n.id, (row_number() OVER () - 1) / mailroom_change_chunk() AS chunk
          FROM new_rows n JOIN old_rows o ON o.id = n.id
          WHERE o.is_read IS DISTINCT FROM n.is_read) c
    GROUP BY c.chunk
  LOOP
    PERFORM pg_notify('mailroom_message_changes', 'u ' || t || ' ' || batch.ids);
  END LOOP;
  RETURN NULL;
END $$;

CREATE TRIGGER messages_notify_updated
  AFTER UPDATE ON messages
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION mailroom_notify_messages_updated();

-- Links removed from mailboxes that still exist: a message deleted (its links cascade), a
-- message removed from one mailbox, retention. Links of a mailbox being deleted are
-- announced by the mailboxes trigger below, which still knows the mailbox's name: here the
-- join finds no mailbox row for them and skips them.
CREATE FUNCTION mailroom_notify_links_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  t text := (extract(epoch FROM clock_timestamp()) * 1000000)::int8::text;
  batch record;
BEGIN
  FOR batch IN
    SELECT c.mailbox_id, b.name, string_agg(c.message_id::text, ',') AS ids
    FROM (SELECT o.mailbox_id, o.message_id,
                 (row_number() OVER (PARTITION BY o.mailbox_id) - 1) / mailroom_change_chunk()
                   AS chunk
          FROM old_links o) c
    JOIN mailboxes b ON b.id = c.mailbox_id
    GROUP BY c.mailbox_id, b.name, c.chunk
  LOOP
    PERFORM pg_notify('mailroom_message_changes',
                      'd ' || t || ' ' || batch.mailbox_id || ' ' || batch.ids || ' ' ||
                      left(batch.name, 256));
  END LOOP;
  RETURN NULL;
END $$;

CREATE TRIGGER message_mailboxes_notify_deleted
  AFTER DELETE ON message_mailboxes
  REFERENCING OLD TABLE AS old_links
  FOR EACH STATEMENT EXECUTE FUNCTION mailroom_notify_links_deleted();

-- A mailbox being deleted: its links are about to cascade, after which its name can no
-- longer be joined, so they are announced now, with the name. Mailboxes are deleted rarely
-- and one at a time, so a row-level trigger costs nothing that matters; BEFORE, because the
-- cascade runs among the AFTER row triggers.
CREATE FUNCTION mailroom_notify_mailbox_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  t text := (extract(epoch FROM clock_timestamp()) * 1000000)::int8::text;
  batch record;
BEGIN
  FOR batch IN
    SELECT string_agg(c.message_id::text, ',') AS ids
    FROM (SELECT mm.message_id, (row_number() OVER () - 1) / mailroom_change_chunk() AS chunk
          FROM message_mailboxes mm WHERE mm.mailbox_id = OLD.id) c
    GROUP BY c.chunk
  LOOP
    PERFORM pg_notify('mailroom_message_changes',
                      'd ' || t || ' ' || OLD.id || ' ' || batch.ids || ' ' || left(OLD.name, 256));
  END LOOP;
  RETURN OLD;
END $$;

CREATE TRIGGER mailboxes_notify_deleted
  BEFORE DELETE ON mailboxes
  FOR EACH ROW EXECUTE FUNCTION mailroom_notify_mailbox_deleted();
