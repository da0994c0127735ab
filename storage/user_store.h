// The users table: the identities SMTP clients authenticate as. The storage side of
// UserService (create, get, list, update, delete), of SMTP AUTH (GetUserCredentials) and of
// users declared in the configuration file (UpsertUser, applied by every replica at start-up).
//
// This unit stores password material; it never makes or checks it (server/password_hash.h
// does). A user's default mailbox is given and returned by NAME and stored as mailboxes.id;
// when that mailbox is deleted the column becomes NULL (ON DELETE SET NULL), so the user
// reads back with no default mailbox.
//
// Every change runs `pg_notify('mailroom_routing', 'users')` in its own transaction, so that
// every replica's routing table and credential checks see it once it is committed.
// Lists use keyset pagination on username (unique), with an opaque token holding the last
// username listed and a check hash; every value reaches PostgreSQL as a $n parameter.
//
// Thread-safety: the functions are thread-safe; they block on the database (run them on the
// storage executor, never on a gRPC or SMTP I/O thread).
#ifndef MAILROOM_STORAGE_USER_STORE_H_
#define MAILROOM_STORAGE_USER_STORE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "storage/pool.h"
#include "storage/routing_config.h"

namespace mailroom::storage {

inline constexpr int kDefaultUserPageSize = 50;
inline constexpr int kMaxUserPageSize = 1000;

inline constexpr char kUsersChangedPayload[] = "users";

// A user as the API shows it: no password material.
struct UserRow {
  std::string id{};
  std::string username{};
  std::string default_mailbox{};  // mailbox name; empty: none
  bool enabled = true;
  absl::Time created_at{};  // microsecond precision
  absl::Time updated_at{};
};

// What AUTH checks. Secret: never log, never return through the API.
struct PasswordMaterial {
  std::string hash{};               // PHC string (server/password_hash.h)
  std::string cram_md5_verifier{};  // 32 bytes; empty: none stored
};

// Which user: by id (a canonical UUID) or, when id is empty, by username.
struct UserRef {
  std::string id{};
  std::string username{};
};

struct NewUser {
  std::string username{};
  PasswordMaterial password{};
  std::string default_mailbox{};  // name; empty: none
  bool enabled = true;
};

// The fields to change; nullopt leaves a field as it is.
struct UserUpdate {
  std::optional<std::string> username{};
  std::optional<PasswordMaterial> password{};
  std::optional<std::string> default_mailbox{};  // "" clears it
  std::optional<bool> enabled{};
};

// A user declared in the configuration file, applied by username.
struct DeclaredUser {
  std::string username{};
  // nullopt: keep the stored material (a new user then has none and cannot AUTH). Pass it
  // only when the stored hash does not already verify the declared password, so that
  // replicas starting together do not rewrite the row with freshly salted hashes.
  std::optional<PasswordMaterial> password{};
  // nullopt: keep the stored one (none for a new user); "": none.
  std::optional<std::string> default_mailbox{};
  bool enabled = true;
};

struct UpsertResult {
  UserRow user{};
  UpsertOutcome outcome = UpsertOutcome::kUnchanged;
};

struct UserListQuery {
  int page_size = 0;         // 0..kMaxUserPageSize; 0 means kDefaultUserPageSize
  std::string page_token{};  // next_page_token of the previous page; empty for the first
};

struct UserPage {
  std::vector<UserRow> users{};   // ordered by username
  std::string next_page_token{};  // empty on the last page
};

// The AUTH view of a user.
struct UserCredentials {
  std::string id{};
  std::optional<std::string> password_hash{};      // nullopt: no password material
  std::optional<std::string> cram_md5_verifier{};  // nullopt: none stored
  bool enabled = false;
};

// Creates a user. Returns the stored row. AlreadyExists "user.username: ..." when the name
// is taken; InvalidArgument "user.default_mailbox: no mailbox named `x`".
absl::StatusOr<UserRow> CreateUser(ConnectionPool& pool, const NewUser& user);

// Returns one user. NotFound when there is none; InvalidArgument "id: not a UUID".
absl::StatusOr<UserRow> GetUser(ConnectionPool& pool, const UserRef& which);

// Returns a page of users ordered by username. InvalidArgument "page_size: ..." for a size
// outside 0..kMaxUserPageSize, "page_token: ..." for a token this code did not make.
absl::StatusOr<UserPage> ListUsers(ConnectionPool& pool, const UserListQuery& query);

// Changes the given fields and bumps updated_at; returns the row after the change. NotFound
// when there is no such user; AlreadyExists "user.username: ..." when the new name is taken;
// InvalidArgument "user.default_mailbox: no mailbox named `x`".
absl::StatusOr<UserRow> UpdateUser(ConnectionPool& pool, const UserRef& which,
                                   const UserUpdate& update);

// Deletes a user (messages keep their auth_user text). NotFound when there is none.
absl::Status DeleteUser(ConnectionPool& pool, const UserRef& which);

// Creates the user or brings it in line with `user`, in one INSERT ... ON CONFLICT
// statement, so that several replicas applying the same declaration at once neither fail
// nor duplicate. Notifies only when something changed. InvalidArgument as CreateUser.
absl::StatusOr<UpsertResult> UpsertUser(ConnectionPool& pool, const DeclaredUser& user);

// Returns what AUTH needs for `username` (compared exactly). NotFound when no such user.
absl::StatusOr<UserCredentials> GetUserCredentials(ConnectionPool& pool,
                                                   absl::string_view username);

}  // namespace mailroom::storage

#endif  // MAILROOM_STORAGE_USER_STORE_H_
