#include "storage/mailbox_store.h"

#include <openssl/sha.h>

#include <array>
#include <map>
#include <optional>
#include <pqxx/prepared_statement>
#include <pqxx/result>
#include <pqxx/transaction>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "storage/ids.h"
#include "storage/message_sql.h"
#include "storage/schema.h"
#include "storage/statement.h"
#include "storage/text_encoding.h"

namespace mailroom::storage {
namespace {

// The MailboxRow columns but the counts, in ReadMailbox order, over `mailboxes b`.
#define MAILROOM_MAILBOX_COLUMNS                                                       \
  "b.id::text, b.name, b.description, b.position, coalesce(b.max_messages, 0)::int8, " \
  "b.rules::text, (EXTRACT(EPOCH FROM b.created_at) * 1000000)::int8, "                \
  "(EXTRACT(EPOCH FROM b.updated_at) * 1000000)::int8"

constexpr Statement kSelectById = {"mailbox_store_select_by_id",
                                   "SELECT " MAILROOM_MAILBOX_COLUMNS
                                   " FROM mailboxes b WHERE b.id = $1::uuid"};

constexpr Statement kSelectByName = {"mailbox_store_select_by_name",
                                     "SELECT " MAILROOM_MAILBOX_COLUMNS
                                     " FROM mailboxes b WHERE b.name = $1"};

// Routing order: `default` last ($2 is its id), then position, then name in byte order
// (COLLATE "C", so that the order and the keyset comparison do not depend on the database's
// collation).
constexpr Statement kListFirst = {
    "mailbox_store_list_first",
    "SELECT " MAILROOM_MAILBOX_COLUMNS
    " FROM mailboxes b ORDER BY b.id = $2::uuid, b.position, b.name COLLATE \"C\""
    " LIMIT $1::int8"};

constexpr Statement kListAfter = {
    "mailbox_store_list_after",
    "SELECT " MAILROOM_MAILBOX_COLUMNS
    " FROM mailboxes b"
    " WHERE (b.id = $2::uuid, b.position, b.name COLLATE \"C\") > ($3::bool, $4::int, $5::text)"
    " ORDER BY b.id = $2::uuid, b.position, b.name COLLATE \"C\" LIMIT $1::int8"};

#undef MAILROOM_MAILBOX_COLUMNS

// The counts of the mailboxes $1, in one statement for a whole page: every link joined to its
// message for is_read. Deliberately NOT a prepared statement: planned with the actual ids,
// PostgreSQL's statistics on message_mailboxes.mailbox_id choose index lookups for small
// mailboxes and one hash join over messages for a large one, where a generic plan (or a
// LATERAL count per mailbox) picks one shape for all and can scan messages once per mailbox.
constexpr char kCountsSql[] = R"sql(
SELECT mm.mailbox_id::text, count(*)::int8, count(*) FILTER (WHERE NOT m.is_read)::int8
FROM message_mailboxes mm JOIN messages m ON m.id = mm.message_id
WHERE mm.mailbox_id = ANY($1::uuid[])
GROUP BY mm.mailbox_id)sql";

constexpr Statement kInsert = {"mailbox_store_insert", R"sql(
INSERT INTO mailboxes (id, name, description, position, max_messages, rules)
VALUES ($1::uuid, $2, $3, $4::int, nullif($5::int8, 0), $6::jsonb))sql"};

// Replicas applying the same configuration at once: the loser of the race on the name waits
// for the winner's commit and then takes the DO UPDATE branch, whose WHERE leaves a mailbox
// that already has these values untouched (no row returned). xmax = 0 marks a new row.
constexpr Statement kUpsert = {"mailbox_store_upsert", R"sql(
INSERT INTO mailboxes AS b (id, name, description, position, max_messages, rules)
VALUES ($1::uuid, $2, $3, $4::int, nullif($5::int8, 0), $6::jsonb)
ON CONFLICT (name) DO UPDATE SET
  description = EXCLUDED.description, position = EXCLUDED.position,
  max_messages = EXCLUDED.max_messages, rules = EXCLUDED.rules, updated_at = now()
WHERE (b.description, b.position, b.max_messages, b.rules)
  IS DISTINCT FROM (EXCLUDED.description, EXCLUDED.position, EXCLUDED.max_messages,
                    EXCLUDED.rules)
RETURNING b.id::text, b.xmax = 0)sql"};

// Locks the mailbox a change is about, so that the checks made on it (is it `default`, does
// it hold messages) still hold when the change commits.
constexpr Statement kLockById = {"mailbox_store_lock_by_id",
                                 "SELECT id::text FROM mailboxes WHERE id = $1::uuid FOR UPDATE"};
constexpr Statement kLockByName = {"mailbox_store_lock_by_name",
                                   "SELECT id::text FROM mailboxes WHERE name = $1 FOR UPDATE"};

constexpr Statement kHasMessages = {
    "mailbox_store_has_messages",
    "SELECT EXISTS (SELECT 1 FROM message_mailboxes WHERE mailbox_id = $1::uuid)"};

// Unlinks every message of the mailbox and deletes those in no other mailbox. All parts of
// the statement see the same snapshot, where the links being removed still exist, hence
// "another mailbox" rather than "any mailbox".
constexpr Statement kUnlinkAll = {"mailbox_store_unlink_all", R"sql(
WITH unlinked AS (
  DELETE FROM message_mailboxes x WHERE x.mailbox_id = $1::uuid RETURNING x.message_id),
orphans AS (
  DELETE FROM messages d USING unlinked u
  WHERE d.id = u.message_id AND NOT EXISTS (
    SELECT 1 FROM message_mailboxes y WHERE y.message_id = d.id AND y.mailbox_id <> $1::uuid)
  RETURNING d.id)
SELECT (SELECT count(*) FROM unlinked)::int8, (SELECT count(*) FROM orphans)::int8)sql"};

constexpr Statement kDelete = {"mailbox_store_delete", "DELETE FROM mailboxes WHERE id = $1::uuid"};

constexpr Statement kNotify = {"mailbox_store_notify", "SELECT pg_notify($1, $2)"};

constexpr uint8_t kTokenVersion = 1;
// Keeps mailbox page tokens apart from any other token hashed the same way.
constexpr absl::string_view kTokenTag = "mailroom.mailboxes";

bool IsDefault(absl::string_view id) { return id == kDefaultMailboxId; }

void Notify(pqxx::transaction_base& txn) {
  ExecPrepared(txn, kNotify, std::string(kRoutingChannel), std::string(kMailboxesChanged));
}

MailboxRow ReadMailbox(const pqxx::row& row) {
  MailboxRow m;
  m.id = row[0].as<std::string>();
  m.name = row[1].as<std::string>();
  m.description = row[2].as<std::string>();
  m.position = row[3].as<int>();
  m.max_messages = row[4].as<int64_t>();
  m.rules_json = row[5].as<std::string>();
  m.created_at = absl::FromUnixMicros(row[6].as<int64_t>());
  m.updated_at = absl::FromUnixMicros(row[7].as<int64_t>());
  return m;
}

// Sets message_count and unread_count of `mailboxes`.
void Count(pqxx::transaction_base& txn, std::vector<MailboxRow>& mailboxes) {
  if (mailboxes.empty()) return;
  std::map<std::string, MailboxRow*> by_id;
  PgArrayBuilder ids;
  for (MailboxRow& m : mailboxes) {
    by_id[m.id] = &m;
    ids.Add(m.id);
  }
  for (const pqxx::row& row : txn.exec_params(kCountsSql, std::move(ids).Finish())) {
    MailboxRow& m = *by_id.at(row[0].as<std::string>());
    m.message_count = row[1].as<int64_t>();
    m.unread_count = row[2].as<int64_t>();
  }
}

MailboxRow CountOne(pqxx::transaction_base& txn, MailboxRow row) {
  std::vector<MailboxRow> one = {std::move(row)};
  Count(txn, one);
  return std::move(one[0]);
}

absl::Status NoSuchMailbox(const MailboxKey& key) {
  if (!key.id.empty()) return absl::NotFoundError(absl::StrCat("no mailbox has id ", key.id));
  return absl::NotFoundError(absl::StrCat("no mailbox is named `", key.name, "`"));
}

absl::Status ValidateKey(const MailboxKey& key) {
  if (!key.id.empty()) {
    if (!IsValidId(key.id)) {
      return absl::InvalidArgumentError(
          absl::StrCat("id: `", key.id, "` is not a mailbox id (UUID)"));
    }
    return absl::OkStatus();
  }
  if (key.name.empty()) return absl::InvalidArgumentError("id: required (or name)");
  return absl::OkStatus();
}

// Reads mailbox `id` without its counts. REQUIRES: it exists in `txn`'s view.
MailboxRow SelectById(pqxx::transaction_base& txn, const std::string& id) {
  return ReadMailbox(ExecPrepared(txn, kSelectById, id)[0]);
}

// Counts `row`'s messages in a transaction of its own. A change counts after its commit:
// counting a large mailbox takes seconds, and the change's row lock would hold up the capture
// of mail into that mailbox (its foreign key check) all that time.
MailboxRow CountAfterCommit(pqxx::connection& conn, MailboxRow row) {
  pqxx::read_transaction txn(conn, "count_mailbox");
  row = CountOne(txn, std::move(row));
  txn.commit();
  return row;
}

// Locks mailbox `key` and returns its id, or nullopt when there is none.
std::optional<std::string> Lock(pqxx::transaction_base& txn, const MailboxKey& key) {
  const pqxx::result rows = key.id.empty() ? ExecPrepared(txn, kLockByName, key.name)
                                           : ExecPrepared(txn, kLockById, key.id);
  if (rows.empty()) return std::nullopt;
  return rows[0][0].as<std::string>();
}

// The rules text is made by the server; this only keeps obvious garbage out of the column
// with a message better than the CHECK constraint's.
absl::Status ValidateRulesJson(absl::string_view rules_json) {
  if (!absl::StartsWith(absl::StripLeadingAsciiWhitespace(rules_json), "[")) {
    return absl::InvalidArgumentError("mailbox.rules: must be a JSON array");
  }
  return absl::OkStatus();
}

bool IsEmptyJsonArray(absl::string_view rules_json) {
  std::string compact;
  for (char c : rules_json) {
    if (!absl::ascii_isspace(c)) compact.push_back(c);
  }
  return compact == "[]";
}

absl::Status NoRulesOnDefault() {
  return absl::InvalidArgumentError(
      "mailbox.rules: the `default` mailbox has no rules; it receives what no other mailbox "
      "matched");
}

// A unique violation on mailboxes can only be the name: ids are new UUIDs.
template <typename T>
T NameTaken(T result, absl::string_view name) {
  if (result.status().code() == absl::StatusCode::kAlreadyExists) {
    return absl::AlreadyExistsError(
        absl::StrCat("mailbox.name: a mailbox named `", name, "` already exists"));
  }
  return result;
}

uint64_t TokenCheck(absl::string_view body) {
  const std::string input = absl::StrCat(kTokenTag, body);
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest;
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest.data());
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = (value << 8) | digest[i];
  return value;
}

// The keyset position after `last`: version (1) | is default (1) | position (4, big-endian)
// | name, then the check (8), URL-safe base64. Not a secret, only a position; the check
// turns an edited token into InvalidArgument rather than a silently different page.
struct ListCursor {
  bool is_default = false;
  int position = 0;
  std::string name{};
};

std::string EncodeToken(const MailboxRow& last) {
  std::string bytes;
  bytes.push_back(static_cast<char>(kTokenVersion));
  bytes.push_back(IsDefault(last.id) ? 1 : 0);
  const uint32_t position = static_cast<uint32_t>(last.position);
  for (int shift = 24; shift >= 0; shift -= 8) {
    bytes.push_back(static_cast<char>((position >> shift) & 0xFF));
  }
  bytes += last.name;
  const uint64_t check = TokenCheck(bytes);
  for (int shift = 56; shift >= 0; shift -= 8) {
    bytes.push_back(static_cast<char>((check >> shift) & 0xFF));
  }
  return absl::WebSafeBase64Escape(bytes);
}

absl::StatusOr<ListCursor> DecodeToken(absl::string_view token) {
  const absl::Status invalid =
      absl::InvalidArgumentError("page_token: not a token returned by ListMailboxes");
  std::string bytes;
  if (!absl::WebSafeBase64Unescape(token, &bytes) || bytes.size() < 1 + 1 + 4 + 1 + 8) {
    return invalid;
  }
  const absl::string_view body = absl::string_view(bytes).substr(0, bytes.size() - 8);
  uint64_t check = 0;
  for (size_t i = body.size(); i < bytes.size(); ++i) {
    check = (check << 8) | static_cast<unsigned char>(bytes[i]);
  }
  if (check != TokenCheck(body) || static_cast<uint8_t>(body[0]) != kTokenVersion) {
    return invalid;
  }
  ListCursor cursor;
  cursor.is_default = body[1] != 0;
  uint32_t position = 0;
  for (int i = 2; i < 6; ++i) position = (position << 8) | static_cast<unsigned char>(body[i]);
  cursor.position = static_cast<int>(position);
  cursor.name = std::string(body.substr(6));
  return cursor;
}

}  // namespace

bool MailboxUpdate::Empty() const {
  return !name.has_value() && !description.has_value() && !position.has_value() &&
         !max_messages.has_value() && !rules_json.has_value();
}

absl::Status ValidateMailboxName(absl::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("mailbox.name: required");
  if (name.size() > kMaxMailboxNameLength) {
    return absl::InvalidArgumentError(absl::StrCat("mailbox.name: at most ", kMaxMailboxNameLength,
                                                   " characters, got ", name.size()));
  }
  const auto allowed = [](char c) {
    return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '.' || c == '_' || c == '-';
  };
  for (char c : name) {
    if (!allowed(c)) {
      return absl::InvalidArgumentError(
          absl::StrCat("mailbox.name: `", absl::CEscape(name),
                       "` may only hold lowercase letters, digits, `-`, `_` and `.`"));
    }
  }
  if (!absl::ascii_islower(name[0]) && !absl::ascii_isdigit(name[0])) {
    return absl::InvalidArgumentError(
        absl::StrCat("mailbox.name: `", name, "` must start with a lowercase letter or a digit"));
  }
  return absl::OkStatus();
}

absl::Status ValidateMailboxDescription(absl::string_view description) {
  // Characters, not bytes: count the bytes that start a UTF-8 sequence.
  size_t characters = 0;
  for (char c : description) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++characters;
  }
  if (characters > kMaxMailboxDescriptionLength) {
    return absl::InvalidArgumentError(absl::StrCat("mailbox.description: at most ",
                                                   kMaxMailboxDescriptionLength,
                                                   " characters, got ", characters));
  }
  return absl::OkStatus();
}

absl::Status ValidateMailboxMaxMessages(int64_t max_messages) {
  if (max_messages < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("mailbox.max_messages: must not be negative, got ", max_messages));
  }
  if (max_messages > kMaxMailboxMaxMessages) {
    return absl::InvalidArgumentError(absl::StrCat("mailbox.max_messages: at most ",
                                                   kMaxMailboxMaxMessages, ", got ", max_messages));
  }
  return absl::OkStatus();
}

absl::Status ValidateMailboxValues(const MailboxValues& values) {
  if (absl::Status s = ValidateMailboxName(values.name); !s.ok()) return s;
  if (absl::Status s = ValidateMailboxDescription(values.description); !s.ok()) return s;
  if (absl::Status s = ValidateMailboxMaxMessages(values.max_messages); !s.ok()) return s;
  return ValidateRulesJson(values.rules_json);
}

absl::StatusOr<MailboxRow> CreateMailbox(ConnectionPool& pool, const MailboxValues& values) {
  if (absl::Status valid = ValidateMailboxValues(values); !valid.ok()) return valid;
  const std::string id = NewId();
  return NameTaken(pool.Run([&](pqxx::connection& conn) -> absl::StatusOr<MailboxRow> {
    pqxx::work txn(conn, "create_mailbox");
    ExecPrepared(txn, kInsert, id, values.name, values.description, values.position,
                 values.max_messages, values.rules_json);
    MailboxRow row = SelectById(txn, id);
    Notify(txn);
    txn.commit();
    return row;
  }),
                   values.name);
}

absl::StatusOr<MailboxRow> GetMailbox(ConnectionPool& pool, const MailboxKey& key) {
  if (absl::Status valid = ValidateKey(key); !valid.ok()) return valid;
  return pool.Run([&](pqxx::connection& conn) -> absl::StatusOr<MailboxRow> {
    pqxx::read_transaction txn(conn, "get_mailbox");
    const pqxx::result rows = key.id.empty() ? ExecPrepared(txn, kSelectByName, key.name)
                                             : ExecPrepared(txn, kSelectById, key.id);
    if (rows.empty()) return NoSuchMailbox(key);
    MailboxRow row = CountOne(txn, ReadMailbox(rows[0]));
    txn.commit();
    return row;
  });
}

absl::StatusOr<MailboxPage> ListMailboxes(ConnectionPool& pool, int page_size,
                                          absl::string_view page_token) {
  if (page_size < 0 || page_size > kMaxMailboxPageSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size: must be between 0 and ", kMaxMailboxPageSize));
  }
  const int size = page_size == 0 ? kDefaultMailboxPageSize : page_size;
  std::optional<ListCursor> cursor;
  if (!page_token.empty()) {
    absl::StatusOr<ListCursor> decoded = DecodeToken(page_token);
    if (!decoded.ok()) return decoded.status();
    cursor = *std::move(decoded);
  }
  return pool.Run([&](pqxx::connection& conn) -> absl::StatusOr<MailboxPage> {
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> txn(conn, "list_mailboxes");
    // One row more than asked says whether there is a next page.
    const int64_t limit = static_cast<int64_t>(size) + 1;
    const std::string default_id(kDefaultMailboxId);
    const pqxx::result rows = cursor.has_value()
                                  ? ExecPrepared(txn, kListAfter, limit, default_id,
                                                 cursor->is_default, cursor->position, cursor->name)
                                  : ExecPrepared(txn, kListFirst, limit, default_id);
    MailboxPage page;
    for (const pqxx::row& row : rows) {
      if (static_cast<int>(page.mailboxes.size()) == size) break;
      page.mailboxes.push_back(ReadMailbox(row));
    }
    Count(txn, page.mailboxes);
    txn.commit();
    if (static_cast<int64_t>(rows.size()) > size) {
      page.next_page_token = EncodeToken(page.mailboxes.back());
    }
    return page;
  });
}

absl::StatusOr<MailboxRow> UpdateMailbox(ConnectionPool& pool, const MailboxKey& key,
                                         const MailboxUpdate& update) {
  if (absl::Status valid = ValidateKey(key); !valid.ok()) return valid;
  if (update.Empty()) return absl::InvalidArgumentError("update_mask: no field to update");
  if (update.name.has_value()) {
    if (absl::Status s = ValidateMailboxName(*update.name); !s.ok()) return s;
  }
  if (update.description.has_value()) {
    if (absl::Status s = ValidateMailboxDescription(*update.description); !s.ok()) return s;
  }
  if (update.max_messages.has_value()) {
    if (absl::Status s = ValidateMailboxMaxMessages(*update.max_messages); !s.ok()) return s;
  }
  if (update.rules_json.has_value()) {
    if (absl::Status s = ValidateRulesJson(*update.rules_json); !s.ok()) return s;
  }
  SqlParams params;
  const std::string id_param = params.Add("");  // $1, filled in once the mailbox is locked
  std::vector<std::string> sets;
  if (update.name.has_value()) sets.push_back(absl::StrCat("name = ", params.Add(*update.name)));
  if (update.description.has_value()) {
    sets.push_back(absl::StrCat("description = ", params.Add(*update.description)));
  }
  if (update.position.has_value()) {
    sets.push_back(
        absl::StrCat("position = ", params.Add(absl::StrCat(*update.position)), "::int"));
  }
  if (update.max_messages.has_value()) {
    sets.push_back(absl::StrCat("max_messages = nullif(",
                                params.Add(absl::StrCat(*update.max_messages)), "::int8, 0)"));
  }
  if (update.rules_json.has_value()) {
    sets.push_back(absl::StrCat("rules = ", params.Add(*update.rules_json), "::jsonb"));
  }
  sets.push_back("updated_at = now()");
  const std::string sql = absl::StrCat("UPDATE mailboxes SET ", absl::StrJoin(sets, ", "),
                                       " WHERE id = ", id_param, "::uuid");
  absl::StatusOr<MailboxRow> result =
      pool.Run([&](pqxx::connection& conn) -> absl::StatusOr<MailboxRow> {
        pqxx::work txn(conn, "update_mailbox");
        const std::optional<std::string> id = Lock(txn, key);
        if (!id.has_value()) return NoSuchMailbox(key);
        if (IsDefault(*id)) {
          if (update.name.has_value() && *update.name != kDefaultMailboxName) {
            return absl::InvalidArgumentError(
                "mailbox.name: the `default` mailbox cannot be renamed");
          }
          if (update.rules_json.has_value() && !IsEmptyJsonArray(*update.rules_json)) {
            return NoRulesOnDefault();
          }
        }
        std::vector<std::string> values = params.values();
        values[0] = *id;
        txn.exec_params(sql, pqxx::prepare::make_dynamic_params(values));
        MailboxRow row = SelectById(txn, *id);
        Notify(txn);
        txn.commit();
        return CountAfterCommit(conn, std::move(row));
      });
  return update.name.has_value() ? NameTaken(std::move(result), *update.name) : result;
}

absl::StatusOr<MailboxDeletion> DeleteMailbox(ConnectionPool& pool, const MailboxKey& key,
                                              bool force) {
  if (absl::Status valid = ValidateKey(key); !valid.ok()) return valid;
  return pool.Run([&](pqxx::connection& conn) -> absl::StatusOr<MailboxDeletion> {
    pqxx::work txn(conn, "delete_mailbox");
    const std::optional<std::string> id = Lock(txn, key);
    if (!id.has_value()) return NoSuchMailbox(key);
    if (IsDefault(*id)) {
      return absl::FailedPreconditionError(
          "the `default` mailbox cannot be deleted: it receives what no other mailbox matched");
    }
    MailboxDeletion deletion;
    if (!force) {
      if (ExecPrepared(txn, kHasMessages, *id)[0][0].as<bool>()) {
        return absl::FailedPreconditionError(
            "the mailbox holds messages; set force to delete it with them (messages in no "
            "other mailbox are deleted)");
      }
    } else {
      const pqxx::row counts = ExecPrepared(txn, kUnlinkAll, *id)[0];
      deletion.messages_unlinked = counts[0].as<int64_t>();
      deletion.messages_deleted = counts[1].as<int64_t>();
    }
    ExecPrepared(txn, kDelete, *id);
    Notify(txn);
    txn.commit();
    return deletion;
  });
}

absl::StatusOr<UpsertedMailbox> UpsertMailbox(ConnectionPool& pool, const MailboxValues& values) {
  if (absl::Status valid = ValidateMailboxValues(values); !valid.ok()) return valid;
  if (values.name == kDefaultMailboxName && !IsEmptyJsonArray(values.rules_json)) {
    return NoRulesOnDefault();
  }
  const std::string new_id = NewId();
  return pool.Run([&](pqxx::connection& conn) -> absl::StatusOr<UpsertedMailbox> {
    pqxx::work txn(conn, "upsert_mailbox");
    const pqxx::result changed =
        ExecPrepared(txn, kUpsert, new_id, values.name, values.description, values.position,
                     values.max_messages, values.rules_json);
    UpsertedMailbox result;
    if (changed.empty()) {
      // Unchanged: a concurrent insert of the name had committed before the upsert took the
      // DO UPDATE branch (it waits on the unique index), so this new statement sees the row.
      result.mailbox = ReadMailbox(ExecPrepared(txn, kSelectByName, values.name)[0]);
    } else {
      result.outcome = changed[0][1].as<bool>() ? UpsertOutcome::kCreated : UpsertOutcome::kUpdated;
      result.mailbox = SelectById(txn, changed[0][0].as<std::string>());
      Notify(txn);
    }
    txn.commit();
    result.mailbox = CountAfterCommit(conn, std::move(result.mailbox));
    return result;
  });
}

}  // namespace mailroom::storage
