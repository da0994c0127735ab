-- 0004: routing rules on mailboxes, and the routing decision on each message.
--
-- Rules are read as a whole (the routing table is rebuilt from every mailbox when one
-- changes) and never queried inside, so a jsonb array per mailbox is enough: each element is
-- a mailroom.v1.RoutingRule in protobuf JSON with the proto field names
-- ({"recipient": {"glob": "*@qa.example.com"}, "description": "..."}).
ALTER TABLE mailboxes
  ADD COLUMN rules jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(rules) = 'array');

-- Why the message landed where it did: an array of mailroom.v1.RoutingDecision in protobuf
-- JSON with the proto field names, one per recipient in RCPT order. NULL for messages stored
-- before routing existed (GetMessage shows no decision then).
ALTER TABLE messages ADD COLUMN routing jsonb NULL;

