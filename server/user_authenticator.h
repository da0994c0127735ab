// UserAuthenticator: SMTP AUTH (PLAIN, LOGIN, CRAM-MD5) against the users table.
//
// With `smtp.auth.allow_any_credentials` (as smtp4dev does) every name and password is
// accepted at once, configured user or not, and nothing is looked up. Without it, each
// attempt is checked on the authenticator's own storage threads, never on the SMTP I/O
// thread: the user's row is read (storage/user_store.h) and the password checked against
// its scrypt hash, or the CRAM-MD5 answer against its verifier (server/password_hash.h).
//
// Answers (the engine writes the message to the session transcript, so it names what was
// wrong and never contains a secret):
//   OK                the user exists, is enabled and the secret matches;
//   Unauthenticated   "unknown user `x`", "wrong password", "user disabled",
//                     "no password set for this user" (or none for CRAM-MD5) → 535 5.7.8;
//   Unavailable       the database cannot be asked now → 454 4.7.0.
//
// Successful scrypt checks are cached (VerifiedPasswordCache), so a repeated correct login
// costs one indexed read instead of ~50–100 ms of scrypt.
//
// Thread-safety: thread-safe. `done` runs on a storage thread (or at once on the calling
// thread with allow_any_credentials). Destruction waits for every check already started.
#ifndef MAILROOM_SERVER_USER_AUTHENTICATOR_H_
#define MAILROOM_SERVER_USER_AUTHENTICATOR_H_

#include <memory>

#include "absl/status/status.h"
#include "server/password_hash.h"
#include "server/storage_executor.h"
#include "smtp/authenticator.h"
#include "storage/pool.h"

namespace mailroom::server {

class UserAuthenticator final : public smtp::Authenticator {
 public:
  // Threads for credential checks when allow_any_credentials is off; scrypt holds one for
  // ~50–100 ms and 32 MiB, so a few are enough and bound the memory.
  static constexpr int kThreads = 2;

  // REQUIRES: pool outlives the authenticator.
  UserAuthenticator(storage::ConnectionPool* pool, bool allow_any_credentials);

  void Authenticate(const smtp::Credentials& credentials, Done done) override;

  // The check itself, blocking on the database: what Authenticate() runs on a storage
  // thread. Exposed for tests.
  absl::Status Check(const smtp::Credentials& credentials);

 private:
  storage::ConnectionPool& pool_;
  const bool allow_any_credentials_;
  VerifiedPasswordCache cache_;
  // Last member: destroyed first, so the checks it drains still find everything above.
  std::unique_ptr<StorageExecutor> executor_;  // null with allow_any_credentials
};

}  // namespace mailroom::server

#endif  // MAILROOM_SERVER_USER_AUTHENTICATOR_H_
