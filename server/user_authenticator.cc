#include "server/user_authenticator.h"

#include <optional>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "smtp/sasl.h"
#include "storage/user_store.h"

namespace mailroom::server {
namespace {

absl::Status Refused(absl::string_view why) { return absl::UnauthenticatedError(why); }

// Anything but "no such user" means we could not look: the client may retry (454 4.7.0).
absl::Status CannotCheck(const absl::Status& status) {
  return absl::UnavailableError(absl::StrCat("cannot check credentials now: ", status.message()));
}

}  // namespace

UserAuthenticator::UserAuthenticator(storage::ConnectionPool* pool, bool allow_any_credentials)
    : pool_(*pool), allow_any_credentials_(allow_any_credentials) {
  if (!allow_any_credentials_) executor_ = std::make_unique<StorageExecutor>(kThreads);
}

void UserAuthenticator::Authenticate(const smtp::Credentials& credentials, Done done) {
  if (allow_any_credentials_) {
    std::move(done)(absl::OkStatus());
    return;
  }
  executor_->Submit([this, credentials, done = std::move(done)]() mutable {
    std::move(done)(Check(credentials));
  });
}

absl::Status UserAuthenticator::Check(const smtp::Credentials& credentials) {
  if (allow_any_credentials_) return absl::OkStatus();
  // RFC 4616 §2: authorizing as someone else is a feature we do not offer.
  if (!credentials.authorization_id.empty() &&
      credentials.authorization_id != credentials.username) {
    return Refused("authorization identity differs from the user name");
  }
  absl::StatusOr<storage::UserCredentials> user =
      storage::GetUserCredentials(pool_, credentials.username);
  if (absl::IsNotFound(user.status())) {
    return Refused(absl::StrCat("unknown user `", credentials.username, "`"));
  }
  if (!user.ok()) return CannotCheck(user.status());
  if (!user->enabled) return Refused("user disabled");

  if (credentials.mechanism == "CRAM-MD5") {
    if (!user->cram_md5_verifier.has_value()) {
      return Refused("no CRAM-MD5 verifier stored for this user (set its password again)");
    }
    absl::StatusOr<bool> match =
        VerifyCramMd5Verifier(*user->cram_md5_verifier, credentials.challenge, credentials.digest);
    if (!match.ok()) return absl::InternalError(absl::StrCat("stored ", match.status().message()));
    return *match ? absl::OkStatus() : Refused("wrong password");
  }

  if (!user->password_hash.has_value()) return Refused("no password set for this user");
  if (cache_.Contains(user->id, *user->password_hash, credentials.password)) {
    return absl::OkStatus();
  }
  absl::StatusOr<bool> match = VerifyPassword(credentials.password, *user->password_hash);
  if (!match.ok()) return absl::InternalError(match.status().message());
  if (!*match) return Refused("wrong password");
  cache_.Remember(user->id, *user->password_hash, credentials.password);
  return absl::OkStatus();
}

}  // namespace mailroom::server
