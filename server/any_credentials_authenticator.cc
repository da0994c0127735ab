#include "server/any_credentials_authenticator.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace mailroom::server {

void AnyCredentialsAuthenticator::Authenticate(const smtp::Credentials& credentials, Done done) {
  if (allow_any_credentials_) {
    std::move(done)(absl::OkStatus());
    return;
  }
  std::move(done)(absl::UnauthenticatedError(
      absl::StrCat("unknown user `", credentials.username,
                   "`: no user accounts are configured and smtp.auth.allow_any_credentials "
                   "is off")));
}

}  // namespace mailroom::server
