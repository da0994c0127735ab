// AnyCredentialsAuthenticator: SMTP AUTH before user accounts exist.
//
// With `smtp.auth.allow_any_credentials` (the default, as in smtp4dev) every user name and
// password is accepted, so that any application can point its SMTP settings here. Without
// it, every attempt is refused, and the transcript says why: no user accounts exist yet.
// The users issue replaces it with an authenticator over the users table.
//
// Thread-safety: thread-safe; answers at once, on the calling thread.
#ifndef MAILROOM_SERVER_ANY_CREDENTIALS_AUTHENTICATOR_H_
#define MAILROOM_SERVER_ANY_CREDENTIALS_AUTHENTICATOR_H_

#include "smtp/authenticator.h"

namespace mailroom::server {

class AnyCredentialsAuthenticator final : public smtp::Authenticator {
 public:
  explicit AnyCredentialsAuthenticator(bool allow_any_credentials)
      : allow_any_credentials_(allow_any_credentials) {}

  void Authenticate(const smtp::Credentials& credentials, Done done) override;

 private:
  const bool allow_any_credentials_;
};

}  // namespace mailroom::server

#endif  // MAILROOM_SERVER_ANY_CREDENTIALS_AUTHENTICATOR_H_
