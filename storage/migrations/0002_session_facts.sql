-- 0002: the session facts the API promises, on messages and on sessions.
--
-- MessageService.Message carries the TLS state, SASL mechanism, client address and EHLO name
-- of the session that delivered it, and promises them after the session record is pruned:
-- so they are copied onto the message row at ingest (a few short values per message, no
-- join on read). Envelope MAIL and RCPT parameters are kept in the order the client sent
-- them (Envelope.mail_parameters, EnvelopeRecipient.parameters); the typed DSN columns of
-- 0001 stay for filters.
--
-- Every column added here is nullable or has a constant default, so on PostgreSQL 11+ the
-- ALTERs only touch the catalog: no table rewrite, whatever the size of the table.

-- The IP address of the SMTP client; NULL for messages captured through SendMessage.
ALTER TABLE messages ADD COLUMN client_address inet NULL;
-- The name given in the last EHLO/HELO before the message; NULL when none was given.
ALTER TABLE messages ADD COLUMN ehlo_name text NULL;
-- TLS when the message was received; all three NULL when the session was plaintext.
ALTER TABLE messages ADD COLUMN tls_protocol text NULL;
ALTER TABLE messages ADD COLUMN tls_cipher text NULL;
ALTER TABLE messages ADD COLUMN tls_implicit boolean NULL;
-- The SASL mechanism of the AUTH that auth_user comes from; NULL without AUTH.
ALTER TABLE messages ADD COLUMN auth_mechanism text NULL;
-- MAIL FROM parameters in the order sent: [["SIZE","1234"],["SMTPUTF8",""], ...]. Keywords
-- upper-cased, values as sent (xtext kept).
ALTER TABLE messages ADD COLUMN mail_parameters jsonb NOT NULL DEFAULT '[]'
  CHECK (jsonb_typeof(mail_parameters) = 'array');

-- RCPT TO parameters in the order sent, in the same form as messages.mail_parameters.
ALTER TABLE message_recipients ADD COLUMN parameters jsonb NOT NULL DEFAULT '[]'
  CHECK (jsonb_typeof(parameters) = 'array');

-- Session facts of SessionService.Session that 0001 lacks.
ALTER TABLE smtp_sessions ADD COLUMN auth_mechanism text NULL;
-- true: TLS from the first byte (port 465 style); false: STARTTLS; NULL: no TLS.
ALTER TABLE smtp_sessions ADD COLUMN tls_implicit boolean NULL;
-- 4xx and 5xx replies sent; has_error filters count a session with any as erroneous.
ALTER TABLE smtp_sessions ADD COLUMN error_reply_count int NOT NULL DEFAULT 0
  CHECK (error_reply_count >= 0);
