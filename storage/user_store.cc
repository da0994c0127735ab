#include "storage/user_store.h"

#include <openssl/sha.h>

#include <array>
#include <cstdint>
#include <pqxx/binarystring>
#include <pqxx/transaction>
#include <string>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "storage/ids.h"
#include "storage/statement.h"

namespace mailroom::storage {
namespace {

// The columns ReadUser() reads, in order, for a query over `users u`.
#define MAILROOM_USER_COLUMNS                                 \
  "u.id::text, u.username, coalesce(m.name, ''), u.enabled, " \
  "(extract(epoch FROM u.created_at) * 1000000)::bigint, "    \
  "(extract(epoch FROM u.updated_at) * 1000000)::bigint "     \
  "FROM users u LEFT JOIN mailboxes m ON m.id = u.default_mailbox_id "

constexpr Statement kById = {"user_store_by_id",
                             "SELECT " MAILROOM_USER_COLUMNS "WHERE u.id = $1::uuid"};
constexpr Statement kByUsername = {"user_store_by_username",
                                   "SELECT " MAILROOM_USER_COLUMNS "WHERE u.username = $1"};
// Keyset page: usernames are unique and never empty, so '' starts at the first one.
constexpr Statement kPage = {"user_store_page",
                             "SELECT " MAILROOM_USER_COLUMNS
                             "WHERE u.username > $1 ORDER BY u.username LIMIT $2"};
#undef MAILROOM_USER_COLUMNS

// FOR KEY SHARE keeps the mailbox from being deleted before this transaction commits.
constexpr Statement kMailboxId = {"user_store_mailbox_id", R"sql(
SELECT id::text FROM mailboxes WHERE name = $1 FOR KEY SHARE
)sql"};

constexpr Statement kLockById = {"user_store_lock_by_id", R"sql(
SELECT id::text FROM users WHERE id = $1::uuid FOR UPDATE
)sql"};
constexpr Statement kLockByUsername = {"user_store_lock_by_username", R"sql(
SELECT id::text FROM users WHERE username = $1 FOR UPDATE
)sql"};

constexpr Statement kUsernameTaken = {"user_store_username_taken", R"sql(
SELECT 1 FROM users WHERE username = $1 AND id <> $2::uuid
)sql"};

constexpr Statement kInsert = {"user_store_insert", R"sql(
INSERT INTO users (id, username, password_hash, cram_md5_verifier, default_mailbox_id, enabled)
VALUES ($1::uuid, $2, NULLIF($3, ''), NULLIF($4::bytea, ''::bytea), $5::uuid, $6)
ON CONFLICT (username) DO NOTHING
RETURNING id::text
)sql"};

// Each field is changed only when its flag is true. An empty verifier is stored as NULL.
constexpr Statement kUpdate = {"user_store_update", R"sql(
UPDATE users SET
  username = CASE WHEN $2 THEN $3 ELSE username END,
  password_hash = CASE WHEN $4 THEN NULLIF($5, '') ELSE password_hash END,
  cram_md5_verifier = CASE WHEN $4 THEN NULLIF($6::bytea, ''::bytea) ELSE cram_md5_verifier END,
  default_mailbox_id = CASE WHEN $7 THEN $8::uuid ELSE default_mailbox_id END,
  enabled = CASE WHEN $9 THEN $10 ELSE enabled END,
  updated_at = now()
WHERE id = $1::uuid
)sql"};

constexpr Statement kDeleteById = {"user_store_delete_by_id", R"sql(
DELETE FROM users WHERE id = $1::uuid RETURNING id
)sql"};
constexpr Statement kDeleteByUsername = {"user_store_delete_by_username", R"sql(
DELETE FROM users WHERE username = $1 RETURNING id
)sql"};

// One statement, so that concurrent replicas never see a unique violation: the loser of the
// race waits for the winner's row lock and then updates (or finds nothing to change).
// $3 NULL keeps the stored password material; $7 false keeps the default mailbox. The WHERE
// clause skips rows already as declared, so a restart rewrites nothing and notifies nobody.
// xmax = 0 on the returned row means it was inserted rather than updated.
constexpr Statement kUpsert = {"user_store_upsert", R"sql(
INSERT INTO users AS u (id, username, password_hash, cram_md5_verifier, default_mailbox_id,
                        enabled)
VALUES ($1::uuid, $2, $3, NULLIF($4::bytea, ''::bytea), $5::uuid, $6)
ON CONFLICT (username) DO UPDATE SET
  password_hash = COALESCE(EXCLUDED.password_hash, u.password_hash),
  cram_md5_verifier = CASE WHEN EXCLUDED.password_hash IS NULL THEN u.cram_md5_verifier
                           ELSE EXCLUDED.cram_md5_verifier END,
  default_mailbox_id = CASE WHEN $7 THEN EXCLUDED.default_mailbox_id
                            ELSE u.default_mailbox_id END,
  enabled = EXCLUDED.enabled,
  updated_at = now()
WHERE ROW(u.password_hash, u.cram_md5_verifier, u.default_mailbox_id, u.enabled)
  IS DISTINCT FROM ROW(
    COALESCE(EXCLUDED.password_hash, u.password_hash),
    CASE WHEN EXCLUDED.password_hash IS NULL THEN u.cram_md5_verifier
         ELSE EXCLUDED.cram_md5_verifier END,
    CASE WHEN $7 THEN EXCLUDED.default_mailbox_id ELSE u.default_mailbox_id END,
    EXCLUDED.enabled)
RETURNING id::text, (xmax = 0) AS inserted
)sql"};

constexpr Statement kCredentials = {"user_store_credentials", R"sql(
SELECT id::text, password_hash, cram_md5_verifier, enabled FROM users WHERE username = $1
)sql"};

constexpr Statement kNotify = {"user_store_notify", R"sql(
SELECT pg_notify($1, $2)
)sql"};

// Page tokens: version byte, the last username listed, then 8 bytes of SHA-256 over both,
// URL-safe base64. Not a secret; the check only turns a damaged token into an error.
constexpr char kTokenVersion = 'u';

std::string TokenCheck(absl::string_view body) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest;
  const std::string input = absl::StrCat("mailroom users page token:", body);
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest.data());
  return std::string(reinterpret_cast<const char*>(digest.data()), 8);
}

std::string EncodeUserPageToken(absl::string_view last_username) {
  std::string body = absl::StrCat(absl::string_view(&kTokenVersion, 1), last_username);
  return absl::WebSafeBase64Escape(absl::StrCat(body, TokenCheck(body)));
}

absl::StatusOr<std::string> DecodeUserPageToken(absl::string_view token) {
  std::string bytes;
  if (!absl::WebSafeBase64Unescape(token, &bytes) || bytes.size() < 1 + 1 + 8) {
    return absl::InvalidArgumentError("page_token: not a token returned by ListUsers");
  }
  const absl::string_view view(bytes);
  const absl::string_view body = view.substr(0, view.size() - 8);
  if (body[0] != kTokenVersion || TokenCheck(body) != view.substr(view.size() - 8)) {
    return absl::InvalidArgumentError("page_token: not a token returned by ListUsers (damaged)");
  }
  return std::string(body.substr(1));
}

UserRow ReadUser(const pqxx::row& row) {
  UserRow user;
  user.id = row[0].as<std::string>();
  user.username = row[1].as<std::string>();
  user.default_mailbox = row[2].as<std::string>();
  user.enabled = row[3].as<bool>();
  user.created_at = absl::FromUnixMicros(row[4].as<int64_t>());
  user.updated_at = absl::FromUnixMicros(row[5].as<int64_t>());
  return user;
}

absl::Status CheckRef(const UserRef& which) {
  if (!which.id.empty()) {
    if (!IsValidId(which.id)) return absl::InvalidArgumentError("id: not a UUID");
    return absl::OkStatus();
  }
  if (which.username.empty()) return absl::InvalidArgumentError("username: required (or id)");
  return absl::OkStatus();
}

std::string Describe(const UserRef& which) {
  if (!which.id.empty()) return absl::StrCat("no user with id ", which.id);
  return absl::StrCat("no user named `", which.username, "`");
}

std::string Taken(absl::string_view username) {
  return absl::StrCat("user.username: a user named `", username, "` already exists");
}

// The id of the mailbox named `name`, locked against deletion until commit.
absl::StatusOr<std::string> MailboxId(pqxx::transaction_base& txn, const std::string& name) {
  const pqxx::result rows = ExecPrepared(txn, kMailboxId, name);
  if (rows.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("user.default_mailbox: no mailbox named `", name, "`"));
  }
  return rows[0][0].as<std::string>();
}

// nullptr (NULL) for an empty name, else the resolved id (stored in `id`).
absl::StatusOr<const char*> OptionalMailboxId(pqxx::transaction_base& txn, const std::string& name,
                                              std::string& id) {
  if (name.empty()) return nullptr;
  absl::StatusOr<std::string> found = MailboxId(txn, name);
  if (!found.ok()) return found.status();
  id = *std::move(found);
  return id.c_str();
}

absl::StatusOr<UserRow> ReadById(pqxx::transaction_base& txn, const std::string& id) {
  const pqxx::result rows = ExecPrepared(txn, kById, id);
  if (rows.empty()) return absl::NotFoundError(absl::StrCat("no user with id ", id));
  return ReadUser(rows[0]);
}

void Notify(pqxx::transaction_base& txn) {
  ExecPrepared(txn, kNotify, kRoutingChannel, kUsersChangedPayload);
}

}  // namespace

absl::StatusOr<UserRow> CreateUser(ConnectionPool& pool, const NewUser& user) {
  if (user.username.empty()) return absl::InvalidArgumentError("user.username: required");
  const std::string id = NewId();
  return pool.Run([&](pqxx::connection& conn) -> absl::StatusOr<UserRow> {
    pqxx::work txn(conn, "create_user");
    std::string mailbox_id;
    absl::StatusOr<const char*> mailbox = OptionalMailboxId(txn, user.default_mailbox, mailbox_id);
    if (!mailbox.ok()) return mailbox.status();
    const pqxx::result inserted =
        ExecPrepared(txn, kInsert, id, user.username, user.password.hash,
                     pqxx::binarystring(user.password.cram_md5_verifier), *mailbox, user.enabled);
    if (inserted.empty()) return absl::AlreadyExistsError(Taken(user.username));
    absl::StatusOr<UserRow> row = ReadById(txn, id);
    if (!row.ok()) return row.status();
    Notify(txn);
    txn.commit();
    return row;
  });
}

absl::StatusOr<UserRow> GetUser(ConnectionPool& pool, const UserRef& which) {
  if (absl::Status valid = CheckRef(which); !valid.ok()) return valid;
  return pool.Run([&](pqxx::connection& conn) -> absl::StatusOr<UserRow> {
    pqxx::read_transaction txn(conn, "get_user");
    const pqxx::result rows = which.id.empty() ? ExecPrepared(txn, kByUsername, which.username)
                                               : ExecPrepared(txn, kById, which.id);
    if (rows.empty()) return absl::NotFoundError(Describe(which));
    return ReadUser(rows[0]);
  });
}

absl::StatusOr<UserPage> ListUsers(ConnectionPool& pool, const UserListQuery& query) {
  if (query.page_size < 0 || query.page_size > kMaxUserPageSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size: must be between 0 and ", kMaxUserPageSize));
  }
  const int page_size = query.page_size == 0 ? kDefaultUserPageSize : query.page_size;
  std::string after;
  if (!query.page_token.empty()) {
    absl::StatusOr<std::string> decoded = DecodeUserPageToken(query.page_token);
    if (!decoded.ok()) return decoded.status();
    after = *std::move(decoded);
  }
  return pool.Run([&](pqxx::connection& conn) -> absl::StatusOr<UserPage> {
    pqxx::read_transaction txn(conn, "list_users");
    // One more than asked: whether it exists says if there is a next page.
    const pqxx::result rows = ExecPrepared(txn, kPage, after, page_size + 1);
    UserPage page;
    for (const pqxx::row& row : rows) {
      if (static_cast<int>(page.users.size()) == page_size) {
        page.next_page_token = EncodeUserPageToken(page.users.back().username);
        break;
      }
      page.users.push_back(ReadUser(row));
    }
    return page;
  });
}

absl::StatusOr<UserRow> UpdateUser(ConnectionPool& pool, const UserRef& which,
                                   const UserUpdate& update) {
  if (absl::Status valid = CheckRef(which); !valid.ok()) return valid;
  if (update.username.has_value() && update.username->empty()) {
    return absl::InvalidArgumentError("user.username: must not be empty");
  }
  absl::StatusOr<UserRow> result = pool.Run([&](pqxx::connection& conn) -> absl::StatusOr<UserRow> {
    pqxx::work txn(conn, "update_user");
    const pqxx::result found = which.id.empty() ? ExecPrepared(txn, kLockByUsername, which.username)
                                                : ExecPrepared(txn, kLockById, which.id);
    if (found.empty()) return absl::NotFoundError(Describe(which));
    const std::string id = found[0][0].as<std::string>();
    if (update.username.has_value() &&
        !ExecPrepared(txn, kUsernameTaken, *update.username, id).empty()) {
      return absl::AlreadyExistsError(Taken(*update.username));
    }
    std::string mailbox_id;
    const char* mailbox = nullptr;
    if (update.default_mailbox.has_value()) {
      absl::StatusOr<const char*> resolved =
          OptionalMailboxId(txn, *update.default_mailbox, mailbox_id);
      if (!resolved.ok()) return resolved.status();
      mailbox = *resolved;
    }
    const PasswordMaterial no_password;
    const PasswordMaterial& password = update.password.has_value() ? *update.password : no_password;
    ExecPrepared(txn, kUpdate, id, update.username.has_value(), update.username.value_or(""),
                 update.password.has_value(), password.hash,
                 pqxx::binarystring(password.cram_md5_verifier), update.default_mailbox.has_value(),
                 mailbox, update.enabled.has_value(), update.enabled.value_or(false));
    absl::StatusOr<UserRow> row = ReadById(txn, id);
    if (!row.ok()) return row.status();
    Notify(txn);
    txn.commit();
    return row;
  });
  // A rename that raced another one past the check above hits the unique index.
  if (absl::IsAlreadyExists(result.status()) && update.username.has_value() &&
      !absl::StartsWith(result.status().message(), "user.username:")) {
    return absl::AlreadyExistsError(Taken(*update.username));
  }
  return result;
}

absl::Status DeleteUser(ConnectionPool& pool, const UserRef& which) {
  if (absl::Status valid = CheckRef(which); !valid.ok()) return valid;
  return pool.Run([&](pqxx::connection& conn) -> absl::Status {
    pqxx::work txn(conn, "delete_user");
    const pqxx::result deleted = which.id.empty()
                                     ? ExecPrepared(txn, kDeleteByUsername, which.username)
                                     : ExecPrepared(txn, kDeleteById, which.id);
    if (deleted.empty()) return absl::NotFoundError(Describe(which));
    Notify(txn);
    txn.commit();
    return absl::OkStatus();
  });
}

absl::StatusOr<UpsertResult> UpsertUser(ConnectionPool& pool, const DeclaredUser& user) {
  if (user.username.empty()) return absl::InvalidArgumentError("user.username: required");
  const std::string id = NewId();
  return pool.Run([&](pqxx::connection& conn) -> absl::StatusOr<UpsertResult> {
    pqxx::work txn(conn, "upsert_user");
    std::string mailbox_id;
    const char* mailbox = nullptr;
    if (user.default_mailbox.has_value()) {
      absl::StatusOr<const char*> resolved =
          OptionalMailboxId(txn, *user.default_mailbox, mailbox_id);
      if (!resolved.ok()) return resolved.status();
      mailbox = *resolved;
    }
    const char* hash = user.password.has_value() ? user.password->hash.c_str() : nullptr;
    const std::string verifier =
        user.password.has_value() ? user.password->cram_md5_verifier : std::string();
    const pqxx::result rows =
        ExecPrepared(txn, kUpsert, id, user.username, hash, pqxx::binarystring(verifier), mailbox,
                     user.enabled, user.default_mailbox.has_value());
    UpsertResult result;
    if (rows.empty()) {
      result.outcome = UpsertOutcome::kUnchanged;
      const pqxx::result existing = ExecPrepared(txn, kByUsername, user.username);
      if (existing.empty()) return absl::InternalError("upserted user vanished");
      result.user = ReadUser(existing[0]);
    } else {
      result.outcome = rows[0][1].as<bool>() ? UpsertOutcome::kCreated : UpsertOutcome::kUpdated;
      absl::StatusOr<UserRow> row = ReadById(txn, rows[0][0].as<std::string>());
      if (!row.ok()) return row.status();
      result.user = *std::move(row);
      Notify(txn);
    }
    txn.commit();
    return result;
  });
}

absl::StatusOr<UserCredentials> GetUserCredentials(ConnectionPool& pool,
                                                   absl::string_view username) {
  const std::string name(username);
  return pool.Run([&](pqxx::connection& conn) -> absl::StatusOr<UserCredentials> {
    pqxx::read_transaction txn(conn, "user_credentials");
    const pqxx::result rows = ExecPrepared(txn, kCredentials, name);
    if (rows.empty()) return absl::NotFoundError(absl::StrCat("no user named `", name, "`"));
    const pqxx::row& row = rows[0];
    UserCredentials credentials;
    credentials.id = row[0].as<std::string>();
    if (!row[1].is_null()) credentials.password_hash = row[1].as<std::string>();
    if (!row[2].is_null()) credentials.cram_md5_verifier = pqxx::binarystring(row[2]).str();
    credentials.enabled = row[3].as<bool>();
    return credentials;
  });
}

}  // namespace mailroom::storage
